import type { BatchKernel, BoundKernel, CpuStrategyConfig } from '../config.js';
import type { CpuMemory } from './cpu-memory.js';
import type { KernelExports } from './kernels.js';
import type { CpuStrategyStats, KernelModule, StrategyChoice, StrategyRates } from './strategy-types.js';

export type { CpuStrategyStats, StrategyChoice, StrategyRates } from './strategy-types.js';

// Where the CPU backend picks between kernels, the choice comes from short timings on the machine
// at hand (the first time it is needed, or from `calibrate`, which times longer and writes the
// choices as TOML), not from constants tuned on one CPU:
//   * the int8 bound kernel of batches (asm/batch-dots.ts: Winograd pairs in baseline SIMD; the
//     relaxed-SIMD module adds two more), by the rate of its integer dots;
//   * how a batch over f32/f16 rows with a prefilter is answered (the batched int8 kernel, the
//     one-query int8 kernel once per query, or the f32 all-scores kernel), by the rate of each
//     whole top-k on the same data;
//   * from how much work a call is split across threads (src/cpu/cpu-backend.ts), from the round
//     trip to an idle worker and the one-thread scan rate.
// Every choice gives the same results, bit for bit: only time depends on it.

/** Kernel codes of asm/batch-dots.ts. */
export const BOUND_KERNEL_CODE: Record<BoundKernel, number> = { winograd: 0, 'relaxed-pairs': 1 };

/** The bound kernels a kernels module can run. */
export function boundKernelsOf(module: KernelModule): BoundKernel[] {
  return module === 'relaxed' ? ['winograd', 'relaxed-pairs'] : ['winograd'];
}

/** The split threshold used until (or unless) it is measured: docs/PERFORMANCE.md v0.8's sweep. */
export const DEFAULT_SPLIT_MIN_BYTES = 8 << 20;

/** Timings of `calibrate` are longer than the first-use ones. */
export interface MeasureOptions {
  /** Rounds over every kernel (the fastest round of each counts; default 3). */
  rounds?: number;
  /** Keep going until this much time is spent, so that V8's optimised code is in (default 40 ms). */
  minMs?: number;
}

// The data timed: large enough that the exact re-rank (about k ln(rows / k) rows per query) is a
// small share, as on real indexes; small enough to take ~5 ms a round.
const M = 16;
const ROWS = 8192;
const DIM = 256;
const K = 10;

/** First-use timings, once per process and module (they describe the machine, not an engine). */
const measured = new Map<KernelModule, StrategyRates>();

/** The CPU backend's choices between kernels (one per engine). */
export class CpuStrategy {
  private readonly memory: CpuMemory;
  private readonly config: CpuStrategyConfig;
  private bound: StrategyChoice<BoundKernel> | null = null;
  private batch: { f32: StrategyChoice<BatchKernel>; f16: StrategyChoice<BatchKernel> } | null = null;
  private split: StrategyChoice<number>;
  private rates: StrategyRates | null = null;
  private roundTripUs: number | null = null;
  private scanBytesPerUs: number | null = null;
  private readonly batches: Record<string, number> = {};

  constructor(memory: CpuMemory, config: CpuStrategyConfig) {
    this.memory = memory;
    this.config = config;
    this.split = config.splitMinBytes === 'auto'
      ? { chosen: DEFAULT_SPLIT_MIN_BYTES, source: 'default', why: 'not measured yet (measured on the first call split across threads)' }
      : { chosen: config.splitMinBytes, source: 'config', why: 'config.cpuStrategy.splitMinBytes' };
  }

  /** The kernels module this engine runs. */
  get module(): KernelModule {
    return this.memory.kernelModule;
  }

  /** The int8 bound kernel of batches (timed now if it is 'auto' and not chosen yet). */
  boundKernel(): BoundKernel {
    if (!this.bound) this.chooseKernels();
    return this.bound!.chosen;
  }

  /** How a batch over `dtype` rows with a prefilter is answered (timed now if needed). */
  batchKernel(dtype: 'f32' | 'f16'): BatchKernel {
    if (!this.batch) this.chooseKernels();
    return this.batch![dtype].chosen;
  }

  /** The current split threshold (bytes read x queries). */
  splitMinBytes(): number {
    return this.split.chosen;
  }

  /** Whether the split threshold still waits for its first-use measurement. */
  get splitPending(): boolean {
    return this.split.source === 'default';
  }

