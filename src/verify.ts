import type { Corpus, RowBlock, SearchResult } from './backend.js';
import type { CpuMemory } from './cpu/cpu-memory.js';
import type { SpreadJob, SpreadOutcome } from './spreading/types.js';

/** Entries a cross-check recomputes. */
const SAMPLES = 3;

/**
 * The sampled CPU cross-check of GPU results (`verifySampleRate`): a few entries recomputed in
 * float64 straight from the staged rows in WASM memory and compared. A mismatch makes the GPU
 * call a failure of kind `wrong-result`, and the CPU answers.
 */
export class ResultVerifier {
  private readonly memory: CpuMemory;

  constructor(memory: CpuMemory) {
    this.memory = memory;
  }

  /** One-shot scores (N, or M x N row-major) of padded queries against raw panel rows. */
  oneShot(queries: RowBlock, vectors: RowBlock, scores: Float32Array): boolean {
    if (scores.length !== queries.rows * vectors.rows) return false;
    for (let s = 0; s < SAMPLES; s++) {
      const q = randomIndex(queries.rows);
      const r = randomIndex(vectors.rows);
      const norm = Math.sqrt(this.rowDot(vectors, r, vectors, r));
      const expected = norm === 0 ? 0 : this.queryDot(queries, q, vectors, r) / norm;
      if (!close(scores[q * vectors.rows + r]!, expected, 1e-4)) return false;
    }
    return true;
  }

  /** Scores of one query against every corpus row. */
  corpusScores(corpus: Corpus, query: RowBlock, scores: Float32Array): boolean {
    if (scores.length !== corpus.rows) return false;
    for (let s = 0; s < SAMPLES; s++) {
      const r = randomIndex(corpus.rows);
      if (!close(scores[r]!, this.queryDot(query, 0, corpus, r), tolerance(corpus))) return false;
    }
    return true;
  }

  /** Top-k lists: the scores of a few returned rows of a few queries. */
  topK(corpus: Corpus, queries: RowBlock, results: SearchResult[]): boolean {
    if (results.length !== queries.rows) return false;
    for (let s = 0; s < SAMPLES; s++) {
      const q = randomIndex(queries.rows);
      const result = results[q]!;
      if (result.indices.length === 0) continue;
      const i = randomIndex(Math.min(result.indices.length, 3));
      const row = result.indices[i]!;
      if (row >= corpus.rows) return false;
      if (!close(result.scores[i]!, this.queryDot(queries, q, corpus, row), tolerance(corpus))) return false;
    }
    return true;
  }

  /**
   * Spreading totals: a spreading result depends on every hop, so the check re-runs the job on
   * the CPU (the whole cost of a CPU call, at verifySampleRate) and compares every entry (a sparse
   * call changes only a few nodes: sampled entries would miss them). The two should be the same
   * bits (one summation order on both); the tolerance admits one threshold's worth of difference
   * at a node whose |c| sat on the threshold, for a GPU compiler that fused or reordered anyway.
   */
  spread(job: SpreadJob, outcome: SpreadOutcome, cpuSpread: (job: SpreadJob) => SpreadOutcome): boolean {
    const want = cpuSpread(job).totals;
    const got = outcome.totals;
    if (got.length !== want.length) return false;
    const tol = 1e-4 + job.threshold * 1.0001;
    for (let j = 0; j < want.length; j++) {
      const a = got[j]!, b = want[j]!;
      if (a.length !== b.length) return false;
      for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol)) return false;
    }
    return true;
  }

  /** float64 dot of padded query q with panel row r. */
  private queryDot(queries: RowBlock, q: number, panels: RowBlock, r: number): number {
    const f32 = this.memory.arena.f32;
    const qBase = (queries.ptr >>> 2) + q * queries.stride;
    const rBase = panelBase(panels, r);
    let sum = 0;
    for (let c = 0; c < panels.stride / 4; c++) {
      for (let lane = 0; lane < 4; lane++) sum += f32[qBase + c * 4 + lane]! * f32[rBase + c * 16 + lane]!;
    }
    return sum;
  }

  /** float64 dot of panel rows a and b. */
  private rowDot(pa: RowBlock, a: number, pb: RowBlock, b: number): number {
    const f32 = this.memory.arena.f32;
    const aBase = panelBase(pa, a);
    const bBase = panelBase(pb, b);
    let sum = 0;
    for (let c = 0; c < pa.stride / 4; c++) {
      for (let lane = 0; lane < 4; lane++) sum += f32[aBase + c * 16 + lane]! * f32[bBase + c * 16 + lane]!;
    }
    return sum;
  }
}

/** Float index of the first value of panel row r (its chunks are 16 floats apart). */
function panelBase(panels: RowBlock, r: number): number {
  return (panels.ptr >>> 2) + (r >> 2) * panels.stride * 4 + (r & 3) * 4;
}

function tolerance(corpus: Corpus): number {
  return corpus.dtype === 'f16' ? 4e-3 : 1e-4;
}

function close(actual: number, expected: number, tol: number): boolean {
  return Math.abs(actual - Math.max(-1, Math.min(1, expected))) <= tol;
}

function randomIndex(n: number): number {
  return Math.min(n - 1, Math.floor(Math.random() * n));
}
