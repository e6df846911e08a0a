// Exact top-k through a compact int8 copy of the corpus: read 4x fewer bytes, then re-rank.
//
// The f32 scan of one query is bound by memory bandwidth (all N * stride * 4 bytes). An int8 copy
// reads a quarter of that; its approximate scores come with a per-row error bound, and only rows
// whose bound says they could still be in the top k are re-scored exactly from the f32 panels.
// The result is the same top-k, bit for bit, as the exact scan.
//
// Quantisation of a normalised row r: s = max|r_i| / 127, qr_i = nearest(r_i / s) in [-127, 127],
// dequantised r^ = s * qr, error e = r - r^. A query q gets the same with i16 storage. Then
//   q.r - q^.r^ = q.e_r + e_q.r^   so   |q.r - q^.r^| <= |q| |e_r| + |e_q| |r^|   (Cauchy-Schwarz),
// and q^.r^ = s_q * s_r * (qq . qr), an exact integer dot product (i32x4.dot_i16x8_s). Per row we
// keep s, |e_r| and |r^| (each rounded up); `slack` (from the caller) covers the f32 rounding of
// the exact kernel and of a itself. With a = approximate score and b = its bound,
//   lower = a - b <= exact <= a + b = upper.
// Let tau be the k-th largest lower bound. A row with upper < tau is beaten strictly by at least
// k rows (their exact scores are >= tau), so it cannot be in the top k: the candidates are the
// rows with upper >= tau (tau only grows during the scan, so testing against the running tau
// keeps a superset). Re-scoring the candidates exactly, in ascending row order, with the same
// kernel order as dotScores gives exactly the exact top-k.
//
// Compact layout: panels of 4 rows like the f32 corpus, with 16-byte chunks of 16 int8 values:
// chunk c of row 4p+i at compact + p * qstride * 4 + (c * 4 + i) * 16, qstride = dim rounded up
// to 16 (zero padded; unused row slots of the last panel zero). Row metadata per panel:
// 3 x f32x4 = [s_0..s_3][|e|_0..|e|_3][|r^|_0..|r^|_3] at meta + p * 48.

import { horizontalSum, clampUnit, panelRow } from './layout';
import { heapOffer, selectTopK, sortHeap } from './topk';

// Rounding to the nearest integer by the 1.5 * 2^23 trick: for |x| <= 2^22, x + MAGIC rounds x
// to an integer (ties to even, like f32x4.nearest) held in the low mantissa bits, so
// bits(x + MAGIC) - bits(MAGIC) is that integer as i32, and (x + MAGIC) - MAGIC is it as f32,
// exactly. Two cheap ops instead of nearest + trunc_sat (a long sequence on x64).
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;

/** x + MAGIC: x (|x| <= 127 here) rounded, kept in float form. */
@inline
function rounded(v: v128): v128 {
  return f32x4.add(v, f32x4.splat(MAGIC));
}

/** The rounded value as i32x4. */
@inline
function roundedInt(r: v128): v128 {
  return i32x4.sub(r, i32x4.splat(MAGIC_BITS));
}

/** The rounded value as f32x4 (exact). */
@inline
function roundedFloat(r: v128): v128 {
  return f32x4.sub(r, f32x4.splat(MAGIC));
}

/**
 * Quantise rows first .. first+n-1 of an f32 panel region (normalised, row stride `stride`)
 * into the compact region and its metadata.
 */