  /**
   * Set the split threshold from a measured round trip and scan rate: a call of T on one thread
   * costs about T / parts + roundTrip split, so splitting pays from T = roundTrip * parts /
   * (parts - 1); with a 25% margin for the parts' imbalance.
   */
  setSplit(roundTripUs: number, scanBytesPerUs: number, parts: number): void {
    this.roundTripUs = roundTripUs;
    this.scanBytesPerUs = scanBytesPerUs;
    if (this.config.splitMinBytes !== 'auto') return;
    const bytes = Math.round(1.25 * roundTripUs * scanBytesPerUs * parts / Math.max(1, parts - 1));
    this.split = {
      chosen: bytes, source: 'measured',
      why: `round trip to an idle worker ${roundTripUs.toFixed(1)} us, one-thread scan ${(scanBytesPerUs / 1000).toFixed(1)} GB/s, ${parts} parts: ` +
        `splitting pays from ~${(bytes / 1024 / 1024).toFixed(1)} MiB`,
    };
  }

  /** Count a batched top-k call by the path it took. */
  countBatch(path: string): void {
    this.batches[path] = (this.batches[path] ?? 0) + 1;
  }

  snapshot(): CpuStrategyStats {
    return structuredClone({
      kernels: this.module, boundKernel: this.bound, batchKernel: this.batch, splitMinBytes: this.split,
      rates: this.rates, roundTripUs: this.roundTripUs, scanBytesPerUs: this.scanBytesPerUs, batches: this.batches,
    });
  }

  /** Choose the bound and batch kernels: from config where given, else from timings taken now. */
  private chooseKernels(options: MeasureOptions = {}): void {
    const available = boundKernelsOf(this.module);
    const wanted = this.config.boundKernel;
    const needsRates = wanted === 'auto' || !available.includes(wanted) || this.config.batchKernel === 'auto';
    if (needsRates && !this.rates) {
      let rates = measured.get(this.module);
      if (!rates) {
        rates = measureRates(this.memory, available, options);
        measured.set(this.module, rates);
      }
      this.rates = rates;
    }
    this.applyRates(available);
  }

  /** Time every kernel now (calibrate), replacing the first-use timings, and choose again. */
  measure(options: MeasureOptions = { rounds: 20, minMs: 300 }): StrategyRates {
    this.rates = measureRates(this.memory, boundKernelsOf(this.module), options);
    measured.set(this.module, this.rates);
    this.applyRates(boundKernelsOf(this.module));
    return this.rates;
  }

  private applyRates(available: BoundKernel[]): void {
    const wanted = this.config.boundKernel;
    const rates = this.rates;
    if (wanted !== 'auto' && available.includes(wanted)) {
      this.bound = { chosen: wanted, source: 'config', why: 'config.cpuStrategy.boundKernel' };
    } else {
      const best = fastest(rates!.boundKernels, available);
      const unavailable = wanted !== 'auto' ? `${wanted} is not in the ${this.module} module; ` : '';
      this.bound = { chosen: best, source: 'measured', why: `${unavailable}${describeRates(rates!.boundKernels, 'G int8 multiply-adds/s')}` };
    }
    const batchWanted = this.config.batchKernel;
    // int8-batch against per-query: by their bound passes alone, the one part in which they
    // differ (both re-rank the same candidates exactly; on the short probe the re-rank is a larger
    // share than on a real index and drowned the difference in noise: a probe at 16 x 8192 x 256
    // chose per-query, 1.6x slower on 64 x 100k x 768). f32-matrix against the int8 path chosen:
    // by their whole top-k.
    const choose = (dtype: 'f32' | 'f16'): StrategyChoice<BatchKernel> => {
      const paths: BatchKernel[] = dtype === 'f32' ? ['int8-batch', 'per-query', 'f32-matrix'] : ['int8-batch', 'per-query'];
      if (batchWanted !== 'auto' && paths.includes(batchWanted)) return { chosen: batchWanted, source: 'config', why: 'config.cpuStrategy.batchKernel' };
      const batchBound = Math.max(...available.map((kernel) => rates!.boundKernels[kernel] ?? 0));
      const int8: BatchKernel = batchBound >= rates!.oneQueryBound ? 'int8-batch' : 'per-query';
      const boundWhy = `bound pass: int8-batch ${batchBound.toFixed(1)}, per-query ${rates!.oneQueryBound.toFixed(1)} G int8 multiply-adds/s; top-k: `;
      const note = batchWanted !== 'auto' ? `${batchWanted} does not apply to ${dtype} rows; ` : '';
      const matrix = rates!.batchKernels['f32-matrix'] ?? 0;
      const chosen = dtype === 'f32' && matrix > (rates!.batchKernels[int8] ?? 0) ? 'f32-matrix' : int8;
      return { chosen, source: 'measured', why: `${note}${boundWhy}${describeRates(pick(rates!.batchKernels, paths), 'G multiply-adds/s')}` };
    };
    this.batch = { f32: choose('f32'), f16: choose('f16') };
  }
}

