import type { Backend, Corpus, RowBlock, SearchResult } from '../backend.js';
import { CpuSpreading } from '../spreading/cpu-spreading.js';
import type { SpreadJob, SpreadOutcome } from '../spreading/types.js';
import { COMPACT_MIN_DIM, COMPACT_MIN_ROWS, CorpusStore, type CpuMemory } from './cpu-memory.js';
import type { CpuPool, KernelCall } from './pool.js';

/** Rows per block of the fused single-query top-k: 256 scores = 1 KiB of scratch, stays in L1. */
const TOP_K_BLOCK_ROWS = 256;
/** Bytes of corpus rows per block of the multi-query kernels: kept in L2 while every query passes. */
const L2_BLOCK_BYTES = 256 * 1024;

/**
 * When single-query top-k goes through the int8 copy (asm/compact.ts): corpora large enough for
 * the 4x smaller read to matter, rows long enough for int8 rows to be smaller than f32 ones, and
 * k small against N (every row that might be in the top k is re-scored exactly).
 */
export function usesCompactTopK(rows: number, dim: number, k: number): boolean {
  return rows >= COMPACT_MIN_ROWS && dim >= COMPACT_MIN_DIM && k * 64 <= rows;
}

/**
 * Headroom added to every int8 score bound: the f32 rounding of the exact kernel
 * ((stride/4 + 3) additions, relative 2^-24 each, on |q||r| <= 1) and of the bound arithmetic.
 */
function compactSlack(stride: number): number {
  return (stride / 4 + 3) * 2 ** -24 * 1.01 + 1e-6;
}

/** Rows per L2 block for a row stride, a multiple of 4 in [4, 1024]. */
export function l2BlockRows(stride: number): number {
  const rows = Math.floor(L2_BLOCK_BYTES / (stride * 4)) & ~3;
  return Math.min(1024, Math.max(4, rows));
}

/**
 * Smallest call (in bytes of rows read, times queries) that goes to the worker pool. Below it one
 * thread does the whole call where it was made. Measured (`npm run bench:threads`, the split's
 * crossover, docs/PERFORMANCE.md v0.8): posting a part to an idle worker and hearing back costs
 * ~60 us here, so a scan split in two is slower up to 4 MiB (0.81x) and faster from 8 MiB (1.12x).
 */
export const POOL_MIN_WORK_BYTES = 8 << 20;

/** How the CPU backend uses threads. */
export interface CpuThreading {
  /** Workers over the engine's shared memory, or null (one thread). */
  pool: CpuPool | null;
  /** Large calls run in the workers only, leaving the calling thread (the event loop) free. */
  offMainThread: boolean;
  /** Calls of at least this much work use the pool (default POOL_MIN_WORK_BYTES). */
  minWorkBytes?: number;
}

/** How one call runs: `parts` shares of the rows, the first one on this thread when `here`. */
interface Plan {
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
  /** @internal calls of at least this much work use the pool (tests lower it) */
  minWorkBytes: number;
  /** Why the pool was given up (a worker failed to start or died); calls then run here. */
  poolFailure: Error | null = null;
  private readonly spreading: CpuSpreading;