export function quantizePanelRows(panels: usize, first: i32, n: i32, stride: i32,
                                  compact: usize, meta: usize, qstride: i32): void {
  const chunks = stride >> 2;
  const qchunks = qstride >> 4;
  for (let r = first; r < first + n; r++) {
    const src = panelRow(panels, r, stride);
    let maxA = f32x4.splat(0), maxB = f32x4.splat(0);
    let c0 = 0;
    for (; c0 + 2 <= chunks; c0 += 2) {
      maxA = f32x4.max(maxA, f32x4.abs(v128.load(src + (<usize>c0 << 6))));
      maxB = f32x4.max(maxB, f32x4.abs(v128.load(src + (<usize>c0 << 6), 64)));
    }
    if (c0 < chunks) maxA = f32x4.max(maxA, f32x4.abs(v128.load(src + (<usize>c0 << 6))));
    const maxAbs = f32x4.max(maxA, maxB);
    const m = max<f32>(max<f32>(f32x4.extract_lane(maxAbs, 0), f32x4.extract_lane(maxAbs, 1)),
                       max<f32>(f32x4.extract_lane(maxAbs, 2), f32x4.extract_lane(maxAbs, 3)));
    const scale: f32 = m / 127;
    const inverse = f32x4.splat(m > 0 ? <f32>127 / m : 0);
    const s = f32x4.splat(scale);
    const dst = compact + <usize>(r >> 2) * (<usize>qstride << 2) + (<usize>(r & 3) << 4);
    let err = f32x4.splat(0), hat = i32x4.splat(0);
    for (let qc = 0; qc < qchunks; qc++) {
      // 16 floats (4 f32 chunks; those past the row's stride are zero) -> 16 int8.
      const c = qc << 2;
      const v0 = c < chunks ? v128.load(src + (<usize>c << 6)) : f32x4.splat(0);
      const v1 = c + 1 < chunks ? v128.load(src + (<usize>(c + 1) << 6)) : f32x4.splat(0);
      const v2 = c + 2 < chunks ? v128.load(src + (<usize>(c + 2) << 6)) : f32x4.splat(0);
      const v3 = c + 3 < chunks ? v128.load(src + (<usize>(c + 3) << 6)) : f32x4.splat(0);
      const r0 = rounded(f32x4.mul(v0, inverse)), r1 = rounded(f32x4.mul(v1, inverse));
      const r2 = rounded(f32x4.mul(v2, inverse)), r3 = rounded(f32x4.mul(v3, inverse));
      const q0 = roundedInt(r0), q1 = roundedInt(r1), q2 = roundedInt(r2), q3 = roundedInt(r3);
      const d0 = f32x4.sub(v0, f32x4.mul(roundedFloat(r0), s));
      const d1 = f32x4.sub(v1, f32x4.mul(roundedFloat(r1), s));
      const d2 = f32x4.sub(v2, f32x4.mul(roundedFloat(r2), s));
      const d3 = f32x4.sub(v3, f32x4.mul(roundedFloat(r3), s));
      err = f32x4.add(err, f32x4.add(f32x4.add(f32x4.mul(d0, d0), f32x4.mul(d1, d1)),
                                     f32x4.add(f32x4.mul(d2, d2), f32x4.mul(d3, d3))));
      hat = i32x4.add(hat, i32x4.add(i32x4.add(i32x4.mul(q0, q0), i32x4.mul(q1, q1)),
                                     i32x4.add(i32x4.mul(q2, q2), i32x4.mul(q3, q3))));
      v128.store(dst + (<usize>qc << 6),
        i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    // Round the norms up: f32 sums carry relative errors ~1e-7 * sqrt(d); 1e-4 covers them, and
    // 3e-7 covers the rounding of each error term itself (|d_i| error <= 2^-24 |r_i|, |r| <= 1).
    const errNorm = <f32>(Math.sqrt(<f64>horizontalSum(err)) * 1.0001 + 3e-7);
    const hatSquares = <f64>i32x4.extract_lane(hat, 0) + <f64>i32x4.extract_lane(hat, 1) +
                       <f64>i32x4.extract_lane(hat, 2) + <f64>i32x4.extract_lane(hat, 3);
    const hatNorm = <f32>(<f64>scale * Math.sqrt(hatSquares) * 1.0001);
    const m0 = meta + <usize>(r >> 2) * 48 + (<usize>(r & 3) << 2);
    store<f32>(m0, scale);
    store<f32>(m0, errNorm, 16);
    store<f32>(m0, hatNorm, 32);
  }
  // Zero the unused row slots of the last panel touched (data and metadata).
  for (let r = first + n; (r & 3) != 0; r++) {
    const dst = compact + <usize>(r >> 2) * (<usize>qstride << 2) + (<usize>(r & 3) << 4);
    for (let qc = 0; qc < qchunks; qc++) v128.store(dst + (<usize>qc << 6), i32x4.splat(0));
    const m0 = meta + <usize>(r >> 2) * 48 + (<usize>(r & 3) << 2);
    store<f32>(m0, 0);
    store<f32>(m0, 0, 16);
    store<f32>(m0, 0, 32);
  }
}

/**
 * Quantise a padded normalised query (stride floats) to `qstride` i16 values at `out`. Writes
 * [s_q, |e_q| (rounded up), |q| (rounded up)] as 3 f32 at `info`.
 */
export function quantizeQuery(query: usize, stride: i32, out: usize, qstride: i32, info: usize): void {
  const chunks = stride >> 2;
  let maxAbs = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) maxAbs = f32x4.max(maxAbs, f32x4.abs(v128.load(query + (<usize>c << 4))));
  const m = max<f32>(max<f32>(f32x4.extract_lane(maxAbs, 0), f32x4.extract_lane(maxAbs, 1)),
                     max<f32>(f32x4.extract_lane(maxAbs, 2), f32x4.extract_lane(maxAbs, 3)));
  const scale: f32 = m / 127;
  const inverse = f32x4.splat(m > 0 ? <f32>127 / m : 0);
  const s = f32x4.splat(scale);
  let err = f32x4.splat(0), norm = f32x4.splat(0);
  for (let c = 0; c < (qstride >> 2); c += 2) {
    let v0 = f32x4.splat(0), v1 = f32x4.splat(0);
    if (c < chunks) v0 = v128.load(query + (<usize>c << 4));
    if (c + 1 < chunks) v1 = v128.load(query + (<usize>(c + 1) << 4));
    const r0 = rounded(f32x4.mul(v0, inverse)), r1 = rounded(f32x4.mul(v1, inverse));
    const q0 = roundedInt(r0), q1 = roundedInt(r1);
    const d0 = f32x4.sub(v0, f32x4.mul(roundedFloat(r0), s));
    const d1 = f32x4.sub(v1, f32x4.mul(roundedFloat(r1), s));
    err = f32x4.add(err, f32x4.add(f32x4.mul(d0, d0), f32x4.mul(d1, d1)));
    norm = f32x4.add(norm, f32x4.add(f32x4.mul(v0, v0), f32x4.mul(v1, v1)));
    v128.store(out + (<usize>c << 3), i16x8.narrow_i32x4_s(q0, q1));
  }
  store<f32>(info, scale);
  store<f32>(info, <f32>(Math.sqrt(<f64>horizontalSum(err)) * 1.0001 + 3e-7), 4);
  store<f32>(info, <f32>(Math.sqrt(<f64>horizontalSum(norm)) * 1.0001), 8);
}

/** Lane i = sum of the lanes of a_i (integer adds: exact in any order). */
@inline
function sumLanes4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), v128.shuffle<i32>(a0, a1, 2, 6, 3, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(a2, a3, 0, 4, 1, 5), v128.shuffle<i32>(a2, a3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 1, 4, 5), v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
}