function fastest<T extends string>(rates: Partial<Record<T, number>>, among: readonly T[]): T {
  let best = among[0]!;
  for (const name of among) if ((rates[name] ?? 0) > (rates[best] ?? 0)) best = name;
  return best;
}

function pick<T extends string>(rates: Partial<Record<T, number>>, among: readonly T[]): Partial<Record<T, number>> {
  const out: Partial<Record<T, number>> = {};
  for (const name of among) if (rates[name] !== undefined) out[name] = rates[name];
  return out;
}

function describeRates(rates: Partial<Record<string, number>>, unit: string): string {
  return `${Object.entries(rates).map(([name, rate]) => `${name} ${rate!.toFixed(1)}`).join(', ')} ${unit}`;
}

/** A bump allocator over a memory of its own, with the engine's kernels module instantiated over it. */
export interface ScratchKernels {
  kernels: KernelExports;
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
}

/**
 * Run `fn` with the kernels over a fresh memory of `bytes` (plus the module's static data): timings
 * never take room from the engine's memories, whose size may be small (tests) or nearly full.
 */
export function withScratchKernels<T>(memory: CpuMemory, bytes: number, fn: (scratch: ScratchKernels) => T): T {
  const pages = Math.ceil((bytes + (1 << 20)) / 65536);
  const scratch = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: memory.shared });
  const instance = new WebAssembly.Instance(memory.module, { env: { memory: scratch } });
  const kernels = instance.exports as unknown as KernelExports;
  let top = kernels.heapBase();
  return fn({
    kernels, memory: scratch,
    alloc(size: number) {
      const ptr = top;
      top += Math.ceil(size / 64) * 64;
      if (top > pages * 65536) throw new Error('scratch kernels: out of room');
      return ptr;
    },
  });
}

/**
 * Time each bound kernel's dots and each batch path's whole top-k on the same synthetic data
 * (ROWS random rows of DIM values, dot metric, M queries, top-K) in a memory of its own; the
 * fastest round of each counts (the first rounds may run before V8's optimised code is in).
 */
export function measureRates(memory: CpuMemory, available: readonly BoundKernel[], options: MeasureOptions = {}): StrategyRates {
  const bytes = ROWS * DIM * 6 + M * DIM * 16 + M * 4096 + (1 << 20);
  return withScratchKernels(memory, bytes, (scratchKernels) => timeKernels(scratchKernels, available, options));
}

