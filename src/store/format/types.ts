// The logical content of a file (docs/FORMAT.md), as the store hands it to the encoder
// (IndexImage, GraphImage) and as the decoder hands it back (IndexSink, GraphSink). Nothing here
// knows the store's memory layout: rows are row-major stored values, keys are values.

/** How an index scores: 'l2' ascending (squared distance), the others descending. */
export type FileMetric = 'cosine' | 'dot' | 'l2';

/** How an index stores each component: f32, IEEE binary16, or int8 with one f32 scale per row. */
export type FileDtype = 'f32' | 'f16' | 'i8';

/**
 * What an index's keys are: 'default' (0, 1, 2, ... assigned by the index), 'number' (the
 * user's non-negative safe integers) or 'string' (the user's strings).
 */
export type FileKeyKind = 'default' | 'number' | 'string';

/** A setting that changes answers and travels with the file (the options record). */
export interface FileOption {
  /** Unique within the file; 1 to 65535 bytes of UTF-8. */
  readonly name: string;
  /** A number must be finite. */
  readonly value: boolean | number | string;
  /**
   * Whether a reader that does not know `name` may skip it. A sink must refuse (throw
   * INVALID_FILE) an option it does not know unless it is ignorable.
   */
  readonly ignorable: boolean;
}

/** An index file's header: what every segment shares. */
export interface IndexHeader {
  /** Values per row, >= 1. */
  readonly dim: number;
  readonly metric: FileMetric;
  readonly dtype: FileDtype;
  readonly keyKind: FileKeyKind;
  /**
   * For keyKind 'default': the key the next added row gets; above every key in the file, so
   * that a key is never reused unasked. 0 for the other key kinds.
   */
  readonly nextDefaultKey: number;
  /** All rows, live and dead, in all segments. */
  readonly rows: number;
  /** Rows not marked dead. */
  readonly liveRows: number;
  /** How many segments follow. */
  readonly segmentCount: number;
  readonly options: readonly FileOption[];
}

/**
 * Bytes given to the encoder: one view, or views to be concatenated in order (so that a store
 * whose memory layout differs, panels or padded rows, can hand over row-major bytes in bounded
 * pieces it makes on the way). Views of a SharedArrayBuffer are fine. Typed arrays other than
 * Uint8Array count as their bytes in the host's byte order, which is little-endian on every JS
 * host in use (and WebAssembly memory always is).
 */
export type BytesInput = ArrayBufferView | Iterable<ArrayBufferView> | AsyncIterable<ArrayBufferView>;

/**
 * One segment of an index as the store holds it: `rows` consecutive rows in insertion order.
 * The arrays must not change until the encoder is done with this segment (the next segment
 * is requested): a store snapshots its dead bitmap before it hands it over.
 */
export interface IndexSegmentImage {
  readonly rows: number;
  /**
   * The rows' stored values, row-major, rows x dim x width bytes (f32: 4-byte floats, f16:
   * binary16, i8: int8), little-endian.
   */
  readonly values: BytesInput;
  /** dtype 'i8' only: one finite scale per row. */
  readonly scales?: Float32Array;
  /**
   * Dead rows: bit (r & 7) of byte (r >> 3) set = row r of the segment is dead. At least
   * ceil(rows / 8) bytes; bits and bytes past `rows` are ignored (a Uint32Array of words viewed
   * as bytes works).
   */
  readonly dead: Uint8Array;
  /**
   * Every row's key, dead rows too: numbers (non-negative safe integers; for keyKind 'default'
   * each below header.nextDefaultKey) or strings (well-formed Unicode), as header.keyKind says.
   */
  readonly keys: ArrayLike<number> | readonly string[];
}

/** What the encoder writes as an index file (see encodeIndex). */
export interface IndexImage {
  readonly header: IndexHeader;
  /** header.segmentCount segments, in row order; their rows add up to header.rows. */
  readonly segments: Iterable<IndexSegmentImage> | AsyncIterable<IndexSegmentImage>;
}

/** A segment as the decoder announces it (IndexSink.beginSegment). */
export interface SegmentInfo {
  /** 0, 1, 2, ... in file order. */
  readonly index: number;
  /** Row number (across the index) of the segment's first row. */
  readonly firstRow: number;
  readonly rows: number;
}

/** Anything a sink method may return: nothing, or a promise the decoder awaits. */
export type SinkResult = void | Promise<void>;

/**
 * Where the decoder delivers an index file (see decodeIndex): the store implements it to
 * stream a file straight into new segments. Calls come in file order, awaited one by one:
 *
 *   begin, then per segment: beginSegment, values..., scales... (i8), dead..., keys...,
 *   endSegment; then commit; or abort at any point instead of what remains.
 *
 * The data arrives BEFORE its checksums are verified: a sink stages it where nothing else
 * sees it, and makes it visible only in `commit`, which comes once the whole file verified.
 * On `abort` (a bad file, a failing source, or an error thrown by the sink itself) it releases
 * everything staged, so that a bad file changes nothing. A sink may throw, e.g. INVALID_FILE
 * for a check of its own (a duplicate live key, an unknown option); the decoder then aborts.
 *
 * Typed arrays passed in are views of the decoder's one buffer, valid only until the call
 * returns (or its promise settles): copy what you keep. Pieces come in order and cover their
 * segment's rows exactly once.
 */
