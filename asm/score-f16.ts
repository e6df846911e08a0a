// Scores of f16 rows (IEEE binary16 panels, layout.ts: 8 values per 16-byte chunk), widened to
// f32 in registers (layout.ts: f16Upper, f16Lower, widenF16Low/High). The query is f32, 8 floats per row chunk (`stride` halves per row =
// `stride` floats per query). Each pair is accumulated exactly as score-f32.ts accumulates the
// same values held as f32 (one accumulator, 4 components at a time in ascending order), so an f16
// row scores what its widened f32 copy would: every kernel here agrees bit for bit.
//
// The widening yields 2^-112 times the value. Variants (the `variant` argument, chosen per query by
// src/store):
//   0 cosine, query pre-multiplied by 2^112 (|q| <= 1): products need no rescaling;
//   1 dot, query pre-multiplied by 2^112 (max |q_i| < 2^15, so no overflow);
//   2 dot, rows rescaled by 2^112 in registers (any query);
//   3 l2, rows rescaled (the difference q - r needs the true values).
// q * 2^112 times r * 2^-112 and q times r round to the same f32 (a power-of-two scaling of normal
// numbers is exact), so the variants of one metric give the same bits.

import { panelBytesOf, f16Upper, f16Lower, widenF16Low, widenF16High, F16_SCALE, COSINE, DOT, L2 } from './layout';
import { accumulate, finishScore } from './score-f32';

/** Metric of a variant. */
@inline
function metricOf(variant: i32): i32 {
  return variant == 0 ? COSINE : variant == 3 ? L2 : DOT;
}

/** acc + one 8-value chunk pair: query floats at q (two f32x4), halves in v. */
@inline
function accumulate8(variant: i32, acc: v128, q: usize, v: v128): v128 {
  const metric = metricOf(variant);
  const upper = f16Upper(v), lower = f16Lower(v);
  let lo = widenF16Low(lower, upper);
  let hi = widenF16High(lower, upper);
  if (variant >= 2) {
    lo = f32x4.mul(lo, f32x4.splat(F16_SCALE));
    hi = f32x4.mul(hi, f32x4.splat(F16_SCALE));
  }
  acc = accumulate(metric, acc, v128.load(q), lo);
  return accumulate(metric, acc, v128.load(q, 16), hi);
}

@inline
function panel1(variant: i32, q: usize, panel: usize, chunks: i32, out: usize, count: i32): void {
  const metric = metricOf(variant);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const p = panel + (<usize>c << 6);
    const x = q + (<usize>c << 5);
    a0 = accumulate8(variant, a0, x, v128.load(p));
    a1 = accumulate8(variant, a1, x, v128.load(p, 16));
    a2 = accumulate8(variant, a2, x, v128.load(p, 32));
    a3 = accumulate8(variant, a3, x, v128.load(p, 48));
  }
  store<f32>(out, finishScore(metric, a0));
  if (count > 1) store<f32>(out, finishScore(metric, a1), 4);
  if (count > 2) store<f32>(out, finishScore(metric, a2), 8);
  if (count > 3) store<f32>(out, finishScore(metric, a3), 12);
}

@inline
function scanImpl(variant: i32, query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  const chunks = stride >> 3;
  const bytes = panelBytesOf(chunks);
  for (let r = 0; r < n; r += 4) {
    panel1(variant, query, panels + <usize>(r >> 2) * bytes, chunks, out + (<usize>r << 2), min<i32>(4, n - r));
  }
}

/** out[r] = score(query, row r) for rows 0 .. n-1 of an f16 panel region (`stride` halves a row). */
export function scoresF16(variant: i32, query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  if (variant == 0) scanF16V0(query, panels, n, stride, out);
  else if (variant == 1) scanF16V1(query, panels, n, stride, out);
  else if (variant == 2) scanF16V2(query, panels, n, stride, out);
  else scanF16V3(query, panels, n, stride, out);
}
// Each variant its own copy (see score-f32.ts: merged copies test the variant on every chunk).
function scanF16V0(query: usize, panels: usize, n: i32, stride: i32, out: usize): void { scanImpl(0, query, panels, n, stride, out); }
function scanF16V1(query: usize, panels: usize, n: i32, stride: i32, out: usize): void { scanImpl(1, query, panels, n, stride, out); }
function scanF16V2(query: usize, panels: usize, n: i32, stride: i32, out: usize): void { scanImpl(2, query, panels, n, stride, out); }
function scanF16V3(query: usize, panels: usize, n: i32, stride: i32, out: usize): void { scanImpl(3, query, panels, n, stride, out); }