function timeKernels({ kernels, memory, alloc }: ScratchKernels, available: readonly BoundKernel[], options: MeasureOptions): StrategyRates {
  const rounds = options.rounds ?? 3;
  const minMs = options.minMs ?? 40;
  const stride4 = DIM;
  const pstride = DIM;
  const started = performance.now();
  {
    const rows = alloc(ROWS * stride4 * 4);
    const prefilter = alloc(ROWS * pstride);
    const pmeta = alloc((ROWS / 4) * 64);
    const queries = alloc(M * stride4 * 4);
    const q16 = alloc(M * pstride * 2);
    const info = alloc(M * 16);
    const forms = alloc(M * pstride * 2);
    const terms = alloc(M * 4);
    const scorers = alloc(M * 4);
    const heaps = [alloc(M * K * 4), alloc(M * K * 4), alloc(M * 4), alloc(M * K * 4), alloc(M * K * 4), alloc(M * 4)];
    const scratch = alloc(Math.max(kernels.batchScratchBytes(M), M * 512 * 4));
    const lower = alloc(256 * 4), upper = alloc(256 * 4);
    const candidates = alloc(ROWS * 4), candidateUpper = alloc(ROWS * 4);
    let seed = 0x9e3779b9;
    const random = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 31 - 1; };
    const f32 = new Float32Array(memory.buffer);
    for (let i = 0; i < ROWS * stride4; i++) f32[(rows >>> 2) + i] = random();
    for (let i = 0; i < M * stride4; i++) f32[(queries >>> 2) + i] = random();
    new Uint32Array(memory.buffer).fill(1, scorers >>> 2, (scorers >>> 2) + M); // the dot metric's f32 scorer
    kernels.encodePrefilter(rows, 0, ROWS, stride4, prefilter, pmeta, 0, pstride);
    for (let j = 0; j < M; j++) kernels.quantizeQuery16(queries + j * stride4 * 4, stride4, q16 + j * pstride * 2, pstride, info + j * 16);
    const gamma = ((stride4 / 4 + 3) * 1.01 + 8) * 2 ** -24;
    const [hs, hi, states, lhs, lhi, lstates] = heaps as [number, number, number, number, number, number];
    const reset = () => {
      kernels.fillU32(states, M, 0);
      kernels.fillU32(lstates, M, 0);
    };
    const prepare = (kernel: BoundKernel): number => {
      const code = BOUND_KERNEL_CODE[kernel];
      if (kernel === 'winograd') kernels.winogradQueries(q16, M, pstride, forms, terms);
      else {
        kernels.offsetQueries(code, queries, M, stride4, forms, pstride, info);
        kernels.fillU32(terms, M, 0);
      }
      return code;
    };
    const chunks = pstride / 16;
    const tasks: Array<{ kind: 'bound' | 'single' | 'batch'; name: string; run: () => void; best: number }> = [];
    for (const kernel of available) {
      tasks.push({
        kind: 'bound', name: kernel, best: Infinity, run: () => {
          const code = prepare(kernel);
          for (let p0 = 0; p0 < ROWS / 4; p0 += 64) {
            const block = prefilter + p0 * chunks * 64;
            kernels.rowTerms(code, block, 0, 64, chunks, scratch);
            for (let j = 0; j < M; j += 2) {
              kernels.blockDots(code, forms + j * pstride * (code === 0 ? 2 : 1), forms + (j + 1) * pstride * (code === 0 ? 2 : 1),
                block, 0, 64, chunks, 0, scratch + 1024, scratch + 2048);
            }
          }
        },
      });
    }
    // The per-query path's bound pass: the one-query bound kernel over the same panels, query by query.
    tasks.push({
      kind: 'single', name: 'one-query bound', best: Infinity, run: () => {
        for (let j = 0; j < M; j++) {
          kernels.prefilterBounds(1, q16 + j * pstride * 2, info + j * 16, gamma, stride4, prefilter, pmeta, pstride, ROWS,
            candidates, candidateUpper);
        }
      },
    });
    const batchTask = (name: BatchKernel, run: () => void) => tasks.push({ kind: 'batch', name, best: Infinity, run });
    // The batched path with the best bound kernel so far (the bound tasks run first in a round).
    batchTask('int8-batch', () => {
      const bound = tasks.filter((t) => t.kind === 'bound').reduce((a, b) => (b.best < a.best ? b : a));
      const code = prepare(bound.name as BoundKernel);
      reset();
      kernels.prefilterTopKBatch(1, code, M, queries, stride4 * 4, scorers, rows, stride4, forms, terms, info, gamma,
        prefilter, pmeta, pstride, ROWS, 0, 0, K, hs, hi, states, lhs, lhi, lstates, scratch);
    });
    batchTask('per-query', () => {
      reset();
      for (let j = 0; j < M; j++) {
        kernels.prefilterTopK(1, 1, queries + j * stride4 * 4, rows, stride4, q16 + j * pstride * 2, info + j * 16, gamma,
          prefilter, pmeta, pstride, ROWS, 0, 0, K, hs + j * K * 4, hi + j * K * 4, states + j * 4,
          lhs + j * K * 4, lhi + j * K * 4, lstates + j * 4, lower, upper, candidates, candidateUpper, 0, 0);
      }
    });
    batchTask('f32-matrix', () => {
      reset();
      kernels.topKRowsBatch(1, queries, M, rows, ROWS, stride4, 0, 0, K, hs, hi, states, scratch, 256);
    });
    // The per-query path's 16-bit info must be the quantizeQuery16 one: re-made before it runs.
    const requantize = () => {
      for (let j = 0; j < M; j++) kernels.quantizeQuery16(queries + j * stride4 * 4, stride4, q16 + j * pstride * 2, pstride, info + j * 16);
    };
    for (let round = 0; round < rounds || performance.now() - started < minMs; round++) {
      for (const task of tasks) {
        requantize();
        const t0 = performance.now();
        task.run();
        task.best = Math.min(task.best, performance.now() - t0);
      }
      if (round >= 4 * rounds) break;
    }
    const macs = M * ROWS * DIM;
    const boundKernels: Partial<Record<BoundKernel, number>> = {};
    const batchKernels: Partial<Record<BatchKernel, number>> = {};
    let oneQueryBound = 0;
    for (const task of tasks) {
      const rate = macs / Math.max(task.best, 1e-6) / 1e6;
      if (task.kind === 'bound') boundKernels[task.name as BoundKernel] = round1(rate);
      else if (task.kind === 'single') oneQueryBound = round1(rate);
      else batchKernels[task.name as BatchKernel] = round1(rate);
    }
    return {
      shape: `${M} queries x ${ROWS} rows x ${DIM}, top-${K}, dot`,
      boundKernels, batchKernels, oneQueryBound, tookMs: round1(performance.now() - started),
    };
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
