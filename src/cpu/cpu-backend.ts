import type { Backend, Corpus, RowBlock, SearchResult } from '../backend.js';
import type { CpuMemory } from './cpu-memory.js';

/** Rows per block of the fused single-query top-k: 256 scores = 1 KiB of scratch, stays in L1. */
const TOP_K_BLOCK_ROWS = 256;
/** Bytes of corpus rows per block of the multi-query kernels: kept in L2 while every query passes. */
const L2_BLOCK_BYTES = 256 * 1024;

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
      kernels.cosineScores(query.ptr, vectors.ptr, vectors.rows, vectors.dim, out);
      return Promise.resolve(this.copyOut(out, vectors.rows));
    } finally {
      arena.free(out);
    }
  }

  cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    const { arena, kernels } = this.memory;
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
