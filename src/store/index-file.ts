import { strideFor } from '../cpu/cpu-memory.js';
import { HybridError } from '../errors.js';
import { i8ScaleIndex, prefilterStrideOf, strideOf } from './dtype.js';
import type { IndexHeader, IndexImage, IndexSegmentImage, IndexSink, SegmentInfo } from './format/types.js';
import { MAX_SEGMENT_ROWS, type IndexKeys } from './keys/index-keys.js';
import type { Segment } from './segment.js';
import { METRIC_CODE, type IndexDtype, type KeyKind, type Metric } from './types.js';

// An index as a file (docs/FORMAT.md) and back: the store's segments become the format's logical
// image (rows row-major as stored, i8 scales, a dead bitmap, keys), and a file's pieces are written
// straight into new segments. What is derived from the stored rows (the int8 prefilter copy, the i8
// rows' l2 metadata) is rebuilt on load with the same kernels, so a loaded index answers every
// call with the same bits as the one saved.

/** Bytes of row-major values per piece handed to the encoder (each a fresh copy: see values()). */
const PIECE_BYTES = 4 << 20;

/** What a file is made of on the index's side. */
export interface IndexFileState {
  readonly dim: number;
  readonly metric: Metric;
  readonly dtype: IndexDtype;
  readonly keyKind: KeyKind;
  readonly nextKey: number;
  readonly segments: readonly Segment[];
}

const WIDTH: Record<IndexDtype, number> = { f32: 4, f16: 2, i8: 1 };

/** Chunks of 16 bytes a row, per dtype. */
function chunksOf(dtype: IndexDtype, dim: number): number {
  return (strideOf(dtype, dim) * WIDTH[dtype]) / 16;
}

/**
 * The index's image for the encoder. The caller keeps the index unchanged until the encoder is
 * done (a save runs as a read: writes wait for it). Values are made a piece at a time: panels
 * turned row-major by a kernel in the segment's memory and copied out, so a piece stays valid
 * whatever runs meanwhile (the writer keeps one piece in flight while the next is made).
 */
export function indexImage(state: IndexFileState): IndexImage {
  const live = state.segments.filter((s) => s.rows > 0);
  let rows = 0;
  let liveRows = 0;
  for (const s of live) {
    rows += s.rows;
    liveRows += s.liveRows;
  }
  const header: IndexHeader = {
    dim: state.dim, metric: state.metric, dtype: state.dtype, keyKind: state.keyKind,
    nextDefaultKey: state.keyKind === 'default' ? state.nextKey : 0,
    rows, liveRows, segmentCount: live.length, options: [],
  };
  const segments: IndexSegmentImage[] = live.map((segment) => segmentImage(state, segment));
  return { header, segments };
}

function segmentImage(state: IndexFileState, segment: Segment): IndexSegmentImage {
  const { dim, dtype } = state;
  const rows = segment.rows;
  const rowBytes = dim * WIDTH[dtype];
  const chunks = chunksOf(dtype, dim);
  const perPiece = Math.max(1, Math.floor(PIECE_BYTES / rowBytes));
  const region = segment.memoryRegion;
  function* values(): Generator<Uint8Array> {
    const staging = region.arena.alloc(Math.min(rows, perPiece) * rowBytes, 'a save');
    try {
      for (let first = 0; first < rows; first += perPiece) {
        const n = Math.min(perPiece, rows - first);
        region.kernels.panelsToPacked(segment.data, first, n, chunks, rowBytes, staging);
        yield new Uint8Array(region.memory.buffer, staging, n * rowBytes).slice();
      }
    } finally {
      region.arena.free(staging);
    }
  }
  // Dead rows: the complement of the live bitmap, within the rows written.
  const liveBits = segment.liveBits();
  const deadWords = new Uint32Array(Math.ceil(rows / 32));
  for (let w = 0; w < deadWords.length; w++) deadWords[w] = ~liveBits[w]! >>> 0;
  const dead = new Uint8Array(deadWords.buffer, 0, Math.ceil(rows / 8));
  const keys = segment.keys.kind === 'number'
    ? segment.keys.values.subarray(0, rows)
    : Array.from({ length: rows }, (_, r) => (segment.keys as { keyAt(row: number): string }).keyAt(r));
  let scales: Float32Array | undefined;
  if (dtype === 'i8') {
    scales = new Float32Array(rows);
    const f32 = region.arena.f32;
    for (let r = 0; r < rows; r++) scales[r] = f32[i8ScaleIndex(segment.meta, r)]!;
  }
  return { rows, values: values(), dead, keys, ...(scales ? { scales } : {}) };
}

/** What loading needs from the (new, not yet visible) index. */
export interface LoadTarget {
  /** Set the index's shape from the file's header (checked there); returns its keys. */
  begin(header: IndexHeader): IndexKeys;
  /** A new empty segment for `rows` rows, given a slot in the keys. */
  openSegment(rows: number): Promise<Segment>;
  /** A loaded segment joins the index (in file order). */
  adopt(segment: Segment): void;
  /** The file verified: the index may be seen. */
  commit(nextKey: number): void;
  /** Something failed: free everything loaded. */
  abort(): void;
}

/**
 * An IndexSink that writes a file's segments into new segments of a new index: values converted
 * to panels (checked: f32 finite, f16 finite with subnormals flushed as the store keeps them), the
 * dead bitmap turned into live bits, keys into the key table (a live key given twice is
 * INVALID_FILE), then per segment the derived data. Nothing is visible before commit.
 */
