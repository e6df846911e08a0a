import type { Backend, RowBlock } from '../backend.js';
import { CpuSpreading } from '../spreading/cpu-spreading.js';
import type { SpreadJob, SpreadOutcome } from '../spreading/types.js';
import type { CorpusView, PositionTopK, Selection } from '../store/types.js';
import type { CpuMemory } from './cpu-memory.js';
import type { CpuPool, KernelCall, RegionPart, SharedQueue } from './pool.js';
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
  private readonly spreading: CpuSpreading;

  /** How this backend chooses between kernels (measured on this machine at first use). */
  readonly strategy: CpuStrategy;

  constructor(memory: CpuMemory, threading: CpuThreading = { pool: null, offMainThread: false },
    strategy: CpuStrategyConfig = { kernels: 'auto', boundKernel: 'auto', batchKernel: 'auto', splitMinBytes: 'auto' }) {
    this.memory = memory;
    this.pool = threading.pool;
    this.offMainThread = threading.offMainThread;
    this.minWorkBytes = threading.minWorkBytes ?? null;
    this.strategy = new CpuStrategy(memory, strategy);
    this.spreading = new CpuSpreading(memory, {
      plan: (work) => this.plan(work),
      execute: (plan, rerun, parts) => this.execute(plan, rerun, parts),
      isPoolFailure: (error) => error instanceof PoolFailure,
    });
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

  storeTopK(corpus: CorpusView, queries: RowBlock, k: number, selection: Selection, deferred?: () => Selection): Promise<PositionTopK[]> {
    return this.store.topK(corpus, queries, k, selection, deferred);
  }

  /** How a call of `work` bytes would run, and running parts over memory regions (for the store's calls). */
  private readonly runner: PartRunner = {
    plan: (work) => this.plan(work),
    run: (plan, parts) => this.executeRegions(plan, true, parts),
    overlap: (queue, next) => this.executeOverlap(queue, next),
  };

  private readonly store: CpuStoreCalls;

  /** Activation spreading (src/spreading/cpu-spreading.ts: push and pull hops, pull hops pooled). */
  spread(job: SpreadJob): Promise<SpreadOutcome> {
    return this.spreading.spread(job);
  }

  /** spread on this thread, synchronously (the GPU cross-check re-runs it). */
  spreadNow(job: SpreadJob): SpreadOutcome {
    return this.spreading.spreadNow(job);
  }

  releaseGraph(graphId: number): void {
    // The graph's CSRs belong to the Graph; spreading keeps working blocks per graph.
    this.spreading.releaseGraph(graphId);
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

  /**
   * PartRunner.overlap: every worker takes the queue's items (its words zeroed here first) while
   * this thread runs `next`; the parts it returns are posted at once, so that a worker goes on to
   * its part as soon as the last item is done, without sleeping in between (a wake-up took up to
   * 2.3 ms on this VM). If any worker fails, the pool is given up and everything runs again here,
   * the items before the parts: each item and each part reads shared inputs and writes only its
   * own outputs (a part empties its heaps first), so running one twice gives the same outputs.
   */
  private executeOverlap(queue: SharedQueue, next: () => RegionPart[]): number[][] | Promise<number[][]> {
    const pool = this.pool;
    if (!pool) {
      for (const item of queue.items) this.runHere([item]);
      return next().map((part) => this.runHere(part));
    }
    const words = new Int32Array(this.memory.regions.region(queue.region).arena.u32.buffer, queue.at, 3);
    words.fill(0);
    const taking = pool.shareSettled(queue);
    let parts: RegionPart[];
    try {
      parts = next();
    } catch (error) {
      // Nothing is freed while a worker may still write: the queue runs to its end first.
      return taking.then((took) => {
        const failed = took.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) this.givePoolUp(pool, failed.reason);
        throw error;
      });
    }
    const running = pool.runSettled(parts, { region: queue.region, at: queue.at, count: queue.items.length });
    return (async () => {
      const took = await taking;
      const failed = took.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      // The parts waiting for items a failed worker took would wait for ever: they give up.
      if (failed) {
        Atomics.store(words, 2, 1);
        Atomics.notify(words, 1);
      }
      const ran = await running;
      const failure = failed ?? ran.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (!failure) return ran.map((s) => (s as PromiseFulfilledResult<number[]>).value);
      this.givePoolUp(pool, failure.reason);
      for (const item of queue.items) this.runHere([item]);
      return parts.map((part) => this.runHere(part));
    })();
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

/** A pooled part failed while the caller asked not to re-run parts (spreading's hops). */
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
