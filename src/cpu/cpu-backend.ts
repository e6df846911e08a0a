import type { Backend, RowBlock } from '../backend.js';
import type { SpreadJob } from '../spreading.js';
import type { CorpusView, PositionTopK, Selection } from '../store/types.js';
import type { CpuMemory } from './cpu-memory.js';
import type { CpuPool, KernelCall, RegionPart } from './pool.js';
import { CpuStoreCalls, type PartRunner } from './store-calls.js';
import { CpuStrategy, DEFAULT_SPLIT_MIN_BYTES, withScratchKernels } from './strategy.js';
import type { CpuStrategyConfig } from '../config.js';

/** Bytes of corpus rows per block of the multi-query kernels: kept in L2 while every query passes. */
const L2_BLOCK_BYTES = 256 * 1024;

/** Rows per L2 block for a row stride, a multiple of 4 in [4, 1024]. */
export function l2BlockRows(stride: number): number {
  const rows = Math.floor(L2_BLOCK_BYTES / (stride * 4)) & ~3;
  return Math.min(1024, Math.max(4, rows));
}

/**
 * Smallest call (in bytes of rows read, times queries) that goes to the worker pool until the
 * threshold is measured on this machine (src/cpu/strategy.ts: at the first pooled call, from the
 * round trip to an idle worker and the one-thread scan rate; or config.cpuStrategy.splitMinBytes).
 * Below it one thread does the whole call where it was made. On the dev machine (`npm run
 * bench:threads`, docs/PERFORMANCE.md v0.8) a round trip costs ~60 us, so a scan split in two is
 * slower up to 4 MiB (0.81x) and faster from 8 MiB (1.12x).
 */
export const POOL_MIN_WORK_BYTES = DEFAULT_SPLIT_MIN_BYTES;

/** Bytes of f32 rows the split measurement scans to time one thread (in L2/L3: a compute rate). */
const SCAN_PROBE_BYTES = 1 << 20;

/** How the CPU backend uses threads. */
export interface CpuThreading {
  /** Workers over the engine's shared memory, or null (one thread). */
  pool: CpuPool | null;
  /** Large calls run in the workers only, leaving the calling thread (the event loop) free. */
  offMainThread: boolean;
  /** Calls of at least this much work use the pool (default: the strategy's measured threshold). */
  minWorkBytes?: number;
}

/** How one call runs: `parts` shares of the rows, the first one on this thread when `here`. */
export interface Plan {
  parts: number;
  here: boolean;
}

const INLINE: Plan = { parts: 1, here: true };

/** Rows [start, end) of one part (start a multiple of 4, so parts begin on a panel). */
type Range = readonly [start: number, end: number];

/**
 * The AssemblyScript WASM-SIMD kernels (asm/), computing in place in WASM memory. Large calls
 * are split by rows (spreading: by nodes, balanced by edges) across the worker pool and, unless
 * offMainThread, this thread; every part computes each (query, row) pair exactly as the whole
 * call would, so a split call's results are identical to a one-thread call's, ties included.
 */
