// Exact top-k of f32 and f16 rows through an int8 prefilter copy: read 1 byte per value, then
// re-score only the rows that could still be in the top k.
//
// A one-query scan is bound by memory bandwidth; the int8 copy (score-i8.ts layout) is a quarter
// of f32 rows and half of f16 ones. For a stored row r (as the exact kernels read it: f32, or f16
// widened) the copy holds q_r = nearest(r / s_r) with r^ = s_r q_r, e_r = r - r^, and per row
// [s_r][|e_r| up][|r^| up][|r|^2] (4 x f32x4 = 64 bytes per panel). With the 16-bit query
// (quantizeQuery16: q^ = s_q qq, e_q = q - q^) and I = qq . q_r (exact),
//   a = (I s_q) s_r,   |q.r - a| <= |q| |e_r| + |e_q| |r^| + slack     (Cauchy-Schwarz)
// where slack = gamma |q| (|r^| + |e_r|) covers the f32 rounding of the exact kernel (at most
// (chunks + 3) 2^-24 |q||r| for one accumulator over `chunks` chunks and the lane sum) and of a and
// the bound themselves (gamma comes from the caller). Per metric, the bounds on the internal score:
//   cosine: [a - b, a + b] clamped to [-1, 1] like the exact scores;  dot: [a - b, a + b];
//   l2: with D = |q|^2 + |r|^2 - 2 q.r in [Dlo, Dhi] (widened by a margin for the f32 norms and this
//       arithmetic) and the direct kernel's fl(D) within D (1 +- gamma2) (all its terms are >= 0),
//       the internal score -fl(D) lies in [-Dhi (1 + gamma2), -max(0, Dlo) (1 - gamma2)].
// Let tau be the k-th largest lower bound seen (or the k-th best exact score kept so far, if
// larger). A row with upper < tau is beaten strictly by k rows, so it cannot be in the top k: the
// candidates are the rows with upper >= tau (tau only grows, so testing against the running tau
// keeps a superset); re-scoring them exactly and offering them to the top-k heap in ascending row
// order gives exactly the top-k of the exact scan, ties included.
//
// The heaps persist across calls (the caller resets them), so one thread's heap runs over all its
// segments and every segment starts from the threshold the earlier ones reached. Rows are offered
// as base + row (their position in the index); rows whose bit in `mask` (if any) is clear are
// never offered.

import { horizontalSum, panelBytesOf, COSINE, DOT, L2 } from './layout';
import { maxAbsRow, rounded, roundedInt, roundedFloat, panelDots } from './score-i8';
import { heapOffer, laneMask, selectTopK, selectMasked } from './topk';
import { rowScoreF32 } from './score-f32';
import { rowScoreF16 } from './score-f16';

/** Rows per block: 256 bounds of each kind (2 KiB) stay in L1. */
const BLOCK: i32 = 256;

/**
 * Quantise rows first .. first+n-1 of an f32 panel region (`stride4` floats a row: the stored rows,
 * or f16 rows widened) into the prefilter copy (`stride` int8 values a row) and its metadata, from
 * row outFirst. Unused row slots of the last panel touched are zeroed.
 */
