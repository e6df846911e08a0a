// Exact integer dot products of a block of queries with int8 panels (the prefilter copy of f32/f16
// rows, or i8 rows; layout.ts), two queries x four rows at a time: the compute of a batch's bound
// pass (prefilter-batch.ts). Rows hold x_i in [-127, 127]; every variant gives, for a query's
// integers y_i, the exact integer I = sum x_i y_i as S - rowTerm - queryTerm, with S what the
// variant's loop sums (i32 lanes, wrapping: everything is exact mod 2^32, and I itself fits i32,
// so the wrapped result is I).
//
// WINOGRAD (baseline SIMD; the 16-bit query of score-i8.ts, so I is the single-query kernels' I
// and i8 rows score the same bits): Winograd's inner-product identity over pairs of values,
//   (x_2k + y_2k+1)(x_2k+1 + y_2k) = x_2k x_2k+1 + y_2k y_2k+1 + (x_2k y_2k + x_2k+1 y_2k+1),
// so S = sum_k (x_2k + y_2k+1)(x_2k+1 + y_2k) over the row, rowTerm = sum_k x_2k x_2k+1 (per
// row, once per block of rows, shared by every query), queryTerm = sum_k y_2k y_2k+1 (per query,
// once). One i32x4.dot_i16x8_s covers 16 values (eight products of sums) where the direct way
// needs two after widening: per 16 multiply-adds two i16 adds, one dot and one i32 add. The i16
// sums do not overflow: |x| <= 127 and |y| <= 32640 (queryLevels caps the 16-bit query there).
// The query is stored as ye = (y_0, y_2, .., y_14), yo = (y_1, .., y_15) per 16-value chunk; the
// row's x_2k, x_2k+1 are its 16-bit lanes' low and high bytes, sign-extended by two shifts.
//
// RELAXED_PAIRS (relaxed SIMD module only): the query quantised to u = y + off with y in
// [-off + 1, off - 1] (off = 32: 6 bits), so u is in [0, 63] and relaxed_dot_i8x16_i7x16 is exact
// and the same on every engine (its result is only implementation-defined when u has its top bit
// set). rowTerm = off * sum_i x_i, queryTerm = 0.
//   PAIRS: i16x8.relaxed_dot_i8x16_i7x16_s (pmaddubsw on x86) of two chunks added in i16 (each
//     lane |x u + x' u'| <= 2 * 127 * 63 = 16002, two of them fit), widened by extadd: per 32
//     multiply-adds 2 dots, 1 i16 add, 1 widening, 1 i32 add.
// A third variant, i32x4.relaxed_dot_i8x16_i7x16_add_s per chunk (7-bit queries), was dropped:
// Node 20's baseline compiler (V8 11.3 Liftoff; code runs there until it tiers up) returns wrong
// sums for it when one row vector feeds two of them (the second query's dots of a pair), so its
// results changed with tier-up timing. relaxed_dot_i8x16_i7x16_s (PAIRS) is right in both tiers
// (test/prefilter-batch.test.ts runs the kernels with --liftoff-only too).
// Only the bound pass uses these: the query's quantisation enters the bounds through its info
// (quantizeQueryOffset), so the bounds stay exact and the re-rank gives the exact scan's result.

import { sumLanes4 } from './score-i8';
import { maxAbsRow, rounded, roundedInt, roundedFloat } from './score-i8';
import { horizontalSum, panelBytesOf, panelSkipped } from './layout';

export const WINOGRAD: i32 = 0;
export const RELAXED_PAIRS: i32 = 1;

/** Whether this module was built with relaxed SIMD (the variants above it can run). */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** Bytes of one query's form for a variant and an int8 stride (WINOGRAD: i16; relaxed: u8). */
@inline
export function queryFormBytes(variant: i32, stride: i32): usize {
  return variant == WINOGRAD ? <usize>stride << 1 : <usize>stride;
}

/** The offset of the relaxed variant's unsigned query. */
@inline
export function queryOffset(variant: i32): i32 {
  return variant == RELAXED_PAIRS ? 32 : 0;
}

@inline
function evens(v: v128): v128 {
  return i16x8.shr_s(i16x8.shl(v, 8), 8);
}