@inline
function maskedImpl(variant: i32, query: usize, panels: usize, count: i32, stride: i32, out: usize, mask: usize): void {
  const chunks = stride >> 3;
  const bytes = panelBytesOf(chunks);
  for (let r = 0; r < count; r += 32) {
    const word = load<u32>(mask + (<usize>(r >> 5) << 2));
    if (word == 0) continue;
    const end = min<i32>(count, r + 32);
    for (let p = r; p < end; p += 4) {
      if (((word >> <u32>(p - r)) & 15) == 0) continue;
      panel1(variant, query, panels + <usize>(p >> 2) * bytes, chunks, out + (<usize>p << 2), min<i32>(4, end - p));
    }
  }
}

/** scoresF16 for the panels with a set bit in `mask` only. */
export function scoresF16Masked(variant: i32, query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void {
  if (variant == 0) maskedF16V0(query, panels, n, stride, out, mask);
  else if (variant == 1) maskedF16V1(query, panels, n, stride, out, mask);
  else if (variant == 2) maskedF16V2(query, panels, n, stride, out, mask);
  else maskedF16V3(query, panels, n, stride, out, mask);
}
function maskedF16V0(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(0, query, panels, n, stride, out, mask); }
function maskedF16V1(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(1, query, panels, n, stride, out, mask); }
function maskedF16V2(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(2, query, panels, n, stride, out, mask); }
function maskedF16V3(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(3, query, panels, n, stride, out, mask); }

@inline
function rowImpl(variant: i32, query: usize, panels: usize, row: i32, stride: i32): f32 {
  const chunks = stride >> 3;
  const p = panels + <usize>(row >> 2) * panelBytesOf(chunks) + (<usize>(row & 3) << 4);
  let a = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) a = accumulate8(variant, a, query + (<usize>c << 5), v128.load(p + (<usize>c << 6)));
  return finishScore(metricOf(variant), a);
}

/** The score of one row, as every kernel above computes it. */
export function rowScoreF16(variant: i32, query: usize, panels: usize, row: i32, stride: i32): f32 {
  if (variant == 0) return rowF16V0(query, panels, row, stride);
  if (variant == 1) return rowF16V1(query, panels, row, stride);
  if (variant == 2) return rowF16V2(query, panels, row, stride);
  return rowF16V3(query, panels, row, stride);
}
function rowF16V0(query: usize, panels: usize, row: i32, stride: i32): f32 { return rowImpl(0, query, panels, row, stride); }
function rowF16V1(query: usize, panels: usize, row: i32, stride: i32): f32 { return rowImpl(1, query, panels, row, stride); }
function rowF16V2(query: usize, panels: usize, row: i32, stride: i32): f32 { return rowImpl(2, query, panels, row, stride); }
function rowF16V3(query: usize, panels: usize, row: i32, stride: i32): f32 { return rowImpl(3, query, panels, row, stride); }

/**
 * Widen rows first .. first+n-1 of an f16 panel region into an f32 panel region (`stride4` floats
 * per row, the f32 layout): what get() returns and what the prefilter quantises.
 */