export function encodePrefilter(panels: usize, first: i32, n: i32, stride4: i32,
                                out: usize, meta: usize, outFirst: i32, stride: i32): void {
  const chunks = stride4 >> 2;
  const qchunks = stride >> 4;
  const inBytes = panelBytesOf(chunks);
  const outBytes = panelBytesOf(qchunks);
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const src = panels + <usize>(r >> 2) * inBytes + (<usize>(r & 3) << 4);
    const o = outFirst + i;
    const dst = out + <usize>(o >> 2) * outBytes + (<usize>(o & 3) << 4);
    const m = maxAbsRow(src, chunks, 64);
    const scale: f32 = m / 127;
    const inverse = f32x4.splat(m > 0 ? <f32>127 / m : 0);
    const s = f32x4.splat(scale);
    let err = f32x4.splat(0), hat = i32x4.splat(0), norm = f32x4.splat(0);
    for (let qc = 0; qc < qchunks; qc++) {
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
      norm = f32x4.add(norm, f32x4.add(f32x4.add(f32x4.mul(v0, v0), f32x4.mul(v1, v1)),
                                       f32x4.add(f32x4.mul(v2, v2), f32x4.mul(v3, v3))));
      hat = i32x4.add(hat, i32x4.add(i32x4.add(i32x4.mul(q0, q0), i32x4.mul(q1, q1)),
                                     i32x4.add(i32x4.mul(q2, q2), i32x4.mul(q3, q3))));
      v128.store(dst + (<usize>qc << 6),
        i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    const sumSquares = horizontalSum(norm);
    // Norms rounded up: f32 sums carry relative errors ~1e-7 * sqrt(d), which 1e-4 covers; each
    // error term's own rounding (|d_i| error <= 2^-23 |r_i|) adds at most 4e-7 |r|.
    const rowNorm = <f32>Math.sqrt(<f64>sumSquares);
    const errNorm = <f32>(Math.sqrt(<f64>horizontalSum(err)) * 1.0001 + 4e-7 * <f64>rowNorm + 1e-30);
    const hatSquares = <f64>i32x4.extract_lane(hat, 0) + <f64>i32x4.extract_lane(hat, 1) +
                       <f64>i32x4.extract_lane(hat, 2) + <f64>i32x4.extract_lane(hat, 3);
    const hatNorm = <f32>(<f64>scale * Math.sqrt(hatSquares) * 1.0001);
    const m0 = meta + (<usize>(o >> 2) << 6) + (<usize>(o & 3) << 2);
    store<f32>(m0, scale);
    store<f32>(m0, errNorm, 16);
    store<f32>(m0, hatNorm, 32);
    store<f32>(m0, sumSquares, 48);
  }
  for (let z = outFirst + n; (z & 3) != 0; z++) {
    const dst = out + <usize>(z >> 2) * outBytes + (<usize>(z & 3) << 4);
    for (let qc = 0; qc < qchunks; qc++) v128.store(dst + (<usize>qc << 6), i32x4.splat(0));
    const m0 = meta + (<usize>(z >> 2) << 6) + (<usize>(z & 3) << 2);
    store<f32>(m0, 0);
    store<f32>(m0, 0, 16);
    store<f32>(m0, 0, 32);
    store<f32>(m0, 0, 48);
  }
}

/** Bounds of the 4 rows of panel p into lower/upper at `at` (see the top of this file). */
@inline
function panelBounds(metric: i32, query16: usize, info: usize, panel: usize, pmeta: usize, chunks: i32,
                     gamma: f32, gamma2: f32, margin: f32, lower: usize, upper: usize): void {
  boundsOfDots(metric, panelDots(query16, panel, chunks), info, pmeta, gamma, gamma2, margin, lower, upper);
}

/**
 * Bounds of a panel's 4 rows from their exact integer dots I with a quantised query (info: its
 * [s_q, |e_q|, |q|, |q|^2]) and the panel's metadata (see the top of this file); shared by the
 * one-query and the batched kernels (prefilter-batch.ts).
 */
@inline
export function boundsOfDots(metric: i32, dots: v128, info: usize, pmeta: usize,
                             gamma: f32, gamma2: f32, margin: f32, lower: usize, upper: usize): void {
  const nq = f32x4.splat(load<f32>(info, 8));
  const a = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(dots), f32x4.splat(load<f32>(info))), v128.load(pmeta));
  const errs = v128.load(pmeta, 16), hats = v128.load(pmeta, 32);
  const b = f32x4.add(f32x4.add(f32x4.mul(nq, errs), f32x4.mul(f32x4.splat(load<f32>(info, 4)), hats)),
                      f32x4.mul(f32x4.mul(f32x4.splat(gamma), nq), f32x4.add(hats, errs)));
  if (metric == COSINE) {
    v128.store(lower, f32x4.min(f32x4.sub(a, b), f32x4.splat(1)));
    v128.store(upper, f32x4.max(f32x4.add(a, b), f32x4.splat(-1)));
  } else if (metric == DOT) {
    v128.store(lower, f32x4.sub(a, b));
    v128.store(upper, f32x4.add(a, b));
  } else {
    const base = f32x4.add(f32x4.splat(load<f32>(info, 12)), v128.load(pmeta, 48));
    const m = f32x4.mul(f32x4.splat(margin), f32x4.add(base, f32x4.add(f32x4.add(f32x4.abs(a), f32x4.abs(a)), f32x4.add(b, b))));
    const dHi = f32x4.add(f32x4.sub(base, f32x4.add(f32x4.sub(a, b), f32x4.sub(a, b))), m);
    const dLo = f32x4.max(f32x4.sub(f32x4.sub(base, f32x4.add(f32x4.add(a, b), f32x4.add(a, b))), m), f32x4.splat(0));
    v128.store(lower, f32x4.neg(f32x4.mul(dHi, f32x4.splat(1 + gamma2))));
    v128.store(upper, f32x4.neg(f32x4.mul(dLo, f32x4.splat(1 - gamma2))));
  }
}