/**
 * Bounds for `n` compact rows starting at panel `firstPanel`'s row 0 (n rounded up to whole
 * panels is written): lower[r] and upper[r] for r in 0 .. n-1.
 */
export function compactBounds(query16: usize, info: usize, compact: usize, meta: usize, firstPanel: i32,
                              n: i32, qstride: i32, slack: f32, lower: usize, upper: usize): void {
  const qchunks = qstride >> 4;
  const panelQBytes = <usize>qstride << 2;
  const sq = f32x4.splat(load<f32>(info));
  const eq = f32x4.splat(load<f32>(info, 4));
  const nq = f32x4.splat(load<f32>(info, 8));
  const slackV = f32x4.splat(slack);
  for (let r = 0; r < n; r += 4) {
    const p = firstPanel + (r >> 2);
    const panel = compact + <usize>p * panelQBytes;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let c = 0; c < qchunks; c++) {
      const x = panel + (<usize>c << 6);
      const qlo = v128.load(query16 + (<usize>c << 5));
      const qhi = v128.load(query16 + (<usize>c << 5), 16);
      const v0 = v128.load(x), v1 = v128.load(x, 16), v2 = v128.load(x, 32), v3 = v128.load(x, 48);
      a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), qlo),
                                   i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), qhi)));
      a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), qlo),
                                   i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), qhi)));
      a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v2), qlo),
                                   i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v2), qhi)));
      a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v3), qlo),
                                   i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v3), qhi)));
    }
    const m = meta + <usize>p * 48;
    const scales = v128.load(m), errs = v128.load(m, 16), hats = v128.load(m, 32);
    const approx = f32x4.mul(f32x4.convert_i32x4_s(sumLanes4(a0, a1, a2, a3)), f32x4.mul(sq, scales));
    const bound = f32x4.add(f32x4.add(f32x4.mul(nq, errs), f32x4.mul(eq, hats)), slackV);
    // Exact scores are clamped to [-1, 1]; clamp the bounds the same way so they stay bounds.
    v128.store(lower + (<usize>r << 2), f32x4.min(f32x4.sub(approx, bound), f32x4.splat(1)));
    v128.store(upper + (<usize>r << 2), f32x4.max(f32x4.add(approx, bound), f32x4.splat(-1)));
  }
}

