// Layout conversion, finiteness check and row normalisation (x <- x / ||x||; zero rows stay zero).
//
// Normalisation fast path: f32 sum of squares, accepted when it lies in [1e-20, 1e30] (no square
// overflowed, and squares that underflowed are negligible against it), then one f32 multiply
// per element. Otherwise the squared norm is accumulated in f64: the square of any finite f32
// (up to 1.2e77, down to 2e-90) is a normal f64, so rows of magnitude 1e30 or 1e-30 still
// normalise correctly where an f32 sum of squares gives Infinity or 0.

import { horizontalSum, panelRow } from './layout';

/** Euclidean norm, in f64, of `chunks` f32x4 chunks at `ptr`, `step` bytes apart. */
export function norm64(ptr: usize, chunks: i32, step: usize): f64 {
  let acc0 = f64x2.splat(0.0);
  let acc1 = f64x2.splat(0.0);
  for (let c = 0; c < chunks; c++) {
    const v = v128.load(ptr + <usize>c * step);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(acc0, acc1);
  return Math.sqrt(f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1));
}

/** Normalise one row of `chunks` chunks, `step` bytes apart. */
function normalizeRow(p: usize, chunks: i32, step: usize): void {
  let acc = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const v = v128.load(p + <usize>c * step);
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  const sumSquares = horizontalSum(acc);
  if (sumSquares >= <f32>1e-20 && sumSquares <= <f32>1e30) {
    const f = f32x4.splat(<f32>(1.0 / Math.sqrt(<f64>sumSquares)));
    for (let c = 0; c < chunks; c++) {
      const q = p + <usize>c * step;
      v128.store(q, f32x4.mul(v128.load(q), f));
    }
    return;
  }
  const norm = norm64(p, chunks, step);
  if (norm == 0.0) return;
  const f = f64x2.splat(1.0 / norm);
  for (let c = 0; c < chunks; c++) {
    const q = p + <usize>c * step;
    const v = v128.load(q);
    const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), f));
    const hi = f32x4.demote_f64x2_zero(
      f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), f));
    v128.store(q, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  }
}

/** Normalise `n` padded rows (queries) in place. */
export function normalizeRows(rows: usize, n: i32, stride: i32): void {
  const rowBytes = <usize>stride << 2;
  for (let r = 0; r < n; r++) normalizeRow(rows + <usize>r * rowBytes, stride >> 2, 16);
}

/** Normalise rows first .. first+n-1 of a panel region in place. */
export function normalizePanelRows(panels: usize, first: i32, n: i32, stride: i32): void {
  for (let r = first; r < first + n; r++) normalizeRow(panelRow(panels, r, stride), stride >> 2, 64);
}

/**
 * Expand `n` packed rows at `base` (`dim` floats each) to padded rows (stride >= dim, padding
 * zeroed), in place. Rows move back to front, so none is overwritten before it has moved.
 */
export function padRows(base: usize, n: i32, dim: i32, stride: i32): void {
  if (stride == dim) return;
  const srcBytes = <usize>dim << 2, dstBytes = <usize>stride << 2;
  for (let r = n - 1; r >= 0; r--) {
    const dst = base + <usize>r * dstBytes;
    memory.copy(dst, base + <usize>r * srcBytes, srcBytes);
    memory.fill(dst + srcBytes, 0, dstBytes - srcBytes);
  }
}

/**
 * Write `n` packed rows at `src` into a panel region as rows first .. first+n-1, padding each
 * row with zeros, then zero the unused row slots of the last panel touched.
 */
export function toPanels(src: usize, n: i32, dim: i32, panels: usize, first: i32, stride: i32): void {
  const full = dim >> 2;
  const chunks = stride >> 2;
  for (let r = 0; r < n; r++) {
    const from = src + <usize>r * (<usize>dim << 2);
    const to = panelRow(panels, first + r, stride);
    for (let c = 0; c < full; c++) v128.store(to + (<usize>c << 6), v128.load(from + (<usize>c << 4)));
    if (full < chunks) {
      let tail = f32x4.splat(0);
      const t = from + (<usize>full << 4);
      const left = dim & 3;
      tail = f32x4.replace_lane(tail, 0, load<f32>(t));
      if (left > 1) tail = f32x4.replace_lane(tail, 1, load<f32>(t, 4));
      if (left > 2) tail = f32x4.replace_lane(tail, 2, load<f32>(t, 8));
      v128.store(to + (<usize>full << 6), tail);
    }
  }
  const end = first + n;
  for (let r = end; (r & 3) != 0; r++) {
    const to = panelRow(panels, r, stride);
    for (let c = 0; c < chunks; c++) v128.store(to + (<usize>c << 6), f32x4.splat(0));
  }
}

/** Offset (in floats) of the first NaN or +-Infinity among `count` floats at `ptr`, or -1. */
export function findNonFinite(ptr: usize, count: i32): i32 {
  // x - x is 0 for every finite x and NaN for NaN and +-Infinity.
  const chunks = count >> 2;
  let bad = i32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const v = v128.load(ptr + (<usize>c << 4));
    const d = f32x4.sub(v, v);
    bad = v128.or(bad, f32x4.ne(d, d));
  }
  let start = 0;
  if (!v128.any_true(bad)) start = chunks << 2;
  for (let i = start; i < count; i++) {
    const x = load<f32>(ptr + (<usize>i << 2));
    if (x - x != x - x) return i;
  }
  return -1;
}