  constructor(memory: CpuMemory, threading: CpuThreading = { pool: null, offMainThread: false }) {
    this.memory = memory;
    this.pool = threading.pool;
    this.offMainThread = threading.offMainThread;
    this.minWorkBytes = threading.minWorkBytes ?? POOL_MIN_WORK_BYTES;
    this.spreading = new CpuSpreading(memory, {
      plan: (work) => this.plan(work),
      execute: (plan, rerun, parts) => this.execute(plan, rerun, parts),
      isPoolFailure: (error) => error instanceof PoolFailure,
    });
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

  async corpusScores(corpus: Corpus, query: RowBlock): Promise<Float32Array> {
    const { arena } = this.memory;
    const n = corpus.rows;
    const out = arena.alloc(n * 4);
    try {
      const plan = this.plan(n * corpus.stride * 4);
      const pending = this.execute(plan, true, splitRows(n, plan.parts).map(([a, b]) => [
        ['dotScores', query.ptr, corpus.ptr + a * corpus.stride * 4, b - a, corpus.stride, out + a * 4],
      ]));
      if (pending instanceof Promise) await pending;
      return this.copyOut(out, n);
    } finally {
      arena.free(out);
    }
  }

  async corpusTopK(corpus: Corpus, queries: RowBlock, k: number): Promise<SearchResult[]> {
    if (corpus instanceof CorpusStore && usesCompactTopK(corpus.rows, corpus.dim, k)) {
      if (queries.rows === 1) return [await this.compactTopK(corpus, queries, k)];
      return this.compactTopKBatch(corpus, queries, k);
    }
    const { arena } = this.memory;
    const m = queries.rows;
    const n = corpus.rows;
    const stride = corpus.stride;
    const blockRows = m === 1 ? TOP_K_BLOCK_ROWS : l2BlockRows(stride);
    const plan = this.plan(m * n * stride * 4);
    const ranges = splitRows(n, plan.parts);
    const blocks: number[] = [];
    const alloc = (bytes: number) => {
      const ptr = arena.alloc(bytes);
      blocks.push(ptr);
      return ptr;
    };
    try {
      const heaps = ranges.map(([a, b]) => {
        const kPart = Math.min(k, b - a);
        return {
          a, kPart,
          scores: alloc(m * kPart * 4), indices: alloc(m * kPart * 4), states: alloc(m * 4),
          scratch: alloc(m * blockRows * 4),
        };
      });
      const pending = this.execute(plan, true, ranges.map(([a, b], p) => {
        const h = heaps[p]!;
        const panels = corpus.ptr + a * stride * 4;
        return [m === 1
          ? ['searchTopK', queries.ptr, panels, b - a, stride, h.kPart, h.scores, h.indices, h.states, h.scratch, blockRows]
          : ['searchTopKBatch', queries.ptr, m, panels, b - a, stride, h.kPart, h.scores, h.indices, h.states,
            h.scratch, blockRows]];
      }));
      if (pending instanceof Promise) await pending;
      const f32 = arena.f32;
      const u32 = arena.u32;
      return Array.from({ length: m }, (_, q) => mergeTopK(heaps.map((h) => {
        const size = u32[(h.states >>> 2) + q]!;
        const s = (h.scores >>> 2) + q * h.kPart;
        const i = (h.indices >>> 2) + q * h.kPart;
        return { offset: h.a, indices: u32.subarray(i, i + size), scores: f32.subarray(s, s + size) };
      }), k));
    } finally {
      for (const ptr of blocks.reverse()) arena.free(ptr);
    }
  }

  /** Exact top-k of one query through the corpus's int8 copy and an exact re-rank. */
  private async compactTopK(corpus: CorpusStore, query: RowBlock, k: number): Promise<SearchResult> {
    const { arena, kernels } = this.memory;
    const { compact, meta, qstride } = corpus.compactCopy();
    const n = corpus.rows;
    const stride = corpus.stride;
    let plan = this.plan(n * qstride);
    // Each part must itself be large against k, as usesCompactTopK asks of the whole corpus.
    if (plan.parts > 1 && k * 64 > Math.floor(n / plan.parts)) plan = this.offMainThread ? { parts: 1, here: false } : INLINE;
    const ranges = splitRows(n, plan.parts);
    const blocks: number[] = [];
    const alloc = (bytes: number) => {
      const ptr = arena.alloc(bytes);
      blocks.push(ptr);
      return ptr;
    };
    try {
      const query16 = alloc(qstride * 2);
      const info = alloc(12);
      kernels.quantizeQuery(query.ptr, stride, query16, qstride, info);
      const slack = compactSlack(stride);
      const heaps = ranges.map(([a, b]) => ({
        a, rows: b - a,
        scores: alloc(k * 4), indices: alloc(k * 4), state: alloc(4),
        lowerScores: alloc(k * 4), lowerIndices: alloc(k * 4), lowerState: alloc(4),
        lower: alloc(TOP_K_BLOCK_ROWS * 4), upper: alloc(TOP_K_BLOCK_ROWS * 4),
        candidates: alloc((b - a) * 4), candidateUpper: alloc((b - a) * 4),
      }));
      const pending = this.execute(plan, true, heaps.map((h) => [[
        'searchTopKCompact', query.ptr, query16, info, slack,
        corpus.ptr + h.a * stride * 4, compact + (h.a / 4) * qstride * 4, meta + (h.a / 4) * 48,
        h.rows, stride, qstride, k, h.scores, h.indices, h.state, h.lowerScores, h.lowerIndices, h.lowerState,
        h.lower, h.upper, TOP_K_BLOCK_ROWS, h.candidates, h.candidateUpper,
      ]]));
      if (pending instanceof Promise) await pending;
      const f32 = arena.f32;
      const u32 = arena.u32;
      return mergeTopK(heaps.map((h) => {
        const size = u32[h.state >>> 2]!;
        return {
          offset: h.a,
          indices: u32.subarray(h.indices >>> 2, (h.indices >>> 2) + size),
          scores: f32.subarray(h.scores >>> 2, (h.scores >>> 2) + size),
        };
      }), k);
    } finally {
      for (const ptr of blocks.reverse()) arena.free(ptr);
    }
  }

  /**
   * Exact top-k of M queries, each through the int8 copy (as a single search): on this CPU the
   * int8 bound pass plus re-rank costs less per query than the f32 M x N kernel (docs/PERFORMANCE.md,
   * v0.6), so batches of queries are shared out across threads by query, and every thread reuses
   * its own scratch for its queries in turn.
   */
  private async compactTopKBatch(corpus: CorpusStore, queries: RowBlock, k: number): Promise<SearchResult[]> {
    const { arena } = this.memory;
    const { compact, meta, qstride } = corpus.compactCopy();
    const n = corpus.rows;
    const m = queries.rows;
    const stride = corpus.stride;
    const plan = this.plan(m * n * qstride);
    const parts = Math.min(plan.parts, m);
    const blocks: number[] = [];
    const alloc = (bytes: number) => {
      const ptr = arena.alloc(bytes);
      blocks.push(ptr);
      return ptr;
    };
    try {
      const perQuery = Array.from({ length: m }, () => ({
        query16: alloc(qstride * 2), info: alloc(12),
        scores: alloc(k * 4), indices: alloc(k * 4), state: alloc(4),
      }));
      const slack = compactSlack(stride);
      const work: KernelCall[][] = [];
      for (let p = 0; p < parts; p++) {
        const scratch = {
          lowerScores: alloc(k * 4), lowerIndices: alloc(k * 4), lowerState: alloc(4),
          lower: alloc(TOP_K_BLOCK_ROWS * 4), upper: alloc(TOP_K_BLOCK_ROWS * 4),
          candidates: alloc(n * 4), candidateUpper: alloc(n * 4),
        };
        const calls: KernelCall[] = [];
        for (let q = Math.floor((m * p) / parts); q < Math.floor((m * (p + 1)) / parts); q++) {
          const h = perQuery[q]!;
          const query = queries.ptr + q * queries.stride * 4;
          calls.push(['quantizeQuery', query, stride, h.query16, qstride, h.info]);
          calls.push(['searchTopKCompact', query, h.query16, h.info, slack, corpus.ptr, compact, meta, n, stride,
            qstride, k, h.scores, h.indices, h.state, scratch.lowerScores, scratch.lowerIndices, scratch.lowerState,
            scratch.lower, scratch.upper, TOP_K_BLOCK_ROWS, scratch.candidates, scratch.candidateUpper]);
        }
        work.push(calls);
      }
      const pending = this.execute(parts === 1 && plan.here ? INLINE : plan, true, work);
      if (pending instanceof Promise) await pending;
      const f32 = arena.f32;
      const u32 = arena.u32;
      return perQuery.map((h) => {
        const size = u32[h.state >>> 2]!;
        return {
          indices: u32.slice(h.indices >>> 2, (h.indices >>> 2) + size),
          scores: f32.slice(h.scores >>> 2, (h.scores >>> 2) + size),
        };
      });
    } finally {
      for (const ptr of blocks.reverse()) arena.free(ptr);
    }
  }

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

  releaseCorpus(): void {
    // The corpus rows themselves belong to the index (CorpusStore); the CPU keeps nothing else.
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.terminate();
  }

  /** Parts and placement for a call of `work` bytes (rows read x queries). */
  private plan(work: number): Plan {
    if (!this.pool || work < this.minWorkBytes) return INLINE;
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
    const pool = this.pool;
    if (parts.length === 1 && plan.here) return [this.runHere(parts[0]!)];
    if (!pool) return parts.map((calls) => this.runHere(calls));
    return this.executePooled(pool, plan, rerun, parts);
  }

  private async executePooled(pool: CpuPool, plan: Plan, rerun: boolean, parts: KernelCall[][]): Promise<number[][]> {
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
    if (!failed) return [...local, ...settled.map((s) => (s as PromiseFulfilledResult<number[]>).value)];
    this.givePoolUp(pool, failed.reason);
    if (!rerun) throw new PoolFailure(failed.reason);
    // Every pooled part only reads shared inputs and writes its own outputs, so the parts that
    // failed (and only those: the others are done) are simply run again here.
    return [...local, ...settled.map((s, i) => (s.status === 'fulfilled' ? s.value : this.runHere(remote[i]!)))];
  }

  /** Stop using the pool after a failure (a worker that could not start or died). */
  private givePoolUp(pool: CpuPool, reason: unknown): void {
    this.poolFailure ??= reason instanceof Error ? reason : new Error(String(reason));
    if (this.pool === pool) {
      this.pool = null;
      void pool.terminate();
    }
  }

  private runHere(calls: KernelCall[]): number[] {
    const kernels = this.memory.kernels as unknown as Record<string, (...args: number[]) => number | undefined>;
    return calls.map(([name, ...args]) => kernels[name]!(...args) ?? 0);
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

/** Spreading's split of a pull hop (kept here too for this file's callers). */
export { splitByEdges } from '../spreading/partition.js';

/** One part's top-k: sorted best first, indices relative to the part's first row `offset`. */
interface PartialTopK {
  offset: number;
  indices: Uint32Array;
  scores: Float32Array;
}

/** The best k of the parts' sorted lists: higher score first, ties to the lower row index. */
export function mergeTopK(parts: PartialTopK[], k: number): SearchResult {
  if (parts.length === 1) {
    const [only] = parts;
    const size = Math.min(k, only!.indices.length);
    const indices = new Uint32Array(size);
    for (let i = 0; i < size; i++) indices[i] = only!.indices[i]! + only!.offset;
    return { indices, scores: only!.scores.slice(0, size) };
  }
  const total = Math.min(k, parts.reduce((sum, p) => sum + p.indices.length, 0));
  const indices = new Uint32Array(total);
  const scores = new Float32Array(total);
  const at = parts.map(() => 0);
  for (let out = 0; out < total; out++) {
    let best = -1;
    let bestScore = 0;
    let bestIndex = 0;
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p]!;
      const i = at[p]!;
      if (i >= part.indices.length) continue;
      const score = part.scores[i]!;
      const index = part.indices[i]! + part.offset;
      if (best < 0 || score > bestScore || (score === bestScore && index < bestIndex)) {
        best = p;
        bestScore = score;
        bestIndex = index;
      }
    }
    indices[out] = bestIndex;
    scores[out] = bestScore;
    at[best]!++;
  }
  return { indices, scores };
}
