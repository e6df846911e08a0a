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
  // Two accumulators: the f32x4.add latency, not the loads, bounds a single chain.
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let c = 0;
  for (; c + 2 <= chunks; c += 2) {
    const v0 = v128.load(p + <usize>c * step), v1 = v128.load(p + <usize>(c + 1) * step);
    a0 = f32x4.add(a0, f32x4.mul(v0, v0));
    a1 = f32x4.add(a1, f32x4.mul(v1, v1));
  }
  if (c < chunks) {
    const v = v128.load(p + <usize>c * step);
    a0 = f32x4.add(a0, f32x4.mul(v, v));
  }
  const sumSquares = horizontalSum(f32x4.add(a0, a1));
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

/** Largest magnitude of a packed row; its last partial chunk (zero padded) goes to `tail`. */
@inline
function rowScale(from: usize, full: i32, left: i32, tailOut: usize): f32 {
  let tail = f32x4.splat(0);
  if (left > 0) {
    const t = from + (<usize>full << 4);
    tail = f32x4.replace_lane(tail, 0, load<f32>(t));
    if (left > 1) tail = f32x4.replace_lane(tail, 1, load<f32>(t, 4));
    if (left > 2) tail = f32x4.replace_lane(tail, 2, load<f32>(t, 8));
  }
  // Four independent maxima, so the loop is not one long chain of f32x4.max latencies.
  let m0 = f32x4.abs(tail), m1 = f32x4.splat(0), m2 = f32x4.splat(0), m3 = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= full; c += 4) {
    const p = from + (<usize>c << 4);
    m0 = f32x4.max(m0, f32x4.abs(v128.load(p)));
    m1 = f32x4.max(m1, f32x4.abs(v128.load(p, 16)));
    m2 = f32x4.max(m2, f32x4.abs(v128.load(p, 32)));
    m3 = f32x4.max(m3, f32x4.abs(v128.load(p, 48)));
  }
  for (; c < full; c++) m0 = f32x4.max(m0, f32x4.abs(v128.load(from + (<usize>c << 4))));
  const maxAbs = f32x4.max(f32x4.max(m0, m1), f32x4.max(m2, m3));
  const m = max<f32>(max<f32>(f32x4.extract_lane(maxAbs, 0), f32x4.extract_lane(maxAbs, 1)),
                     max<f32>(f32x4.extract_lane(maxAbs, 2), f32x4.extract_lane(maxAbs, 3)));
  // NaN and Infinity propagate through abs and max (WASM's f32x4.max returns NaN for NaN).
  if (m - m != 0) nonFinite = true;
  const scale = m > 0 && m - m == 0 && scaleRows ? pow2ScaleFor(m) : <f32>1;
  v128.store(tailOut, f32x4.mul(tail, f32x4.splat(scale)));
  return scale;
}

/** Set by rowScale when a row holds NaN or Infinity; read and cleared by toPanels. */
let nonFinite = false;
/** Whether toPanels scales rows by a power of two (cosine rows; dot and l2 rows stay as given). */
let scaleRows = true;

/** Chunk c of a packed row times `f`, or its prepared tail chunk past the whole chunks. */
@inline
function chunkOf(from: usize, c: i32, full: i32, f: v128, tail: usize): v128 {
  return c < full ? f32x4.mul(v128.load(from + (<usize>c << 4)), f) : v128.load(tail);
}

/**
 * Write `n` packed rows at `src` into a panel region as rows first .. first+n-1, padding each
 * row with zeros and, when `scale` is 1, scaling it by a power of two (see the top of this file:
 * for rows that are normalised or only compared by angle), then zero the
 * unused row slots of the last panel touched. Whole panels are written 4 rows at a time, so the
 * stores fill each 64-byte line in order (one sequential write stream); rows of a partly filled
 * panel are written one by one. `scratch` holds 4 f32x4 (the rows' tail chunks).
 * Returns 1 when any row held NaN or Infinity (found on the way, at no extra pass; the caller
 * then locates it with findNonFinite and discards what was written), else 0.
 */
export function toPanels(src: usize, n: i32, dim: i32, panels: usize, first: i32, stride: i32,
                         scratch: usize, scale: i32): i32 {
  nonFinite = false;
  scaleRows = scale != 0;
  const full = dim >> 2;
  const chunks = stride >> 2;
  const left = dim & 3;
  const rowBytes = <usize>dim << 2;
  let r = 0;
  // Rows before the first panel boundary, and rows after the last one: one at a time.
  while (r < n && ((first + r) & 3) != 0) {
    writeRow(src + <usize>r * rowBytes, panelRow(panels, first + r, stride), full, chunks, left, scratch);
    r++;
  }
  for (; r + 4 <= n; r += 4) {
    const f0 = src + <usize>r * rowBytes, f1 = f0 + rowBytes, f2 = f1 + rowBytes, f3 = f2 + rowBytes;
    const s0 = f32x4.splat(rowScale(f0, full, left, scratch));
    const s1 = f32x4.splat(rowScale(f1, full, left, scratch + 16));
    const s2 = f32x4.splat(rowScale(f2, full, left, scratch + 32));
    const s3 = f32x4.splat(rowScale(f3, full, left, scratch + 48));
    const to = panelRow(panels, first + r, stride);
    for (let c = 0; c < full; c++) {
      const p = to + (<usize>c << 6);
      const o = <usize>c << 4;
      v128.store(p, f32x4.mul(v128.load(f0 + o), s0));
      v128.store(p, f32x4.mul(v128.load(f1 + o), s1), 16);
      v128.store(p, f32x4.mul(v128.load(f2 + o), s2), 32);
      v128.store(p, f32x4.mul(v128.load(f3 + o), s3), 48);
    }
    if (full < chunks) memory.copy(to + (<usize>full << 6), scratch, 64);
  }
  for (; r < n; r++) {
    writeRow(src + <usize>r * rowBytes, panelRow(panels, first + r, stride), full, chunks, left, scratch);
  }
  for (let z = first + n; (z & 3) != 0; z++) {
    const to = panelRow(panels, z, stride);
    for (let c = 0; c < chunks; c++) v128.store(to + (<usize>c << 6), f32x4.splat(0));
  }
  return nonFinite ? 1 : 0;
}

/** One row into its panel slot (chunks 64 bytes apart). */
function writeRow(from: usize, to: usize, full: i32, chunks: i32, left: i32, scratch: usize): void {
  const f = f32x4.splat(rowScale(from, full, left, scratch));
  for (let c = 0; c < chunks; c++) v128.store(to + (<usize>c << 6), chunkOf(from, c, full, f, scratch));
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