export interface IndexSink {
  /** The verified header (its checksum passed). Throw to refuse it. */
  begin(header: IndexHeader): SinkResult;
  beginSegment(segment: SegmentInfo): SinkResult;
  /**
   * `rows` whole rows of stored values (row-major, little-endian, rows x dim x width bytes),
   * the first being row `firstRow` of the segment.
   */
  values(bytes: Uint8Array, firstRow: number, rows: number): SinkResult;
  /** dtype 'i8': the scales of rows firstRow .. firstRow + scales.length - 1 of the segment. */
  scales(scales: Float32Array, firstRow: number): SinkResult;
  /**
   * Dead-row bits of the segment from row `firstRow` (a multiple of 8): bit (r & 7) of
   * bitmap[r >> 3] is row firstRow + r; bits past the segment's rows are 0.
   */
  dead(bitmap: Uint8Array, firstRow: number): SinkResult;
  /**
   * Keys of rows firstRow .. firstRow + keys.length - 1 of the segment: a Float64Array of safe
   * integers for keyKind 'default' and 'number' (a view: copy it), a fresh string[] for
   * 'string' (yours to keep).
   */
  keys(keys: Float64Array | string[], firstRow: number): SinkResult;
  endSegment(): SinkResult;
  /** The whole file verified: make it visible. */
  commit(): SinkResult;
  /** Release everything staged; `error` says why. May come before `begin`. Must not throw. */
  abort(error: unknown): SinkResult;
}

/** A graph file's header. */
export interface GraphHeader {
  readonly nodeCount: number;
  /** Stored directed edges (< 2^32). */
  readonly edgeCount: number;
  readonly options: readonly FileOption[];
}

/**
 * What the encoder writes as a graph file (see encodeGraph): the stored edges as CSR by target,
 * the edges into node v at positions offsets[v] .. offsets[v + 1] - 1, in the graph's stored
 * order (the order activation is summed in, so part of the answer).
 */
export interface GraphImage {
  readonly header: GraphHeader;
  /** nodeCount + 1 entries: 0, non-decreasing, edgeCount last. */
  readonly offsets: Uint32Array;
  /** edgeCount source nodes, each < nodeCount. */
  readonly sources: Uint32Array;
  /** edgeCount finite weights. */
  readonly weights: Float32Array;
}

/**
 * Where the decoder delivers a graph file (see decodeGraph). Same contract as IndexSink: calls
 * in order (begin, offsets..., sources..., weights..., commit, or abort instead), data staged
 * until `commit`, typed arrays valid only during the call. `first` is the position of the
 * piece's first entry in its array.
 */
export interface GraphSink {
  begin(header: GraphHeader): SinkResult;
  offsets(piece: Uint32Array, first: number): SinkResult;
  sources(piece: Uint32Array, first: number): SinkResult;
  weights(piece: Float32Array, first: number): SinkResult;
  commit(): SinkResult;
  abort(error: unknown): SinkResult;
}

/**
 * Where a file is read from: a path (Node only), bytes, a Blob (a File from OPFS or an input,
 * IndexedDB, fetch) or a stream. A Blob or stream is read in pieces, never whole.
 */
export type FileSource = string | Uint8Array | ArrayBuffer | BlobSource | StreamSource;

/**
 * A Blob (or File) as a load reads it: its size and slices of its bytes. Declared here so that the
 * typings need no DOM library.
 */
export interface BlobSource {
  /** Bytes in all. */
  readonly size: number;
  /** Bytes [start, end) as a Blob of their own. */
  slice(start?: number, end?: number): BlobSlice;
}

/** A slice of a BlobSource. */
export interface BlobSlice {
  /** The slice's bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A ReadableStream of bytes as a load reads it (its default reader). */
export interface StreamSource {
  /** The stream's reader (a load reads it to the end, or cancels it on a bad file). */
  getReader(): StreamSourceReader;
}

/** The reader of a StreamSource. */
export interface StreamSourceReader {
  /** The next chunk, or done. */
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  /** Stop the stream (a bad file). */
  cancel(reason?: unknown): Promise<void>;
  /** Let the stream go. */
  releaseLock(): void;
}

/** Tuning of decodeIndex / decodeGraph / inspectFile. */
export interface DecodeOptions {
  /**
   * The one buffer's size in bytes (default 4 MiB, at least 64 KiB): pieces of a path, Blob or
   * stream source are read into it. It grows only to hold one row or one key that is larger.
   */
  readonly bufferBytes?: number;
  /** Called for each section once it verified (inspect lists them). */
  readonly onSection?: (section: SectionReport) => void;
}

/** A verified section (DecodeOptions.onSection). */
export interface SectionReport {
  /** INDEX_HEADER, SEGMENT, VALUES, ... (docs/FORMAT.md). */
  readonly name: string;
  /** Byte offset of its frame in the file. */
  readonly offset: number;
  /** Body bytes (without frame, padding and checksum). */
  readonly bodyBytes: number;
  /** Frame, body, padding and checksum. */
  readonly totalBytes: number;
  /** For index segment sections: which segment. */
  readonly segment?: number;
}

/** Tuning of encodeIndex / encodeGraph. */
export interface EncodeOptions {
  /** Largest piece yielded, in bytes (default 4 MiB, at least 64 KiB). */
  readonly pieceBytes?: number;
}
