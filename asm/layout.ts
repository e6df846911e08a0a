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