/** The exact score of one row for a scorer (0..2: f32 rows, metric; 3..6: f16 rows, variant 0..3). */
@inline
export function exactScore(scorer: i32, query: usize, rows: usize, row: i32, stride: i32): f32 {
  if (scorer < 3) return rowScoreF32(scorer, query, rows, row, stride);
  return rowScoreF16(scorer - 3, query, rows, row, stride);
}

/**
 * gamma2 of the l2 bounds: the relative rounding of the direct l2 kernel over rows of `rowStride`
 * floats (chunks of 4 in one accumulator, the lane sum, the difference and the square).
 */
@inline
export function l2Gamma(rowStride: i32): f32 {
  return (<f32>(rowStride >> 2) + 8) * 6.0e-8;
}

/** The l2 bounds' margin for the rounding of |q|^2, |r|^2 and the bound arithmetic itself. */
@inline
export function l2Margin(rowStride: i32): f32 {
  return (<f32>(rowStride >> 2) + 24) * 6.0e-8;
}

@inline
function topKImpl(metric: i32, scorer: i32, query: usize, rows: usize, rowStride: i32,
                  query16: usize, info: usize, gamma: f32,
                  prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                  hs: usize, hi: usize, state: usize, lhs: usize, lhi: usize, lstate: usize,
                  lower: usize, upper: usize, candidates: usize, candidateUpper: usize,
                  pre: usize, preUpper: usize): i32 {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  const gamma2 = l2Gamma(rowStride), margin = l2Margin(rowStride);
  let count = 0;
  let tau: f32 = -Infinity;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const rows0 = min<i32>(BLOCK, n - r0);
    // Bounds computed beforehand (prefilterBounds over the chunk, `pre` != 0): read, not computed.
    if (pre != 0) {
      lower = pre + (<usize>r0 << 2);
      upper = preUpper + (<usize>r0 << 2);
    }
    if (mask == 0) {
      if (pre == 0) {
        for (let r = 0; r < rows0; r += 4) {
          const p = (r0 + r) >> 2;
          panelBounds(metric, query16, info, prefilter + <usize>p * bytes, pmeta + (<usize>p << 6), chunks,
                      gamma, gamma2, margin, lower + (<usize>r << 2), upper + (<usize>r << 2));
        }
      }
      selectTopK(lower, rows0, base + <u32>r0, k, lhs, lhi, lstate);
      if (load<u32>(lstate) == k) tau = max<f32>(tau, load<f32>(lhs));
      if (load<u32>(state) == k) tau = max<f32>(tau, load<f32>(hs));
      const t = f32x4.splat(tau);
      for (let i = 0; i < rows0; i += 4) {
        if (!v128.any_true(f32x4.ge(v128.load(upper + (<usize>i << 2)), t))) continue;
        const lanes = min<i32>(4, rows0 - i);
        for (let l = 0; l < lanes; l++) {
          const ul = load<f32>(upper + (<usize>(i + l) << 2));
          if (ul >= tau) {
            store<u32>(candidates + (<usize>count << 2), <u32>(r0 + i + l));
            store<f32>(candidateUpper + (<usize>count << 2), ul);
            count++;
          }
        }
      }
      continue;
    }
    // Masked: the work follows the set bits. Bounds only for panels holding a selected row (a
    // nibble of the bitmap word), then only selected rows are offered and collected.
    const words = mask + (<usize>(r0 >> 5) << 2);
    const wordCount = (rows0 + 31) >> 5;
    let any = false;
    for (let w = 0; w < wordCount; w++) {
      const word = load<u32>(words + (<usize>w << 2));
      // Bit 4j of `marks` is set when nibble j (panel j of the word) has a selected row.
      let marks = (word | (word >> 1) | (word >> 2) | (word >> 3)) & 0x11111111;
      if (marks != 0) any = true;
      if (pre != 0) continue;
      while (marks != 0) {
        const r = (w << 5) + <i32>ctz(marks);
        marks &= marks - 1;
        const p = (r0 + r) >> 2;
        panelBounds(metric, query16, info, prefilter + <usize>p * bytes, pmeta + (<usize>p << 6), chunks,
                    gamma, gamma2, margin, lower + (<usize>r << 2), upper + (<usize>r << 2));
      }
    }
    if (!any) continue;
    selectMasked(lower, rows0, base + <u32>r0, k, lhs, lhi, lstate, words);
    if (load<u32>(lstate) == k) tau = max<f32>(tau, load<f32>(lhs));
    if (load<u32>(state) == k) tau = max<f32>(tau, load<f32>(hs));
    // The selected rows with upper >= tau, 4 at a time as above, clear bits' lanes masked off.
    const t = f32x4.splat(tau);
    for (let w = 0; w < wordCount; w++) {
      let bits = load<u32>(words + (<usize>w << 2));
      if ((w << 5) + 32 > rows0) bits &= (<u32>1 << <u32>(rows0 - (w << 5))) - 1;
      while (bits != 0) {
        const g = <i32>ctz(bits) & ~3;
        const nibble = (bits >> <u32>g) & 15;
        bits &= ~(<u32>15 << <u32>g);
        const r = (w << 5) + g;
        const hit = v128.and(f32x4.ge(v128.load(upper + (<usize>r << 2)), t), laneMask(nibble));
        let lanes = i32x4.bitmask(hit);
        while (lanes != 0) {
          const l = <i32>ctz(lanes);
          lanes &= lanes - 1;
          store<u32>(candidates + (<usize>count << 2), <u32>(r0 + r + l));
          store<f32>(candidateUpper + (<usize>count << 2), load<f32>(upper + (<usize>(r + l) << 2)));
          count++;
        }
      }
    }
  }
  // Re-score the survivors exactly, in ascending row order.
  let rescored = 0;
  let size = load<u32>(state);
  for (let c = 0; c < count; c++) {
    const ul = load<f32>(candidateUpper + (<usize>c << 2));
    if (ul < tau || (size == k && ul < load<f32>(hs))) continue;
    const row = load<u32>(candidates + (<usize>c << 2));
    size = heapOffer(hs, hi, size, k, exactScore(scorer, query, rows, <i32>row, rowStride), base + row);
    rescored++;
  }
  store<u32>(state, size);
  return rescored;
}

