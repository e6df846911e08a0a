// Dot-product and cosine kernels (layouts in layout.ts).
//
// One query over a corpus is memory bound: every corpus byte is read once, so the panel kernel
// reads one sequential stream and keeps 4 rows in flight (4 independent accumulators hide the
// f32x4.add latency). The matrix kernel is compute bound instead: per chunk it serves 2 queries
// x 4 rows (8 accumulators; 6 loads for 8 mul + 8 add) and walks the corpus in blocks that stay
// in L2 while every query pair passes over them, so memory is read once per call.

import { horizontalSum, clampUnit, panelBytes } from './layout';

// ---------------------------------------------------------------------------------------------
// Panel micro-kernels: one accumulator per (query, row) pair, chunks in ascending order.

/** One padded query against the 4 rows of a panel; writes `count` (1..4) clamped scores. */
@inline
function dot1xPanel(q: usize, panel: usize, chunks: i32, out: usize, count: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const p = panel + (<usize>c << 6);
    const x = v128.load(q + (<usize>c << 4));
    a0 = f32x4.add(a0, f32x4.mul(x, v128.load(p)));
    a1 = f32x4.add(a1, f32x4.mul(x, v128.load(p, 16)));
    a2 = f32x4.add(a2, f32x4.mul(x, v128.load(p, 32)));
    a3 = f32x4.add(a3, f32x4.mul(x, v128.load(p, 48)));
  }
  store<f32>(out, clampUnit(horizontalSum(a0)));
  if (count > 1) store<f32>(out, clampUnit(horizontalSum(a1)), 4);
  if (count > 2) store<f32>(out, clampUnit(horizontalSum(a2)), 8);
  if (count > 3) store<f32>(out, clampUnit(horizontalSum(a3)), 12);
}

/** Two padded queries `qBytes` apart against a panel; writes `count` scores to out0 and out1. */
@inline
function dot2xPanel(q: usize, qBytes: usize, panel: usize, chunks: i32,
                    out0: usize, out1: usize, count: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const q1 = q + qBytes;
  for (let c = 0; c < chunks; c++) {
    const p = panel + (<usize>c << 6);
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const x = v128.load(q + (<usize>c << 4));
    a0 = f32x4.add(a0, f32x4.mul(x, v0));
    a1 = f32x4.add(a1, f32x4.mul(x, v1));
    a2 = f32x4.add(a2, f32x4.mul(x, v2));
    a3 = f32x4.add(a3, f32x4.mul(x, v3));
    const y = v128.load(q1 + (<usize>c << 4));
    b0 = f32x4.add(b0, f32x4.mul(y, v0));
    b1 = f32x4.add(b1, f32x4.mul(y, v1));
    b2 = f32x4.add(b2, f32x4.mul(y, v2));
    b3 = f32x4.add(b3, f32x4.mul(y, v3));
  }
  store<f32>(out0, clampUnit(horizontalSum(a0)));
  store<f32>(out1, clampUnit(horizontalSum(b0)));
  if (count > 1) {
    store<f32>(out0, clampUnit(horizontalSum(a1)), 4);
    store<f32>(out1, clampUnit(horizontalSum(b1)), 4);
  }
  if (count > 2) {
    store<f32>(out0, clampUnit(horizontalSum(a2)), 8);
    store<f32>(out1, clampUnit(horizontalSum(b2)), 8);
  }
  if (count > 3) {
    store<f32>(out0, clampUnit(horizontalSum(a3)), 12);
    store<f32>(out1, clampUnit(horizontalSum(b3)), 12);
  }
}

// ---------------------------------------------------------------------------------------------
// Corpus kernels (panels).

/**
 * scores[r] = clamp(dot(query, row r)) for rows 0 .. n-1 of a panel region (the index scan).
 * `query` is padded and normalised by the caller.
 */
export function dotScores(query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  const chunks = stride >> 2;
  const bytes = panelBytes(stride);
  for (let r = 0; r < n; r += 4) {
    dot1xPanel(query, panels + <usize>(r >> 2) * bytes, chunks, out + (<usize>r << 2), min<i32>(4, n - r));
  }
}