export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  private readonly memory: CpuMemory;
  /** @internal the pool (null: one thread, or given up after a failure) */
  pool: CpuPool | null;
  private readonly offMainThread: boolean;
  /** @internal calls of at least this much work use the pool (tests set it; null: the strategy's threshold) */
  minWorkBytes: number | null;
  /** The split measurement has been started (it runs once, after the first pooled call). */
  private splitMeasured = false;
  /** Why the pool was given up (a worker failed to start or died); calls then run here. */
  poolFailure: Error | null = null;

  /** How this backend chooses between kernels (measured on this machine at first use). */
  readonly strategy: CpuStrategy;

  constructor(memory: CpuMemory, threading: CpuThreading = { pool: null, offMainThread: false },
    strategy: CpuStrategyConfig = { kernels: 'auto', boundKernel: 'auto', batchKernel: 'auto', splitMinBytes: 'auto' }) {
    this.memory = memory;
    this.pool = threading.pool;
    this.offMainThread = threading.offMainThread;
    this.minWorkBytes = threading.minWorkBytes ?? null;
    this.strategy = new CpuStrategy(memory, strategy);
    this.store = new CpuStoreCalls(memory, this.runner, this.strategy);
  }

  /** Whether large calls run in workers only (false once the pool is given up). */
  get offMainThreadActive(): boolean {
    return this.pool !== null && this.offMainThread;
  }

  /** Threads a large call uses (this one included unless offMainThread). */
  get threads(): number {
    if (!this.pool) return 1;
    return this.offMainThread ? this.pool.size : this.pool.size + 1;
  }

  async cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    const { arena } = this.memory;
    const n = vectors.rows;
    const out = arena.alloc(n * 4);
    try {
      const plan = this.plan(n * vectors.stride * 4);
      const pending = this.execute(plan, true, splitRows(n, plan.parts).map(([a, b]) => [
        ['cosineScores', query.ptr, vectors.ptr + a * vectors.stride * 4, b - a, vectors.stride, out + a * 4],
      ]));
      if (pending instanceof Promise) await pending;
      return this.copyOut(out, n);
    } finally {
      arena.free(out);
    }
  }

  async cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    const { arena } = this.memory;
    const m = queries.rows;
    const n = vectors.rows;
    const stride = vectors.stride;
    const count = m * n;
    const out = arena.alloc(count * 4);
    try {
      const plan = this.plan(m * n * stride * 4);
      const blockRows = l2BlockRows(stride);
      // Normalising changes the call's rows in place, so it is done here, once: every pooled
      // part only reads shared inputs and writes its own outputs (safe to run again).
      this.memory.kernels.normalizePanelRows(vectors.ptr, 0, n, stride);
      const pending = this.execute(plan, true, splitRows(n, plan.parts).map(([a, b]) => [
        ['dotMatrix', queries.ptr, m, vectors.ptr + a * stride * 4, b - a, stride, out + a * 4, n, blockRows],
      ]));
      if (pending instanceof Promise) await pending;
      return this.copyOut(out, count);
    } finally {
      arena.free(out);
    }
  }

  storeScores(corpus: CorpusView, query: RowBlock): Promise<Float32Array> {
    return this.store.scores(corpus, query);
  }

  storeTopK(corpus: CorpusView, queries: RowBlock, k: number, selection: Selection): Promise<PositionTopK[]> {
    return this.store.topK(corpus, queries, k, selection);
  }

  /** How a call of `work` bytes would run, and running parts over memory regions (for the store's calls). */
  private readonly runner: PartRunner = {
    plan: (work) => this.plan(work),
    run: (plan, parts) => this.executeRegions(plan, true, parts),
  };

  private readonly store: CpuStoreCalls;

  async spread(job: SpreadJob): Promise<Float32Array> {
    const { graph, cols } = job;
    const plan = this.plan((graph.edgeCount + graph.nodeCount) * cols * 8);
    if (plan.parts === 1 && plan.here) return this.spreadNow(job);
    // A hop adds into the totals, so a part cannot simply be run again: if the pool fails during
    // the job, the whole job starts again on this thread from its staged seeds.
    try {
      return await this.spreadPooled(job, plan);
    } catch (error) {
      if (!(error instanceof PoolFailure)) throw error;
      return this.spreadNow(job);
    }
  }

  private async spreadPooled(job: SpreadJob, plan: Plan): Promise<Float32Array> {
    const state = this.spreadStart(job);
    try {
      const n = job.graph.nodeCount;
      const offsets = this.memory.arena.u32.subarray(job.graph.inOffsets >>> 2, (job.graph.inOffsets >>> 2) + n + 1);
      const ranges = splitByEdges(offsets, plan.parts);
      for (const decay of job.decays) {
        const scaled = this.execute(plan, false, ranges.map((range) => [spreadCalls(job, state, range, decay).scale]));
        if (scaled instanceof Promise) await scaled;
        const results = await this.execute(plan, false, ranges.map((range) => [spreadCalls(job, state, range, decay).hop]));
        if (!state.next(results.every((r) => r[0] === 0))) break;
      }
      return state.totals();
    } finally {
      state.free();
    }
  }

  /** spread on this thread, synchronously (the GPU cross-check re-runs it). */
  spreadNow(job: SpreadJob): Float32Array {
    const state = this.spreadStart(job);
    try {
      const all = [0, job.graph.nodeCount] as const;
      for (const decay of job.decays) {
        const { scale, hop } = spreadCalls(job, state, all, decay);
        this.runHere([{ region: 0, calls: [scale] }]);
        if (!state.next(this.runHere([{ region: 0, calls: [hop] }])[0] === 0)) break;
      }
      return state.totals();
    } finally {
      state.free();
    }
  }

  /**
   * A spread's working blocks: f (this hop's activations), fNext, g (f scaled by 1/fan), total;
   * f starts as the staged seeds and total as them clamped. `next(dead)` swaps f and fNext after
   * a hop and says whether to go on (false once the frontier died out: no later hop adds anything).
   */
  private spreadStart(job: SpreadJob): SpreadState {
    const { arena, kernels } = this.memory;
    const count = job.graph.nodeCount * job.cols;
    const bytes = Math.max(16, count * 4);
    const blocks = [arena.alloc(bytes), arena.alloc(bytes), arena.alloc(bytes), arena.alloc(bytes)];
    const state: SpreadState = {
      f: blocks[0]!, fNext: blocks[1]!, g: blocks[2]!, total: blocks[3]!,
      fanInverse: job.graph.fanInverse(job.fan),
      next(dead) {
        [state.f, state.fNext] = [state.fNext, state.f];
        return !dead;
      },
      totals: () => arena.f32.slice(state.total >>> 2, (state.total >>> 2) + count),
      free: () => { for (const ptr of blocks) arena.free(ptr); },
    };
    arena.f32.copyWithin(state.f >>> 2, job.seeds >>> 2, (job.seeds >>> 2) + count);
    kernels.clampInto(state.f, state.total, count, job.maxActivation);
    return state;
  }

  releaseGraph(): void {
    // The graph's rows belong to the Graph; the CPU keeps nothing else.
  }

  releaseSegments(): void {
    // Segments belong to their index (src/store/segment.ts); the CPU keeps nothing else.
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.terminate();
  }

  /** Parts and placement for a call of `work` bytes (rows read x queries). */
  private plan(work: number): Plan {
    if (!this.pool || work < (this.minWorkBytes ?? this.strategy.splitMinBytes())) return INLINE;
    return this.offMainThread ? { parts: this.pool.size, here: false } : { parts: this.pool.size + 1, here: true };
  }

  /**
   * Run the parts: part 0 on this thread when plan.here (after the others are posted, so all run
   * at once), the rest on workers; resolves with each part's return values. Nothing returns (and
   * so nothing is freed) while a posted part may still be running. If the pool fails (a worker
   * could not start or died), it is given up; with `rerun` the failed parts run again here
   * (parts read shared inputs and write only their own outputs), else PoolFailure is thrown.
   */
  private execute(plan: Plan, rerun: boolean, parts: KernelCall[][]): number[][] | Promise<number[][]> {
    return this.executeRegions(plan, rerun, parts.map((calls) => [{ region: 0, calls }]));
  }

  /** execute() for parts whose calls run in any memory region. */
  private executeRegions(plan: Plan, rerun: boolean, parts: RegionPart[]): number[][] | Promise<number[][]> {
    const pool = this.pool;
    if (parts.length === 1 && plan.here) return [this.runHere(parts[0]!)];
    if (!pool) return parts.map((part) => this.runHere(part));
    return this.executePooled(pool, plan, rerun, parts);
  }

  private async executePooled(pool: CpuPool, plan: Plan, rerun: boolean, parts: RegionPart[]): Promise<number[][]> {
    const remote = parts.slice(plan.here ? 1 : 0);
    const pending = pool.runSettled(remote);
    let local: number[][] = [];
    try {
      if (plan.here) local = [this.runHere(parts[0]!)];
    } catch (error) {
      // Nothing is freed while a worker may still write: wait for every posted part first.
      await pending;
      throw error;
    }
    const settled = await pending;
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (!failed) {
      if (!this.splitMeasured && this.strategy.splitPending) await this.measureSplit(pool, plan.parts);
      return [...local, ...settled.map((s) => (s as PromiseFulfilledResult<number[]>).value)];
    }
    this.givePoolUp(pool, failed.reason);
    if (!rerun) throw new PoolFailure(failed.reason);
    // Every pooled part only reads shared inputs and writes its own outputs, so the parts that
    // failed (and only those: the others are done) are simply run again here.
    return [...local, ...settled.map((s, i) => (s.status === 'fulfilled' ? s.value : this.runHere(remote[i]!)))];
  }

  /** Time every kernel choice longer than at first use, and the split threshold (calibrate). */
  async calibrateStrategy(): Promise<void> {
    this.strategy.measure();
    const pool = this.pool;
    if (!pool) return;
    try {
      await pool.start();
    } catch {
      return;
    }
    await this.measureSplit(pool, this.threads, true);
  }

  /**
   * Measure what the split threshold rests on (src/cpu/strategy.ts), once, now that the workers
   * are up and idle: the round trip of an empty part to a worker (the fastest of a few) and the
   * one-thread rate of an f32 scan on this thread.
   */
  async measureSplit(pool: CpuPool, parts: number, always = false): Promise<void> {
    if (this.splitMeasured && !always) return;
    this.splitMeasured = true;
    let roundTrip = Infinity;
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await pool.run([[{ region: 0, calls: [['fillU32', 0, 0, 0]] }]]);
        roundTrip = Math.min(roundTrip, (performance.now() - t0) * 1000);
      }
    } catch {
      return; // the pool failed: the next pooled call finds out and gives it up
    }
    const stride = 256;
    const rows = SCAN_PROBE_BYTES / (stride * 4);
    const best = withScratchKernels(this.memory, SCAN_PROBE_BYTES + rows * 4 + stride * 4, ({ kernels, memory, alloc }) => {
      const panels = alloc(SCAN_PROBE_BYTES), query = alloc(stride * 4), out = alloc(rows * 4);
      const f32 = new Float32Array(memory.buffer);
      f32.fill(0.5, panels >>> 2, (panels + SCAN_PROBE_BYTES) >>> 2);
      f32.fill(0.25, query >>> 2, (query >>> 2) + stride);
      let fastest = Infinity;
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        kernels.scoresF32(1, query, panels, rows, stride, out);
        fastest = Math.min(fastest, (performance.now() - t0) * 1000);
      }
      return fastest;
    });
    this.strategy.setSplit(roundTrip, SCAN_PROBE_BYTES / Math.max(best, 0.01), parts);
  }

  /** Stop using the pool after a failure (a worker that could not start or died). */
  private givePoolUp(pool: CpuPool, reason: unknown): void {
    this.poolFailure ??= reason instanceof Error ? reason : new Error(String(reason));
    if (this.pool === pool) {
      this.pool = null;
      void pool.terminate();
    }
  }

  private runHere(part: RegionPart): number[] {
    const results: number[] = [];
    for (const { region, calls } of part) {
      const kernels = this.memory.regions.region(region).kernels as unknown as Record<string, (...args: number[]) => number | undefined>;
      for (const [name, ...args] of calls) results.push(kernels[name]!(...args) ?? 0);
    }
    return results;
  }

  private copyOut(ptr: number, count: number): Float32Array {
    const start = ptr >>> 2;
    return this.memory.arena.f32.slice(start, start + count);
  }
}

