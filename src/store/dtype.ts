import type { IndexDtype } from './types.js';

// The stored precisions' layouts (asm/layout.ts): rows in panels of 4, made of 16-byte chunks.

/** Values per 16-byte chunk of a dtype. */
const CHUNK_VALUES: Record<IndexDtype, number> = { f32: 4, f16: 8, i8: 16 };
/** Bytes per value. */
const VALUE_BYTES: Record<IndexDtype, number> = { f32: 4, f16: 2, i8: 1 };

/** Values per stored row: dim rounded up to a whole chunk. */
export function strideOf(dtype: IndexDtype, dim: number): number {
  const c = CHUNK_VALUES[dtype];
  return Math.ceil(dim / c) * c;
}

/** Bytes of stored rows for `rows` rows (whole panels of 4). */
export function rowBytesOf(dtype: IndexDtype, dim: number, rows: number): number {
  return Math.ceil(rows / 4) * 4 * strideOf(dtype, dim) * VALUE_BYTES[dtype];
}

/** Bytes of one stored row (what a row costs; panels round the last one up). */
export function bytesPerRow(dtype: IndexDtype, dim: number): number {
  return strideOf(dtype, dim) * VALUE_BYTES[dtype] + (dtype === 'i8' ? I8_META_BYTES_PER_ROW : 0);
}

/** i8 rows: [rowScale][rowSq] per row (asm/score-i8.ts), 32 bytes per panel. */
export const I8_META_BYTES_PER_ROW = 8;

/**
 * The f32 index (into the memory's Float32Array) of row `row`'s scale in i8 metadata at byte
 * `meta`: a panel holds [rowScale x4][rowSq x4], so the row's rowSq is 4 floats further.
 */
export function i8ScaleIndex(meta: number, row: number): number {
  return ((meta + (row >> 2) * 32) >>> 2) + (row & 3);
}
/** Prefilter copy: [s][|e|][|r^|][|r|^2] per row (asm/prefilter.ts), 64 bytes per panel. */
export const PREFILTER_META_BYTES_PER_ROW = 16;

/** Values per row of the int8 prefilter copy (dim rounded up to 16). */
export function prefilterStrideOf(dim: number): number {
  return Math.ceil(dim / 16) * 16;
}

/**
 * Whether a segment of this capacity keeps an int8 prefilter copy: f32 and f16 rows (i8 rows are
 * scanned as they are), segments large enough for the smaller read to matter, and rows long
 * enough that int8 rows are much smaller than the stored ones. See docs/PERFORMANCE.md ("v0.9").
 */
export function keepsPrefilter(dtype: IndexDtype, dim: number, capacity: number): boolean {
  return dtype !== 'i8' && dim >= PREFILTER_MIN_DIM && capacity >= PREFILTER_MIN_ROWS;
}

export const PREFILTER_MIN_ROWS = 4096;
export const PREFILTER_MIN_DIM = 32;

/** binary16 bits -> number (rows read back by get(), tests). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? Number.NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