@inline
function odds(v: v128): v128 {
  return i16x8.shr_s(v, 8);
}

/** acc + one Winograd step: 16 values of a row (xe, xo) with a query chunk (ye, yo). */
@inline
function winograd(acc: v128, xe: v128, xo: v128, ye: v128, yo: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(xe, yo), i16x8.add(xo, ye)));
}

/** acc + two chunks (x, x2) of a row against two chunks of an unsigned 6-bit query at y. */
@inline
function relaxedPair(acc: v128, x: v128, x2: v128, y: usize): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return acc;
  return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.add(
    i16x8.relaxed_dot_i8x16_i7x16_s(x, v128.load(y)), i16x8.relaxed_dot_i8x16_i7x16_s(x2, v128.load(y, 16)))));
}

/** acc + one chunk x of a row against one chunk of an unsigned 6-bit query at y. */
@inline
function relaxedOne(acc: v128, x: v128, y: usize): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return acc;
  return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x, v128.load(y))));
}

/**
 * S of rows `half`*2 and `half`*2 + 1 of a panel against queries qa and qb: lanes
 * [qa r0, qa r1, qb r0, qb r1] (r0, r1 the two rows).
 */
@inline
function halfDots(variant: i32, qa: usize, qb: usize, panel: usize, chunks: i32): v128 {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), b0 = i32x4.splat(0), b1 = i32x4.splat(0);
  if (variant == WINOGRAD) {
    for (let c = 0; c < chunks; c++) {
      const x = panel + (<usize>c << 6);
      const y = qa + (<usize>c << 5), z = qb + (<usize>c << 5);
      const ye = v128.load(y), yo = v128.load(y, 16), ze = v128.load(z), zo = v128.load(z, 16);
      const v = v128.load(x), w = v128.load(x, 16);
      const xe = evens(v), xo = odds(v), we = evens(w), wo = odds(w);
      a0 = winograd(a0, xe, xo, ye, yo);
      a1 = winograd(a1, we, wo, ye, yo);
      b0 = winograd(b0, xe, xo, ze, zo);
      b1 = winograd(b1, we, wo, ze, zo);
    }
  } else {
    let c = 0;
    for (; c + 2 <= chunks; c += 2) {
      const x = panel + (<usize>c << 6);
      const y = qa + (<usize>c << 4), z = qb + (<usize>c << 4);
      const v = v128.load(x), v2 = v128.load(x, 64), w = v128.load(x, 16), w2 = v128.load(x, 80);
      a0 = relaxedPair(a0, v, v2, y);
      a1 = relaxedPair(a1, w, w2, y);
      b0 = relaxedPair(b0, v, v2, z);
      b1 = relaxedPair(b1, w, w2, z);
    }
    if (c < chunks) {
      const x = panel + (<usize>c << 6);
      const y = qa + (<usize>c << 4), z = qb + (<usize>c << 4);
      const v = v128.load(x), w = v128.load(x, 16);
      a0 = relaxedOne(a0, v, y);
      a1 = relaxedOne(a1, w, y);
      b0 = relaxedOne(b0, v, z);
      b1 = relaxedOne(b1, w, z);
    }
  }
  return sumLanes4(a0, a1, b0, b1);
}

/**
 * S of the 4 rows of a panel against one query (lanes = rows). Used for the last query of an odd
 * batch, so it favours simplicity: the pair kernel with the query twice would cost twice.
 */
@inline
function panelDots1(variant: i32, q: usize, panel: usize, chunks: i32): v128 {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const x = panel + (<usize>c << 6);
    const v0 = v128.load(x), v1 = v128.load(x, 16), v2 = v128.load(x, 32), v3 = v128.load(x, 48);
    if (variant == WINOGRAD) {
      const y = q + (<usize>c << 5);
      const ye = v128.load(y), yo = v128.load(y, 16);
      a0 = winograd(a0, evens(v0), odds(v0), ye, yo);
      a1 = winograd(a1, evens(v1), odds(v1), ye, yo);
      a2 = winograd(a2, evens(v2), odds(v2), ye, yo);
      a3 = winograd(a3, evens(v3), odds(v3), ye, yo);
    } else {
      const y = q + (<usize>c << 4);
      a0 = relaxedOne(a0, v0, y);
      a1 = relaxedOne(a1, v1, y);
      a2 = relaxedOne(a2, v2, y);
      a3 = relaxedOne(a3, v3, y);
    }
  }
  return sumLanes4(a0, a1, a2, a3);
}

