import type { SpreadJob, SpreadOutcome } from './spreading/types.js';
import type { CorpusView, PositionTopK, Selection } from './store/types.js';

import type { BackendKind, RowBlock } from './types.js';

export type { BackendChoice, BackendKind, RowBlock, RowLayout } from './types.js';

/**
 * One processor's implementation of every operation. The engine never asks which one it holds.
 * Inputs arrive validated and staged (RowBlock): queries `padded` (normalised for cosine); an
 * index as a CorpusView (its segments, src/store/types.ts); a one-shot call's vectors in raw
 * `panels` (each row scaled by a power of two, which changes no cosine), which the backend may
 * normalise in place (they belong to the call).
 */
export interface Backend {
  readonly kind: BackendKind;
  /** Cosine of one query against raw rows (row norms on the fly). */
  cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array>;
  /** M x N cosines, row-major, of queries against raw rows. */
  cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array>;
  /** Internal scores (higher is better) of one query against every stored row of an index, by position. */
  storeScores(corpus: CorpusView, query: RowBlock): Promise<Float32Array>;
  /** Top-k of each query among the selected rows (1 <= k <= selection.passing). */
  /** `deferred`: the selection, made by the backend (CPU: beside the bounds pass); `selection` then stands for every live row. */
  storeTopK(corpus: CorpusView, queries: RowBlock, k: number, selection: Selection, deferred?: () => Selection): Promise<PositionTopK[]>;
  /** Activation spreading: every seed set's totals (nodeCount each), and how its hops went. */
  spread(job: SpreadJob): Promise<SpreadOutcome>;
  /** Forget whatever this backend holds for segments that were freed (an index disposed or compacted). */
  releaseSegments(ids: readonly number[]): void;
  /** Forget whatever this backend holds for a disposed graph. */
  releaseGraph(graphId: number): void;
  /** Free everything; the backend is unusable afterwards. */
  dispose(): Promise<void>;
}