/** The working blocks of one spread (see CpuBackend.spreadStart). */
interface SpreadState {
  f: number;
  fNext: number;
  g: number;
  total: number;
  fanInverse: number;
  next(dead: boolean): boolean;
  totals(): Float32Array;
  free(): void;
}

/** The kernel calls of one hop over nodes [a, b): scale f into g, then pull into fNext and total. */
function spreadCalls(job: SpreadJob, s: SpreadState, [a, b]: Range, decay: number): { scale: KernelCall; hop: KernelCall } {
  const { graph, cols } = job;
  const rowBytes = cols * 4;
  const pull = [graph.inOffsets + a * 4, graph.inSources, graph.inWeights, s.g, s.fNext + a * rowBytes, s.total + a * rowBytes, b - a];
  return {
    scale: ['scaleRows', s.f + a * rowBytes, s.fanInverse + a * 4, s.g + a * rowBytes, b - a, cols],
    hop: cols === 1
      ? ['spreadHopSingle', ...pull, decay, job.threshold, job.maxActivation]
      : ['spreadHopColumns', ...pull, cols, decay, job.threshold, job.maxActivation],
  };
}

/** A pooled part failed while the caller asked not to re-run parts (see spread). */
class PoolFailure extends Error {
  constructor(readonly reason: unknown) {
    super(`the CPU worker pool failed: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

/** `n` rows in `parts` contiguous ranges, each starting on a panel (multiple of 4); none empty. */
export function splitRows(n: number, parts: number): Range[] {
  if (parts <= 1 || n <= 4) return [[0, n]];
  const panels = Math.ceil(n / 4);
  const ranges: Range[] = [];
  for (let p = 0; p < parts; p++) {
    const a = Math.min(n, Math.round((panels * p) / parts) * 4);
    const b = Math.min(n, Math.round((panels * (p + 1)) / parts) * 4);
    if (b > a) ranges.push([a, b]);
  }
  return ranges;
}

/**
 * Node ranges with about equal incoming edges plus nodes each (`offsets`: the CSR's n + 1
 * incoming-edge offsets), starting on multiples of 4; none empty.
 */
export function splitByEdges(offsets: Uint32Array, parts: number): Range[] {
  const n = offsets.length - 1;
  if (parts <= 1 || n <= 4) return [[0, n]];
  const cost = (v: number) => offsets[v]! + v;
  const totalCost = cost(n);
  const ranges: Range[] = [];
  let a = 0;
  for (let p = 1; p <= parts && a < n; p++) {
    let b = n;
    if (p < parts) {
      const goal = (totalCost * p) / parts;
      let lo = a;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cost(mid) < goal) lo = mid + 1;
        else hi = mid;
      }
      b = Math.min(n, Math.max(a + 4, Math.round(lo / 4) * 4));
    }
    ranges.push([a, b]);
    a = b;
  }
  return ranges;
}