export function widenF16Panels(panels: usize, first: i32, n: i32, stride: i32, out: usize, outFirst: i32, stride4: i32): void {
  const chunks = stride >> 3;
  const bytes = panelBytesOf(chunks);
  const outBytes = panelBytesOf(stride4 >> 2);
  const scale = f32x4.splat(F16_SCALE);
  for (let r = first; r < first + n; r++) {
    const src = panels + <usize>(r >> 2) * bytes + (<usize>(r & 3) << 4);
    const o = outFirst + r - first;
    const dst = out + <usize>(o >> 2) * outBytes + (<usize>(o & 3) << 4);
    for (let c = 0; c < chunks; c++) {
      const v = v128.load(src + (<usize>c << 6));
      const upper = f16Upper(v), lower = f16Lower(v);
      const lo = f32x4.mul(widenF16Low(lower, upper), scale);
      const hi = f32x4.mul(widenF16High(lower, upper), scale);
      // f32 chunk 2c and 2c+1 (the last one may be past stride4 when dim % 8 <= 4: it is padding).
      v128.store(dst + (<usize>(2 * c) << 6), lo);
      if (2 * c + 1 < (stride4 >> 2)) v128.store(dst + (<usize>(2 * c + 1) << 6), hi);
    }
  }
}

/**
 * Rows first .. first+n-1 of an f32 panel region (`stride4` floats a row) as IEEE binary16 into
 * an f16 panel region (`stride` halves a row) from row outFirst: rounded to nearest even, with
 * magnitudes below 2^-15 flushed to zero and those in [2^-15, 2^-14) raised to 2^-14, so that no
 * stored value is subnormal (see f16Upper in layout.ts). Unused row slots of the last panel touched are zeroed.
 * Returns 1 when a value does not fit binary16 (|x| >= 65520), else 0.
 */
export function encodeF16Rows(panels: usize, first: i32, n: i32, stride4: i32, out: usize, outFirst: i32, stride: i32): i32 {
  const chunks4 = stride4 >> 2;
  const chunks = stride >> 3;
  const inBytes = panelBytesOf(chunks4);
  const outBytes = panelBytesOf(chunks);
  let overflow = i32x4.splat(0);
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const src = panels + <usize>(r >> 2) * inBytes + (<usize>(r & 3) << 4);
    const o = outFirst + i;
    const dst = out + <usize>(o >> 2) * outBytes + (<usize>(o & 3) << 4);
    for (let c = 0; c < chunks; c++) {
      const lo = 2 * c < chunks4 ? v128.load(src + (<usize>(2 * c) << 6)) : i32x4.splat(0);
      const hi = 2 * c + 1 < chunks4 ? v128.load(src + (<usize>(2 * c + 1) << 6)) : i32x4.splat(0);
      const hl = toHalfBits(lo), hh = toHalfBits(hi);
      overflow = v128.or(overflow, v128.or(i32x4.ge_s(hl, i32x4.splat(0x7c00)), i32x4.ge_s(hh, i32x4.splat(0x7c00))));
      v128.store(dst + (<usize>c << 6), i16x8.narrow_i32x4_u(v128.or(hl, signOf(lo)), v128.or(hh, signOf(hi))));
    }
  }
  for (let z = outFirst + n; (z & 3) != 0; z++) {
    const dst = out + <usize>(z >> 2) * outBytes + (<usize>(z & 3) << 4);
    for (let c = 0; c < chunks; c++) v128.store(dst + (<usize>c << 6), i32x4.splat(0));
  }
  return v128.any_true(overflow) ? 1 : 0;
}

/** The binary16 bits (sign excluded) of |x| for 4 f32 lanes, as described at encodeF16Rows. */
@inline
function toHalfBits(v: v128): v128 {
  const a = v128.and(v, i32x4.splat(0x7fffffff));
  const small = i32x4.lt_s(a, i32x4.splat(0x38000000)); // below 2^-15
  const b = i32x4.max_s(a, i32x4.splat(0x38800000)); // at least 2^-14
  const odd = v128.and(i32x4.shr_u(b, 13), i32x4.splat(1));
  const h = i32x4.shr_u(i32x4.add(i32x4.sub(b, i32x4.splat(0x38000000)), i32x4.add(i32x4.splat(0xfff), odd)), 13);
  return v128.andnot(h, small);
}

/** The sign bits of 4 f32 lanes at binary16's sign position (bit 15), cleared for |x| < 2^-15. */
@inline
function signOf(v: v128): v128 {
  const small = i32x4.lt_s(v128.and(v, i32x4.splat(0x7fffffff)), i32x4.splat(0x38000000));
  return v128.andnot(i32x4.shr_u(v128.and(v, i32x4.splat(0x80000000)), 16), small);
}