/**
 * Offer the exact top-k of rows 0 .. n-1 (those with a set bit in `mask`, when mask != 0) to the
 * heap (hs, hi, state), through the prefilter copy. `scorer` picks the exact kernel (see
 * exactScore) and `query`/`rows`/`rowStride` are what it reads; query16/info come from
 * quantizeQuery16 for the prefilter's `stride`. Work areas: `lower`, `upper` hold 256 floats; the
 * lower-bound heap (lhs, lhi, lstate) holds k entries; `candidates` and `candidateUpper` hold n
 * entries. `pre` != 0: the rows' bounds were computed beforehand (prefilterBounds over the same
 * rows: lower at `pre`, upper at `preUpper`, the same numbers) and are read instead (a key filter's
 * selection made meanwhile: src/cpu/store-calls.ts). Returns the number of rows re-scored exactly.
 */
export function prefilterTopK(metric: i32, scorer: i32, query: usize, rows: usize, rowStride: i32,
                              query16: usize, info: usize, gamma: f32,
                              prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                              hs: usize, hi: usize, state: usize, lhs: usize, lhi: usize, lstate: usize,
                              lower: usize, upper: usize, candidates: usize, candidateUpper: usize,
                              pre: usize, preUpper: usize): i32 {
  if (metric == COSINE) {
    return prefilterCosine(scorer, query, rows, rowStride, query16, info, gamma, prefilter, pmeta, stride, n, base,
                           mask, k, hs, hi, state, lhs, lhi, lstate, lower, upper, candidates, candidateUpper, pre, preUpper);
  }
  if (metric == DOT) {
    return prefilterDot(scorer, query, rows, rowStride, query16, info, gamma, prefilter, pmeta, stride, n, base,
                        mask, k, hs, hi, state, lhs, lhi, lstate, lower, upper, candidates, candidateUpper, pre, preUpper);
  }
  return prefilterL2(scorer, query, rows, rowStride, query16, info, gamma, prefilter, pmeta, stride, n, base,
                     mask, k, hs, hi, state, lhs, lhi, lstate, lower, upper, candidates, candidateUpper, pre, preUpper);
}

