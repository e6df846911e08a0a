import type { RowBlock } from './backend.js';
import type { CpuMemory } from './cpu/cpu-memory.js';
import { totalsAgree } from './spreading/sparse.js';
import type { SpreadJob, SpreadOutcome } from './spreading/types.js';
import { readRow } from './store/read-row.js';
import type { Segment } from './store/segment.js';
import type { CorpusView, PositionTopK } from './store/types.js';

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

  /** Internal scores of one query against every stored row of an index. */
  corpusScores(corpus: CorpusView, query: RowBlock, scores: Float32Array): boolean {
    if (scores.length !== corpus.rows) return false;
    for (let s = 0; s < SAMPLES; s++) {
      const p = randomIndex(corpus.rows);
      if (!this.agrees(corpus, query, 0, p, scores[p]!)) return false;
    }
    return true;
  }

  /** Top-k lists: the scores of a few returned rows of a few queries. */
  topK(corpus: CorpusView, queries: RowBlock, results: PositionTopK[]): boolean {
    if (results.length !== queries.rows) return false;
    for (let s = 0; s < SAMPLES; s++) {
      const q = randomIndex(queries.rows);
      const result = results[q]!;
      if (result.positions.length === 0) continue;
      const i = randomIndex(Math.min(result.positions.length, 3));
      const p = result.positions[i]!;
      if (p >= corpus.rows) return false;
      if (!this.agrees(corpus, queries, q, p, result.scores[i]!)) return false;
    }
    return true;
  }

  /** Whether an internal score matches the float64 value of (query q, position p) from the stored row. */
  private agrees(corpus: CorpusView, queries: RowBlock, q: number, p: number, score: number): boolean {
    let s = corpus.segments.length - 1;
    while (corpus.bases[s]! > p) s--;
    const row = readRow(corpus.segments[s] as Segment, corpus.dtype, corpus.dim, p - corpus.bases[s]!);
    const f32 = this.memory.arena.f32;
    const at = (queries.ptr >>> 2) + q * queries.stride;
    let dot = 0;
    let qq = 0;
    let rr = 0;
    let d2 = 0;
    for (let i = 0; i < corpus.dim; i++) {
      const x = f32[at + i]!;
      const y = row[i]!;
      dot += x * y;
      qq += x * x;
      rr += y * y;
      d2 += (x - y) * (x - y);
    }
    const scale = corpus.metric === 'l2' ? qq + rr : Math.sqrt(qq * rr);
    const tol = (corpus.dtype === 'i8' ? 2e-3 : 1e-4) * Math.max(scale, 1e-30) + 1e-30;
    if (corpus.metric === 'l2') return Math.abs(-score - d2) <= tol;
    const want = corpus.metric === 'cosine' ? Math.max(-1, Math.min(1, dot)) : dot;
    return Math.abs(score - want) <= tol;
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
    for (let j = 0; j < want.length; j++) if (!totalsAgree(got[j]!, want[j]!, job.graph.nodeCount, tol)) return false;
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

function close(actual: number, expected: number, tol: number): boolean {
  return Math.abs(actual - Math.max(-1, Math.min(1, expected))) <= tol;
}

function randomIndex(n: number): number {
  return Math.min(n - 1, Math.floor(Math.random() * n));
}
