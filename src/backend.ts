import type { SpreadJob, SpreadOutcome } from './spreading/types.js';

/** Which processor runs a call. */
export type BackendKind = 'cpu' | 'gpu';

/** What a caller may ask for: a fixed backend, or the router's choice. */
export type BackendChoice = 'auto' | BackendKind;

/** Storage type of an index's GPU copy (the CPU always keeps f32). */
export type IndexDtype = 'f32' | 'f16';

/** Top-k of one query: best first, ties to the lower row index. */
export interface SearchResult {
  indices: Uint32Array;
  scores: Float32Array;
}

/**
 * How rows sit in WASM memory (asm/layout.ts): `padded` (rows of `stride` floats, zero
 * padding) or `panels` (groups of 4 rows with their 16-byte chunks interleaved, each row padded
 * to `stride`).
 */
export type RowLayout = 'padded' | 'panels';

/**
 * Rows held in the CPU's WASM memory: `rows` rows of `dim` floats at byte address `ptr`;
 * `stride` is dim rounded up to a multiple of 4. Both backends read inputs from here: the CPU
 * in place, the GPU by uploading.
 */
export interface RowBlock {
  readonly ptr: number;
  readonly rows: number;
  readonly dim: number;
  readonly stride: number;
  readonly layout: RowLayout;
}

/**
 * An index's corpus: normalised rows, resident in CPU memory for its whole life. `id` is stable
 * (a GPU backend keys its resident copy on it); rows only ever get appended, so a backend that
 * holds `k` rows already has to upload only rows k .. rows-1.
 */
export interface Corpus extends RowBlock {
  readonly id: number;
  readonly dtype: IndexDtype;
}

/**
 * One processor's implementation of every operation. The engine never asks which one it holds.
 * Inputs arrive validated and staged (RowBlock): queries `padded` and normalised; a Corpus in
 * normalised `panels`; a one-shot call's vectors in raw `panels` (each row scaled by a power of
 * two, which changes no cosine), which the backend may normalise in place (they belong to the
 * call).
 */
export interface Backend {
  readonly kind: BackendKind;
  /** Cosine of one query against raw rows (row norms on the fly). */
  cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array>;
  /** M x N cosines, row-major, of queries against raw rows. */
  cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array>;
  /** Scores of one normalised query against every corpus row. */
  corpusScores(corpus: Corpus, query: RowBlock): Promise<Float32Array>;
  /** Top-k of each normalised query over the corpus (k <= corpus.rows, k >= 1). */
  corpusTopK(corpus: Corpus, queries: RowBlock, k: number): Promise<SearchResult[]>;
  /** Activation spreading: every seed set's totals (nodeCount each), and how its hops went. */
  spread(job: SpreadJob): Promise<SpreadOutcome>;
  /** Forget whatever this backend holds for a disposed corpus. */
  releaseCorpus(corpus: Corpus): void;
  /** Forget whatever this backend holds for a disposed graph. */
  releaseGraph(graphId: number): void;
  /** Free everything; the backend is unusable afterwards. */
  dispose(): Promise<void>;
}
