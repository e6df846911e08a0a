// The one-shot cosine kernels (layouts in layout.ts; the index kernels are in score-*.ts).
//
// One query over raw rows is memory bound: every byte is read once, so the panel kernel reads one
// sequential stream and keeps 4 rows in flight (4 independent accumulators hide the f32x4.add
// latency). The matrix is compute bound instead: per chunk it serves 2 queries x 4 rows
// (score-f32.ts, 8 accumulators; 6 loads for 8 mul + 8 add) and walks the rows in blocks that stay
// in L2 while every query pair passes over them, so memory is read once per call.

import { horizontalSum, clampUnit, panelBytes, COSINE } from './layout';
import { blockScoresF32 } from './score-f32';

/**
 * out[q * outStride + r] = clamp(dot(query q, row r)) for `m` padded normalised queries and
 * rows 0 .. n-1 of a panel region (the one-shot matrix, after its rows are normalised). Rows are
 * taken in blocks of `blockRows` (a multiple of 4, sized by the caller to stay in L2); every query
 * pair passes over a block before the next.
 */
export function dotMatrix(queries: usize, m: i32, panels: usize, n: i32, stride: i32,
                          out: usize, outStride: i32, blockRows: i32): void {
  const bytes = panelBytes(stride);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    blockScoresF32(COSINE, queries, m, panels + <usize>(r0 >> 2) * bytes, min<i32>(blockRows, n - r0), stride,
                   out + (<usize>r0 << 2), outStride);
  }
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