export class IndexLoader implements IndexSink {
  private readonly target: LoadTarget;
  private header: IndexHeader | undefined;
  private keyIndex: IndexKeys | undefined;
  private segment: Segment | undefined;
  private info: SegmentInfo | undefined;
  private deadBits: Uint8Array | undefined;
  private slot = 0;

  constructor(target: LoadTarget) {
    this.target = target;
  }

  begin(header: IndexHeader): void {
    for (const option of header.options) {
      if (!option.ignorable) throw invalidFile(`unknown option '${option.name}' (this version knows none)`, 'options');
    }
    this.header = header;
    this.keyIndex = this.target.begin(header);
    this.keyIndex.reserve(header.liveRows, header.nextDefaultKey);
  }

  async beginSegment(info: SegmentInfo): Promise<void> {
    if (info.rows > MAX_SEGMENT_ROWS) throw invalidFile(`segment ${info.index} has ${info.rows} rows (at most ${MAX_SEGMENT_ROWS})`, 'rows');
    this.info = info;
    this.segment = await this.target.openSegment(info.rows);
    this.slot = this.keyIndex!.segments.indexOf(this.segment);
    this.deadBits = new Uint8Array(Math.ceil(info.rows / 8));
  }

  values(bytes: Uint8Array, firstRow: number, rows: number): void {
    const { dim, dtype } = this.header!;
    const segment = this.segment!;
    const { arena, kernels } = segment.memoryRegion;
    const rowBytes = dim * WIDTH[dtype];
    const staging = arena.alloc(bytes.length + 16, 'a load');
    try {
      new Uint8Array(arena.memory.buffer, staging, bytes.length).set(bytes);
      if (dtype === 'f32') {
        const bad = kernels.findNonFinite(staging, rows * dim);
        if (bad >= 0) throw invalidFile(`row ${this.info!.firstRow + firstRow + Math.floor(bad / dim)} holds a value that is not finite`, 'values');
      } else if (dtype === 'f16') {
        const bad = kernels.checkF16(staging, rows * dim);
        if (bad >= 0) throw invalidFile(`row ${this.info!.firstRow + firstRow + Math.floor(bad / dim)} holds an f16 infinity or NaN`, 'values');
      }
      kernels.packedToPanels(staging, rows, rowBytes, segment.data, firstRow, chunksOf(dtype, dim));
    } finally {
      arena.free(staging);
    }
  }

  scales(scales: Float32Array, firstRow: number): void {
    const segment = this.segment!;
    const f32 = segment.memoryRegion.arena.f32;
    for (let i = 0; i < scales.length; i++) {
      const r = firstRow + i;
      const at = i8ScaleIndex(segment.meta, r);
      f32[at] = scales[i]!;
      f32[at + 4] = 0;
    }
  }

  dead(bitmap: Uint8Array, firstRow: number): void {
    this.deadBits!.set(bitmap, firstRow / 8);
  }

  keys(keys: Float64Array | string[], firstRow: number): void {
    const segment = this.segment!;
    const index = this.keyIndex!;
    const dead = this.deadBits!;
    for (let i = 0; i < keys.length; i++) {
      const row = firstRow + i;
      const key = keys[i]!;
      if (segment.keys.kind === 'string') segment.keys.set(row, key as string);
      else segment.keys.set(row, key as number);
      if ((dead[row >>> 3]! >>> (row & 7)) & 1) continue;
      if (index.find(key) >= 0) throw invalidFile(`key ${JSON.stringify(key)} is held by two live rows`, 'keys');
      index.insert(key, this.slot * MAX_SEGMENT_ROWS + row);
    }
  }

  endSegment(): void {
    const { dim, dtype, metric } = this.header!;
    const segment = this.segment!;
    const rows = this.info!.rows;
    const { arena, kernels } = segment.memoryRegion;
    const dead = this.deadBits!;
    const bits = segment.liveBits();
    let deadRows = 0;
    for (let r = 0; r < rows; r++) {
      if ((dead[r >>> 3]! >>> (r & 7)) & 1) deadRows++;
      else bits[r >>> 5]! |= 1 << (r & 31);
    }
    segment.deadRows = deadRows;
    if (dtype === 'i8') kernels.i8RowSquares(METRIC_CODE[metric], segment.data, segment.meta, 0, rows, strideOf('i8', dim));
    if (segment.prefilter) {
      const stride4 = strideFor(dim);
      const pstride = prefilterStrideOf(dim);
      if (dtype === 'f32') {
        kernels.encodePrefilter(segment.data, 0, rows, stride4, segment.prefilter, segment.prefilterMeta, 0, pstride);
      } else {
        // f16 rows widened a step at a time (as segment-writer does), then quantised.
        const step = Math.max(4, Math.floor((1 << 20) / (stride4 * 4)) & ~3);
        const panels = arena.alloc(Math.ceil((step + 3) / 4) * 4 * stride4 * 4, 'a load');
        try {
          for (let first = 0; first < rows; first += step) {
            const n = Math.min(step, rows - first);
            kernels.widenF16Panels(segment.data, first, n, strideOf('f16', dim), panels, 0, stride4);
            kernels.encodePrefilter(panels, 0, n, stride4, segment.prefilter, segment.prefilterMeta, first, pstride);
          }
        } finally {
          arena.free(panels);
        }
      }
    }
    segment.rows = rows;
    this.target.adopt(segment);
    this.segment = undefined;
  }

  commit(): void {
    this.target.commit(this.header!.nextDefaultKey);
  }

  abort(): void {
    this.target.abort();
  }
}

function invalidFile(message: string, argument: string): HybridError {
  return new HybridError('INVALID_FILE', `not a valid index file: ${message}`, argument);
}
