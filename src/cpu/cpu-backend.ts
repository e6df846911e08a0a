import type { Backend, Corpus, RowBlock, SearchResult } from '../backend.js';
import type { SpreadJob } from '../spreading.js';
import { COMPACT_MIN_DIM, COMPACT_MIN_ROWS, CorpusStore, type CpuMemory } from './cpu-memory.js';

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

/** The AssemblyScript WASM-SIMD kernels (asm/), computing in place in WASM memory. */
export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  private readonly memory: CpuMemory;

  constructor(memory: CpuMemory) {
    this.memory = memory;
  }

  cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    const { arena, kernels } = this.memory;
    const out = arena.alloc(vectors.rows * 4);
    try {
      kernels.cosineScores(query.ptr, vectors.ptr, vectors.rows, vectors.stride, out);
      return Promise.resolve(this.copyOut(out, vectors.rows));
    } finally {
      arena.free(out);
    }
  }

  cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    const { arena, kernels } = this.memory;
    kernels.normalizePanelRows(vectors.ptr, 0, vectors.rows, vectors.stride);
    const count = queries.rows * vectors.rows;
    const out = arena.alloc(count * 4);
    try {
      kernels.dotMatrix(queries.ptr, queries.rows, vectors.ptr, vectors.rows, vectors.stride,
        out, vectors.rows, l2BlockRows(vectors.stride));
      return Promise.resolve(this.copyOut(out, count));
    } finally {
      arena.free(out);
    }
  }

  corpusScores(corpus: Corpus, query: RowBlock): Promise<Float32Array> {
    const { arena, kernels } = this.memory;
    const out = arena.alloc(corpus.rows * 4);
    try {
      kernels.dotScores(query.ptr, corpus.ptr, corpus.rows, corpus.stride, out);
      return Promise.resolve(this.copyOut(out, corpus.rows));
    } finally {
      arena.free(out);
    }
  }

  corpusTopK(corpus: Corpus, queries: RowBlock, k: number): Promise<SearchResult[]> {
    if (queries.rows === 1 && corpus instanceof CorpusStore && usesCompactTopK(corpus.rows, corpus.dim, k)) {
      return Promise.resolve([this.compactTopK(corpus, queries, k)]);
    }
    const { arena, kernels } = this.memory;
    const m = queries.rows;
    const heapScores = arena.alloc(m * k * 4);
    const heapIndices = arena.alloc(m * k * 4);
    const states = arena.alloc(m * 4);
    const blockRows = m === 1 ? TOP_K_BLOCK_ROWS : l2BlockRows(corpus.stride);
    const scratch = arena.alloc(m * blockRows * 4);
    try {
      if (m === 1) {
        kernels.searchTopK(queries.ptr, corpus.ptr, corpus.rows, corpus.stride, k,
          heapScores, heapIndices, states, scratch, blockRows);
      } else {
        kernels.searchTopKBatch(queries.ptr, m, corpus.ptr, corpus.rows, corpus.stride, k,
          heapScores, heapIndices, states, scratch, blockRows);
      }
      const results: SearchResult[] = [];
      const f32 = arena.f32;
      const u32 = arena.u32;
      for (let q = 0; q < m; q++) {
        const size = u32[(states >>> 2) + q]!;
        const s = (heapScores >>> 2) + q * k;
        const i = (heapIndices >>> 2) + q * k;
        results.push({ indices: u32.slice(i, i + size), scores: f32.slice(s, s + size) });
      }
      return Promise.resolve(results);
    } finally {
      arena.free(scratch);
      arena.free(states);
      arena.free(heapIndices);
      arena.free(heapScores);
    }
  }

  /** Exact top-k of one query through the corpus's int8 copy and an exact re-rank. */
  private compactTopK(corpus: CorpusStore, query: RowBlock, k: number): SearchResult {
    const { arena, kernels } = this.memory;
    const { compact, meta, qstride } = corpus.compactCopy();
    const n = corpus.rows;
    const blocks: number[] = [];
    const alloc = (bytes: number) => {
      const ptr = arena.alloc(bytes);
      blocks.push(ptr);
      return ptr;
    };
    try {
      const query16 = alloc(qstride * 2);
      const info = alloc(12);
      const heapScores = alloc(k * 4);
      const heapIndices = alloc(k * 4);
      const state = alloc(4);
      const lowerScores = alloc(k * 4);
      const lowerIndices = alloc(k * 4);
      const lowerState = alloc(4);
      const lower = alloc(TOP_K_BLOCK_ROWS * 4);
      const upper = alloc(TOP_K_BLOCK_ROWS * 4);
      const candidates = alloc(n * 4);
      const candidateUpper = alloc(n * 4);
      kernels.quantizeQuery(query.ptr, corpus.stride, query16, qstride, info);
      kernels.searchTopKCompact(query.ptr, query16, info, compactSlack(corpus.stride),
        corpus.ptr, compact, meta, n, corpus.stride, qstride, k,
        heapScores, heapIndices, state, lowerScores, lowerIndices, lowerState,
        lower, upper, TOP_K_BLOCK_ROWS, candidates, candidateUpper);
      const size = arena.u32[state >>> 2]!;
      return {
        indices: arena.u32.slice(heapIndices >>> 2, (heapIndices >>> 2) + size),
        scores: arena.f32.slice(heapScores >>> 2, (heapScores >>> 2) + size),
      };
    } finally {
      for (const ptr of blocks.reverse()) arena.free(ptr);
    }
  }

  spread(job: SpreadJob): Promise<Float32Array> {
    return Promise.resolve(this.spreadNow(job));
  }

  /** spread, synchronously (the GPU cross-check re-runs it). */
  spreadNow(job: SpreadJob): Float32Array {
    const { arena, kernels } = this.memory;
    const { graph, cols } = job;
    const n = graph.nodeCount;
    const count = n * cols;
    const bytes = Math.max(16, count * 4);
    const blocks = [arena.alloc(bytes), arena.alloc(bytes), arena.alloc(bytes), arena.alloc(bytes)];
    const [g, total] = [blocks[2]!, blocks[3]!];
    let [f, fNext] = [blocks[0]!, blocks[1]!];
    try {
      arena.f32.copyWithin(f >>> 2, job.seeds >>> 2, (job.seeds >>> 2) + count);
      kernels.clampInto(f, total, count, job.maxActivation);
      const fanInverse = graph.fanInverse(job.fan);
      for (const decay of job.decays) {
        kernels.scaleRows(f, fanInverse, g, n, cols);
        const active = cols === 1
          ? kernels.spreadHopSingle(graph.inOffsets, graph.inSources, graph.inWeights, g, fNext, total, n,
            decay, job.threshold, job.maxActivation)
          : kernels.spreadHopColumns(graph.inOffsets, graph.inSources, graph.inWeights, g, fNext, total, n, cols,
            decay, job.threshold, job.maxActivation);
        [f, fNext] = [fNext, f];
        if (active === 0) break; // the frontier died out: no later hop adds anything
      }
      return arena.f32.slice(total >>> 2, (total >>> 2) + count);
    } finally {
      for (const ptr of blocks) arena.free(ptr);
    }
  }

  releaseGraph(): void {
    // The graph's rows belong to the Graph; the CPU keeps nothing else.
  }

  releaseCorpus(): void {
    // The corpus rows themselves belong to the index (CorpusStore); the CPU keeps nothing else.
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }

  private copyOut(ptr: number, count: number): Float32Array {
    const start = ptr >>> 2;
    return this.memory.arena.f32.slice(start, start + count);
  }
}
