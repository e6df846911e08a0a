// The store's vocabulary, shared by the index (src/store), both backends and the engine. It
// imports nothing, so any file may import it without forming a loop.

/** How rows are compared: cosine similarity, inner product, or squared Euclidean distance. */
export type Metric = 'cosine' | 'dot' | 'l2';

/** The precision an index stores (and scans) its rows in, on both backends. */
export type IndexDtype = 'f32' | 'f16' | 'i8';

/** A row's key: a non-negative safe integer, or a string. */
export type Key = number | string;

/** What kind of keys an index holds: assigned 0, 1, 2, ... ('default'), the caller's numbers or strings. */
export type KeyKind = 'default' | 'number' | 'string';

/** Metric codes the kernels take (asm/layout.ts). */
export const METRIC_CODE: Record<Metric, number> = { cosine: 0, dot: 1, l2: 2 };

/** Dtype codes the kernels take (asm/topk.ts topKRows). */
export const DTYPE_CODE: Record<IndexDtype, number> = { f32: 0, f16: 1, i8: 2 };

/**
 * One segment as a backend reads it: `rows` stored rows (live and dead) of the index's dtype in
 * the panel layout of asm/layout.ts, at byte addresses in WASM memory region `region`. `id` is
 * unique for the engine's life and the segment's rows never change once written (rows are only
 * appended after `rows`), so a backend may keep a copy keyed on it.
 */
export interface SegmentView {
  readonly id: number;
  readonly region: number;
  /** Rows written (live and dead). */
  readonly rows: number;
  /** Rows removed among them. */
  readonly deadRows: number;
  /** Rows the segment can hold. */
  readonly capacity: number;
  /** Stored rows (panels of the dtype). */
  readonly data: number;
  /** i8 rows: per-row metadata (asm/score-i8.ts), else 0. */
  readonly meta: number;
  /** The int8 prefilter copy of f32/f16 rows (asm/prefilter.ts), or 0 when the segment has none. */
  readonly prefilter: number;
  readonly prefilterMeta: number;
  /** Bitmap of live rows (bit r of u32 word r >> 5), capacity bits. */
  readonly live: number;
  /** The live bitmap as a view of WASM memory. */
  liveBits(): Uint32Array;
}

/** An index's rows as a call sees them: its segments in insertion order, frozen for the call. */
export interface CorpusView {
  /** The index's id (unique per engine). */
  readonly id: number;
  readonly dim: number;
  readonly metric: Metric;
  readonly dtype: IndexDtype;
  /** Values per stored row in the dtype's layout (dim rounded up to 4, 8 or 16). */
  readonly stride: number;
  /** Values per row of the int8 prefilter (dim rounded up to 16). */
  readonly prefilterStride: number;
  readonly segments: readonly SegmentView[];
  /** Position of each segment's row 0: positions count rows in insertion order (live and dead). */
  readonly bases: readonly number[];
  /** Stored rows in all (the last base plus the last segment's rows). */
  readonly rows: number;
}

/**
 * Which rows of each segment a call reads: `null` all stored rows (no dead rows, no filter),
 * `'live'` the segment's live bitmap, a bitmap (capacity bits) of its own, or `'none'` (skip it).
 */
export type SegmentSelection = null | 'live' | Uint32Array | 'none';

/** The rows a call reads, per segment, and how many pass in all. */
export interface Selection {
  readonly segments: readonly SegmentSelection[];
  /** Rows that pass (what the router counts as the batch). */
  readonly passing: number;
  /** Rows that pass in each segment. */
  readonly passingBySegment: readonly number[];
}

/**
 * One query's top-k as a backend returns it: positions (see CorpusView.bases) and internal
 * scores (higher is better; l2 scores are minus the squared distance), best first, ties to the
 * lower position.
 */
export interface PositionTopK {
  positions: Uint32Array;
  scores: Float32Array;
}

/**
 * A search filter: a predicate on keys, or the allowed keys (an array, a Set, any iterable). (The
 * predicate is written as a method type so that a `VectorIndex<number>` is also a `VectorIndex`.)
 */
export type Filter<K extends Key = Key> = KeyPredicate<K>['test'] | Iterable<K>;

/** The predicate form of a Filter. */
export interface KeyPredicate<K extends Key = Key> {
  /** Whether the row with this key may be returned. */
  test(key: K): boolean;
}