// Each metric its own copy (see score-f32.ts: merged copies test the metric on every panel).
function prefilterCosine(scorer: i32, query: usize, rows: usize, rowStride: i32, query16: usize, info: usize, gamma: f32,
                         prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                         hs: usize, hi: usize, state: usize, lhs: usize, lhi: usize, lstate: usize,
                         lower: usize, upper: usize, candidates: usize, candidateUpper: usize, pre: usize, preUpper: usize): i32 {
  return topKImpl(COSINE, scorer, query, rows, rowStride, query16, info, gamma, prefilter, pmeta, stride, n, base,
                  mask, k, hs, hi, state, lhs, lhi, lstate, lower, upper, candidates, candidateUpper, pre, preUpper);
}
function prefilterDot(scorer: i32, query: usize, rows: usize, rowStride: i32, query16: usize, info: usize, gamma: f32,
                      prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                      hs: usize, hi: usize, state: usize, lhs: usize, lhi: usize, lstate: usize,
                      lower: usize, upper: usize, candidates: usize, candidateUpper: usize, pre: usize, preUpper: usize): i32 {
  return topKImpl(DOT, scorer, query, rows, rowStride, query16, info, gamma, prefilter, pmeta, stride, n, base,
                  mask, k, hs, hi, state, lhs, lhi, lstate, lower, upper, candidates, candidateUpper, pre, preUpper);
}
function prefilterL2(scorer: i32, query: usize, rows: usize, rowStride: i32, query16: usize, info: usize, gamma: f32,
                     prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                     hs: usize, hi: usize, state: usize, lhs: usize, lhi: usize, lstate: usize,
                     lower: usize, upper: usize, candidates: usize, candidateUpper: usize, pre: usize, preUpper: usize): i32 {
  return topKImpl(L2, scorer, query, rows, rowStride, query16, info, gamma, prefilter, pmeta, stride, n, base,
                  mask, k, hs, hi, state, lhs, lhi, lstate, lower, upper, candidates, candidateUpper, pre, preUpper);
}

/**
 * The prefilter bounds of rows 0 .. n-1 (n rounded up to whole panels is written), for tests that
 * check them row by row against the exact scores.
 */
export function prefilterBounds(metric: i32, query16: usize, info: usize, gamma: f32, rowStride: i32,
                                prefilter: usize, pmeta: usize, stride: i32, n: i32, lower: usize, upper: usize): void {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  const gamma2 = l2Gamma(rowStride), margin = l2Margin(rowStride);
  for (let r = 0; r < n; r += 4) {
    const p = r >> 2;
    const a = prefilter + <usize>p * bytes, m = pmeta + (<usize>p << 6);
    const lo = lower + (<usize>r << 2), up = upper + (<usize>r << 2);
    if (metric == COSINE) panelBounds(COSINE, query16, info, a, m, chunks, gamma, gamma2, margin, lo, up);
    else if (metric == DOT) panelBounds(DOT, query16, info, a, m, chunks, gamma, gamma2, margin, lo, up);
    else panelBounds(L2, query16, info, a, m, chunks, gamma, gamma2, margin, lo, up);
  }
}
