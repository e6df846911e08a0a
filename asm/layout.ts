// Memory layouts shared by every kernel (the TypeScript side allocates, the kernels only read
// and write). `stride` is always the row length rounded up to a multiple of 4 (the f32x4 width);
// padding floats are zero, and zero padding changes no dot product and no norm.
//
// * Packed rows: `dim` floats per row, no padding (a one-shot call's input as the caller gave it).
//   Kernels over packed rows handle the last dim % 4 floats of a row with scalar code.
// * Padded rows: row r at base + r * stride * 4 (queries). Whole f32x4 chunks only.
// * Panels (index corpora): rows grouped by 4. Panel p holds rows 4p .. 4p+3 in
//   stride * 16 bytes, and 16-byte chunk c of row 4p+i sits at panel + (c * 4 + i) * 16: the four
//   rows' chunks interleave, so scanning 4 rows at once reads ONE sequential stream. (Measured on
//   this machine's EPYC: one stream reads at ~30 GB/s, four streams 3 KiB apart at ~16 GB/s; the
//   hardware prefetcher follows one stream well and four poorly.) Unused row slots of the last
//   panel are kept zero.
//
// Determinism: every kernel computes the dot product of one (query, corpus row) pair with ONE
// f32x4 accumulator over the chunks in ascending order, then reduces the lanes as
// (l0 + l1) + (l2 + l3). The blocked kernels (several rows or queries at once) keep exactly
// that order per pair, so a row scores bit-identically in `scores`, `search` and `searchBatch`,
// at any position, and exact ties between identical rows are real.

/** Sum of the four lanes, always in the same order: (l0 + l1) + (l2 + l3). */
@inline
export function horizontalSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Clamp a cosine to [-1, 1] (rounding can step just outside). */
@inline
export function clampUnit(x: f32): f32 {
  return min<f32>(max<f32>(x, -1.0), 1.0);
}

/** Bytes of one panel (4 rows) for a row stride. */
@inline
export function panelBytes(stride: i32): usize {
  return <usize>stride << 4;
}

/** Address of the first chunk of row `row` in a panel region; its chunks are 64 bytes apart. */
@inline
export function panelRow(base: usize, row: i32, stride: i32): usize {
  return base + <usize>(row >> 2) * panelBytes(stride) + (<usize>(row & 3) << 4);
}

// ---------------------------------------------------------------------------------------------
// Stored precisions (src/store/dtype.ts mirrors these). Every layout is made of 16-byte chunks in
// panels of 4 rows, chunk c of row 4p+i at panel + c * 64 + i * 16, so every scan reads one
// sequential stream:
//   f32: 4 floats per chunk, `stride` = dim rounded up to 4 (floats per row).
//   f16: 8 IEEE binary16 values per chunk, `stride` = dim rounded up to 8 (halves per row).
//   i8:  16 int8 values per chunk, `stride` = dim rounded up to 16 (bytes per row), plus per-row
//        metadata (see score-i8.ts).
// Padding values are zero in every layout, and zero padding changes no dot product, norm or
// distance.

/** Metric codes (src/store/metric.ts): kernels return internal scores, higher is better. */
export const COSINE: i32 = 0;
export const DOT: i32 = 1;
/** l2: the internal score is minus the squared distance, so every heap keeps the highest. */
export const L2: i32 = 2;

/** Bytes of one panel (4 rows) of `chunks` 16-byte chunks per row. */
@inline
export function panelBytesOf(chunks: i32): usize {
  return <usize>chunks << 6;
}

/** Address of the panel holding row `row` of a region whose rows have `chunks` chunks. */
@inline
export function panelOf(base: usize, row: i32, chunks: i32): usize {
  return base + <usize>(row >> 2) * panelBytesOf(chunks);
}

/** 2^112: an IEEE binary16 value's bits moved into an f32 (f16Upper, f16Lower) read 2^-112 times its value. */
export const F16_SCALE: f32 = 5.192296858534828e33;

/**
 * The 8 binary16 values of a chunk as f32 values 2^-112 times their true value: the sign bit
 * stays at the top, the exponent and mantissa bits move into f32 position (bits 27..13), the
 * f32 exponent's top three bits are 0. Exact for zero and every normal binary16 value (the
 * stored rows hold no subnormals: encodeF16 flushes them), and the results are normal f32s, so
 * no subnormal arithmetic follows. Worked in 16-bit lanes: an f32's upper half is
 * `(h >> 3) & 0x8fff` (arithmetic shift, so the sign lands at bit 15 and its copies are
 * cleared), its lower half `h << 13`; one interleave makes values 0..3 (widenF16Low) and 4..7
 * (widenF16High). 5 vector operations a chunk, against 7 for sign-extending each i32 lane and
 * then shifting and masking it (docs/PERFORMANCE.md, "The f16 scan").
 */
@inline
export function f16Upper(v: v128): v128 {
  return v128.and(i16x8.shr_s(v, 3), i16x8.splat(<i16>0x8fff));
}

/** The lower halves of the widened f32 values (see f16Upper). */
@inline
export function f16Lower(v: v128): v128 {
  return i16x8.shl(v, 13);
}

/** Values 0..3 of a chunk, widened (2^-112 times their value), from f16Lower and f16Upper. */
@inline
export function widenF16Low(lower: v128, upper: v128): v128 {
  return v128.shuffle<i16>(lower, upper, 0, 8, 1, 9, 2, 10, 3, 11);
}

/** Values 4..7 of a chunk, widened (2^-112 times their value), from f16Lower and f16Upper. */
@inline
export function widenF16High(lower: v128, upper: v128): v128 {
  return v128.shuffle<i16>(lower, upper, 4, 12, 5, 13, 6, 14, 7, 15);
}

/** The 4-row nibble of panel p (0..7 within its 32-row word) of a row bitmap word. */
@inline
export function panelBits(word: u32, p: i32): u32 {
  return (word >> (<u32>(p & 7) << 2)) & 15;
}

/**
 * Whether panel p of a block is left out by the block's bitmap `words` (rows of the block from a
 * multiple of 32; 0: no bitmap, nothing is left out).
 */
@inline
export function panelSkipped(words: usize, p: i32): bool {
  return words != 0 && panelBits(load<u32>(words + (<usize>(p >> 3) << 2)), p) == 0;
}

/** Whether any of the bitmap words covering rows [r0, r0 + count) (r0 a multiple of 32) is set. */
@inline
export function anyBits(mask: usize, r0: i32, count: i32): bool {
  const first = <usize>(r0 >> 5) << 2;
  const last = <usize>((r0 + count - 1) >> 5) << 2;
  for (let w = first; w <= last; w += 4) if (load<u32>(mask + w) != 0) return true;
  return false;
}
