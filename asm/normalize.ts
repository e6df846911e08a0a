// Layout conversion, finiteness check and row normalisation (x <- x / ||x||; zero rows stay zero).
//
// Every row is first scaled by a power of two so that its largest magnitude lies in [0.5, 1)
// (scalePow2). That is exact (only the exponent changes) and changes no cosine, and afterwards an
// f32 sum of squares can neither overflow nor lose the row to underflow: it lies in [0.25, dim).
// So rows of magnitude 1e30 or 1e-30 need no slower path, on the CPU or on the GPU (which has no
// f64).

import { horizontalSum, panelRow } from './layout';

/** 2^s with m * 2^s in [0.5, 1), for a finite m > 0 (subnormal m: 2^125). */
@inline
function pow2ScaleFor(m: f32): f32 {
  let e = <i32>((reinterpret<u32>(m) >> 23) & 0xff);
  if (e == 0) e = 1;
  const s = 126 - e; // -128 .. 125
  return reinterpret<f32>(s >= -126 ? <u32>(s + 127) << 23 : <u32>1 << <u32>(s + 149));
}

/** Scale one row of `chunks` chunks (`step` bytes apart) by the power of two of pow2ScaleFor. */
@inline
function scalePow2(p: usize, chunks: i32, step: usize): void {
  let maxAbs = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) maxAbs = f32x4.max(maxAbs, f32x4.abs(v128.load(p + <usize>c * step)));
  const m = max<f32>(max<f32>(f32x4.extract_lane(maxAbs, 0), f32x4.extract_lane(maxAbs, 1)),
                     max<f32>(f32x4.extract_lane(maxAbs, 2), f32x4.extract_lane(maxAbs, 3)));
  if (m == 0) return;
  const f = f32x4.splat(pow2ScaleFor(m));
  for (let c = 0; c < chunks; c++) {
    const q = p + <usize>c * step;
    v128.store(q, f32x4.mul(v128.load(q), f));
  }
}

/** Normalise one row (already power-of-two scaled) of `chunks` chunks, `step` bytes apart. */
function normalizeRow(p: usize, chunks: i32, step: usize): void {
  let acc = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const v = v128.load(p + <usize>c * step);
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  const sumSquares = horizontalSum(acc);
  if (sumSquares == 0) return;
  const f = f32x4.splat(<f32>(1.0 / Math.sqrt(<f64>sumSquares)));
  for (let c = 0; c < chunks; c++) {
    const q = p + <usize>c * step;
    v128.store(q, f32x4.mul(v128.load(q), f));
  }
}

/** Normalise `n` padded rows (queries) in place. */
export function normalizeRows(rows: usize, n: i32, stride: i32): void {
  const rowBytes = <usize>stride << 2;
  for (let r = 0; r < n; r++) {
    const p = rows + <usize>r * rowBytes;
    scalePow2(p, stride >> 2, 16);
    normalizeRow(p, stride >> 2, 16);
  }
}

/** Normalise rows first .. first+n-1 of a panel region (written by toPanels) in place. */
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
 * row with zeros and scaling it by a power of two (scalePow2), then zero the unused row slots
 * of the last panel touched.
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
    scalePow2(to, chunks, 64);
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