/**
 * out[q * outStride + r] = clamp(dot(query q, row r)) for `m` padded normalised queries and
 * rows 0 .. n-1 of a panel region. Rows are taken in blocks of `blockRows` (a multiple of 4,
 * sized by the caller to stay in L2); every query pair passes over a block before the next.
 */
export function dotMatrix(queries: usize, m: i32, panels: usize, n: i32, stride: i32,
                          out: usize, outStride: i32, blockRows: i32): void {
  const bytes = panelBytes(stride);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    dotMatrixBlock(queries, m, panels + <usize>(r0 >> 2) * bytes, min<i32>(blockRows, n - r0), stride,
                   out + (<usize>r0 << 2), outStride);
  }
}

/** dotMatrix over one block of rows (no further blocking); used by the fused batch top-k. */
export function dotMatrixBlock(queries: usize, m: i32, panels: usize, n: i32, stride: i32,
                               out: usize, outStride: i32): void {
  const chunks = stride >> 2;
  const bytes = panelBytes(stride);
  const qBytes = <usize>stride << 2;
  const outRowBytes = <usize>outStride << 2;
  let q = 0;
  for (; q + 2 <= m; q += 2) {
    const qp = queries + <usize>q * qBytes;
    const o0 = out + <usize>q * outRowBytes, o1 = o0 + outRowBytes;
    for (let r = 0; r < n; r += 4) {
      dot2xPanel(qp, qBytes, panels + <usize>(r >> 2) * bytes, chunks,
                 o0 + (<usize>r << 2), o1 + (<usize>r << 2), min<i32>(4, n - r));
    }
  }
  if (q < m) dotScores(queries + <usize>q * qBytes, panels, n, stride, out + <usize>q * outRowBytes);
}

// ---------------------------------------------------------------------------------------------
// One-shot cosine over raw rows.

/**
 * Cosine of a padded normalised query against rows 0 .. n-1 of a panel region of raw rows
 * (power-of-two scaled by toPanels, so f32 sums are safe): dot product and sum of squares per
 * row in the same pass, 4 rows in flight over one sequential stream.
 */
export function cosineScores(query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  const chunks = stride >> 2;
  const bytes = panelBytes(stride);
  for (let r = 0; r < n; r += 4) {
    const panel = panels + <usize>(r >> 2) * bytes;
    let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0), d3 = f32x4.splat(0);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let c = 0; c < chunks; c++) {
      const p = panel + (<usize>c << 6);
      const x = v128.load(query + (<usize>c << 4));
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      d0 = f32x4.add(d0, f32x4.mul(x, v0));
      s0 = f32x4.add(s0, f32x4.mul(v0, v0));
      d1 = f32x4.add(d1, f32x4.mul(x, v1));
      s1 = f32x4.add(s1, f32x4.mul(v1, v1));
      d2 = f32x4.add(d2, f32x4.mul(x, v2));
      s2 = f32x4.add(s2, f32x4.mul(v2, v2));
      d3 = f32x4.add(d3, f32x4.mul(x, v3));
      s3 = f32x4.add(s3, f32x4.mul(v3, v3));
    }
    const o = out + (<usize>r << 2);
    const count = min<i32>(4, n - r);
    store<f32>(o, cosineOf(horizontalSum(d0), horizontalSum(s0)));
    if (count > 1) store<f32>(o, cosineOf(horizontalSum(d1), horizontalSum(s1)), 4);
    if (count > 2) store<f32>(o, cosineOf(horizontalSum(d2), horizontalSum(s2)), 8);
    if (count > 3) store<f32>(o, cosineOf(horizontalSum(d3), horizontalSum(s3)), 12);
  }
}

/** dot / |row| for a unit query; a zero row scores 0. */
@inline
function cosineOf(dot: f32, sumSquares: f32): f32 {
  return sumSquares > 0 ? clampUnit(dot / Mathf.sqrt(sumSquares)) : 0;
}