/**
 * S for panels p0 .. p1-1 of a block (panel p at panels + p * bytes) against queries qa and qb
 * (qb == 0: qa alone): lanes of panel p at outA + p * 16 and outB + p * 16. Panels whose nibble
 * in the mask words `words` is clear are skipped (words == 0: none).
 */
@inline
function blockDotsImpl(variant: i32, qa: usize, qb: usize, panels: usize, p0: i32, p1: i32, chunks: i32,
                       words: usize, outA: usize, outB: usize): void {
  const bytes = panelBytesOf(chunks);
  for (let p = p0; p < p1; p++) {
    if (panelSkipped(words, p)) continue;
    const panel = panels + <usize>p * bytes;
    if (qb == 0) {
      v128.store(outA + (<usize>p << 4), panelDots1(variant, qa, panel, chunks));
      continue;
    }
    const h0 = halfDots(variant, qa, qb, panel, chunks);
    const h1 = halfDots(variant, qa, qb, panel + 32, chunks);
    v128.store(outA + (<usize>p << 4), v128.shuffle<i32>(h0, h1, 0, 1, 4, 5));
    v128.store(outB + (<usize>p << 4), v128.shuffle<i32>(h0, h1, 2, 3, 6, 7));
  }
}

/** blockDotsImpl for a variant chosen at run time (each branch is its own specialised loop). */
export function blockDots(variant: i32, qa: usize, qb: usize, panels: usize, p0: i32, p1: i32, chunks: i32,
                          words: usize, outA: usize, outB: usize): void {
  if (variant == WINOGRAD) {
    blockDotsImpl(WINOGRAD, qa, qb, panels, p0, p1, chunks, words, outA, outB);
  } else if (ASC_FEATURE_RELAXED_SIMD && variant == RELAXED_PAIRS) {
    blockDotsImpl(RELAXED_PAIRS, qa, qb, panels, p0, p1, chunks, words, outA, outB);
  }
}

/**
 * rowTerm (see the top of this file) of the rows of panels p0 .. p1-1 of a block, 4 i32 per
 * panel at out + p * 16 (every panel: the terms are cheap next to one query's dots).
 */
export function rowTerms(variant: i32, panels: usize, p0: i32, p1: i32, chunks: i32, out: usize): void {
  const bytes = panelBytesOf(chunks);
  for (let p = p0; p < p1; p++) {
    const panel = panels + <usize>p * bytes;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    if (variant == WINOGRAD) {
      for (let c = 0; c < chunks; c++) {
        const x = panel + (<usize>c << 6);
        let v = v128.load(x);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(evens(v), odds(v)));
        v = v128.load(x, 16);
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(evens(v), odds(v)));
        v = v128.load(x, 32);
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(evens(v), odds(v)));
        v = v128.load(x, 48);
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(evens(v), odds(v)));
      }
      v128.store(out + (<usize>p << 4), sumLanes4(a0, a1, a2, a3));
    } else {
      for (let c = 0; c < chunks; c++) {
        const x = panel + (<usize>c << 6);
        a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(x))));
        a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(x, 16))));
        a2 = i32x4.add(a2, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(x, 32))));
        a3 = i32x4.add(a3, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(x, 48))));
      }
      v128.store(out + (<usize>p << 4), i32x4.mul(sumLanes4(a0, a1, a2, a3), i32x4.splat(queryOffset(variant))));
    }
  }
}

/**
 * The WINOGRAD form of `m` 16-bit queries (quantizeQuery16's output, `stride` values each, one
 * after another at query16): per 16-value chunk ye then yo (32 bytes), stride * 2 bytes a query,
 * at out; each query's queryTerm (i32) at terms + 4j.
 */