/** Exact score of one corpus row: the same operations, in the same order, as dotScores. */
@inline
function exactScore(query: usize, panels: usize, row: i32, stride: i32): f32 {
  const p = panelRow(panels, row, stride);
  let a = f32x4.splat(0);
  for (let c = 0; c < (stride >> 2); c++) {
    a = f32x4.add(a, f32x4.mul(v128.load(query + (<usize>c << 4)), v128.load(p + (<usize>c << 6))));
  }
  return clampUnit(horizontalSum(a));
}

/**
 * Exact top-k of one padded normalised query through the compact copy (see the top of this
 * file). Work areas: `lower`, `upper` hold blockRows floats (a multiple of 4); the lower-bound
 * heap (lhs, lhi, lstate) and the result heap (hs, hi, state) hold k entries; `candidates`
 * holds up to n u32 row indices and `candidateUpper` n floats. Returns the number of rows
 * re-scored exactly; the sorted result is left in (hs, hi) with its length at `state`.
 */
export function searchTopKCompact(query: usize, query16: usize, info: usize, slack: f32,
                                  panels: usize, compact: usize, meta: usize, n: i32,
                                  stride: i32, qstride: i32, k: u32,
                                  hs: usize, hi: usize, state: usize,
                                  lhs: usize, lhi: usize, lstate: usize,
                                  lower: usize, upper: usize, blockRows: i32,
                                  candidates: usize, candidateUpper: usize): i32 {
  store<u32>(state, 0);
  store<u32>(lstate, 0);
  let count = 0;
  let tau: f32 = -Infinity;
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const rows = min<i32>(blockRows, n - r0);
    compactBounds(query16, info, compact, meta, r0 >> 2, rows, qstride, slack, lower, upper);
    selectTopK(lower, rows, <u32>r0, k, lhs, lhi, lstate);
    if (load<u32>(lstate) == k) tau = load<f32>(lhs);
    const t = f32x4.splat(tau);
    let i = 0;
    for (; i + 4 <= rows; i += 4) {
      const u = v128.load(upper + (<usize>i << 2));
      if (!v128.any_true(f32x4.ge(u, t))) continue;
      for (let l = 0; l < 4; l++) {
        const ul = load<f32>(upper + (<usize>(i + l) << 2));
        if (ul >= tau) {
          store<u32>(candidates + (<usize>count << 2), <u32>(r0 + i + l));
          store<f32>(candidateUpper + (<usize>count << 2), ul);
          count++;
        }
      }
    }
    for (; i < rows; i++) {
      const ul = load<f32>(upper + (<usize>i << 2));
      if (ul >= tau) {
        store<u32>(candidates + (<usize>count << 2), <u32>(r0 + i));
        store<f32>(candidateUpper + (<usize>count << 2), ul);
        count++;
      }
    }
  }
  // Re-score the survivors of the final tau exactly, in ascending row order.
  let rescored = 0;
  let size = load<u32>(state);
  for (let c = 0; c < count; c++) {
    if (load<f32>(candidateUpper + (<usize>c << 2)) < tau) continue;
    const row = load<u32>(candidates + (<usize>c << 2));
    size = heapOffer(hs, hi, size, k, exactScore(query, panels, <i32>row, stride), row);
    rescored++;
  }
  store<u32>(state, size);
  sortHeap(hs, hi, size);
  return rescored;
}