export function winogradQueries(query16: usize, m: i32, stride: i32, out: usize, terms: usize): void {
  const chunks = stride >> 4;
  const bytes = <usize>stride << 1;
  for (let j = 0; j < m; j++) {
    const from = query16 + <usize>j * bytes, to = out + <usize>j * bytes;
    let acc = i32x4.splat(0);
    for (let c = 0; c < chunks; c++) {
      const lo = v128.load(from + (<usize>c << 5)), hi = v128.load(from + (<usize>c << 5), 16);
      const ye = v128.shuffle<i16>(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
      const yo = v128.shuffle<i16>(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
      v128.store(to + (<usize>c << 5), ye);
      v128.store(to + (<usize>c << 5), yo, 16);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(ye, yo));
    }
    store<i32>(terms + (<usize>j << 2), i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) +
      i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3));
  }
}

/**
 * Quantise `m` padded f32 queries (`stride4` floats apart) for a relaxed variant: y = nearest(q /
 * s_q) with s_q = max|q_i| / (off - 1), stored as u = y + off (u8, `stride` bytes a query, zero
 * padding stored as off) at out; info (4 f32 per query, as quantizeQuery16 writes it) at info.
 */
export function offsetQueries(variant: i32, queries: usize, m: i32, stride4: i32, out: usize, stride: i32, info: usize): void {
  const chunks = stride4 >> 2;
  const off = queryOffset(variant);
  const levels = <f32>(off - 1);
  for (let j = 0; j < m; j++) {
    const query = queries + <usize>j * (<usize>stride4 << 2);
    const to = out + <usize>j * <usize>stride;
    const maxAbs = maxAbsRow(query, chunks, 16);
    const scale: f32 = maxAbs / levels;
    const inverse = f32x4.splat(maxAbs > 0 ? levels / maxAbs : 0);
    const s = f32x4.splat(scale);
    let err = f32x4.splat(0), norm = f32x4.splat(0);
    for (let c = 0; c < (stride >> 2); c += 4) {
      const v0 = c < chunks ? v128.load(query + (<usize>c << 4)) : f32x4.splat(0);
      const v1 = c + 1 < chunks ? v128.load(query + (<usize>(c + 1) << 4)) : f32x4.splat(0);
      const v2 = c + 2 < chunks ? v128.load(query + (<usize>(c + 2) << 4)) : f32x4.splat(0);
      const v3 = c + 3 < chunks ? v128.load(query + (<usize>(c + 3) << 4)) : f32x4.splat(0);
      const r0 = rounded(f32x4.mul(v0, inverse)), r1 = rounded(f32x4.mul(v1, inverse));
      const r2 = rounded(f32x4.mul(v2, inverse)), r3 = rounded(f32x4.mul(v3, inverse));
      const d0 = f32x4.sub(v0, f32x4.mul(roundedFloat(r0), s)), d1 = f32x4.sub(v1, f32x4.mul(roundedFloat(r1), s));
      const d2 = f32x4.sub(v2, f32x4.mul(roundedFloat(r2), s)), d3 = f32x4.sub(v3, f32x4.mul(roundedFloat(r3), s));
      err = f32x4.add(err, f32x4.add(f32x4.add(f32x4.mul(d0, d0), f32x4.mul(d1, d1)), f32x4.add(f32x4.mul(d2, d2), f32x4.mul(d3, d3))));
      norm = f32x4.add(norm, f32x4.add(f32x4.add(f32x4.mul(v0, v0), f32x4.mul(v1, v1)), f32x4.add(f32x4.mul(v2, v2), f32x4.mul(v3, v3))));
      const o = i32x4.splat(off);
      const u0 = i32x4.add(roundedInt(r0), o), u1 = i32x4.add(roundedInt(r1), o);
      const u2 = i32x4.add(roundedInt(r2), o), u3 = i32x4.add(roundedInt(r3), o);
      v128.store(to + (<usize>c << 2), i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(u0, u1), i16x8.narrow_i32x4_s(u2, u3)));
    }
    const sumSquares = horizontalSum(norm);
    const at = info + (<usize>j << 4);
    store<f32>(at, scale);
    store<f32>(at, <f32>(Math.sqrt(<f64>horizontalSum(err)) * 1.0001 + 1e-30), 4);
    store<f32>(at, <f32>(Math.sqrt(<f64>sumSquares) * 1.0001), 8);
    store<f32>(at, sumSquares, 12);
  }
}
