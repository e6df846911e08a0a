// int8 rows (layout.ts: 16 int8 values per 16-byte chunk, panels of 4 rows) and the 16-bit query
// they are scored with; shared by the i8 dtype and by the int8 prefilter of f32/f16 indexes
// (prefilter.ts).
//
// A row r is stored as q_r = nearest(r / s_r) in [-127, 127], s_r = max|r_i| / 127 (a row's own
// scale). A query q is quantised to 16 bits: qq = nearest(q / s_q), s_q = max|q_i| / Q, where
// Q = min(32640, (2^31 - 1) / (127 * stride)) keeps every integer dot product inside i32 (and
// qq + x inside i16 for any row value x, which batch-dots.ts's Winograd sums need). Then
// I = qq . q_r is an exact integer (i32x4.dot_i16x8_s after widening the int8 lanes: exact in any
// order), and the i8 dtype's internal scores are, per row, from I and the row's metadata
// [rowScale x4][rowSq x4] (32 bytes per panel):
//   cosine: clamp((I * s_q) * rowScale, -1, 1),  rowScale = 1 / |q_r|   (rows normalised first)
//   dot:    (I * s_q) * rowScale,                 rowScale = s_r
//   l2:     -max(0, (|q|^2 - 2t) + rowSq),        t = (I * s_q) * s_r, rowSq = s_r^2 |q_r|^2
// in f32, in that order, so every kernel over i8 rows gives a pair the same bits. The query's
// 16-bit rounding moves a score by at most |q - s_q qq| |r^| (about 1e-4 of |q||r| at Q = 22017):
// small against the rows' own 8-bit rounding, which is what the dtype trades for size.
//
// Query info (4 f32): [s_q, |q - s_q qq| rounded up, |q| rounded up, |q|^2].

import { horizontalSum, clampUnit, panelBytesOf, COSINE, DOT, L2 } from './layout';

// Rounding to the nearest integer by the 1.5 * 2^23 trick: for |x| <= 2^22, x + MAGIC rounds x to
// an integer (ties to even, like f32x4.nearest) held in the low mantissa bits, so
// bits(x + MAGIC) - bits(MAGIC) is that integer as i32 and (x + MAGIC) - MAGIC is it as f32,
// exactly: two cheap ops instead of nearest + trunc_sat.
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;

@inline
export function rounded(v: v128): v128 {
  return f32x4.add(v, f32x4.splat(MAGIC));
}

@inline
export function roundedInt(r: v128): v128 {
  return i32x4.sub(r, i32x4.splat(MAGIC_BITS));
}

@inline
export function roundedFloat(r: v128): v128 {
  return f32x4.sub(r, f32x4.splat(MAGIC));
}

/** Largest 16-bit query level for rows of `stride` int8 values (keeps I inside i32, qq + 127 inside i16). */
@inline
export function queryLevels(stride: i32): f32 {
  return <f32>min<i32>(32640, <i32>(2147483647 / (127 * <i64>stride)));
}

/** Largest |value| of a padded f32 row of `chunks` chunks `step` bytes apart. */
@inline
export function maxAbsRow(p: usize, chunks: i32, step: usize): f32 {
  let maxA = f32x4.splat(0), maxB = f32x4.splat(0);
  let c = 0;
  for (; c + 2 <= chunks; c += 2) {
    maxA = f32x4.max(maxA, f32x4.abs(v128.load(p + <usize>c * step)));
    maxB = f32x4.max(maxB, f32x4.abs(v128.load(p + <usize>(c + 1) * step)));
  }
  if (c < chunks) maxA = f32x4.max(maxA, f32x4.abs(v128.load(p + <usize>c * step)));
  const m = f32x4.max(maxA, maxB);
  return max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
                  max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/**
 * Quantise a padded f32 query (`stride4` floats) to 16 bits for int8 rows of `stride` values:
 * `out` gets stride i16 values (zero past the query), `info` the 4 floats described above.
 */
export function quantizeQuery16(query: usize, stride4: i32, out: usize, stride: i32, info: usize): void {
  const chunks = stride4 >> 2;
  const m = maxAbsRow(query, chunks, 16);
  const levels = queryLevels(stride);
  const scale: f32 = m / levels;
  const inverse = f32x4.splat(m > 0 ? levels / m : 0);
  const s = f32x4.splat(scale);
  let err = f32x4.splat(0), norm = f32x4.splat(0);
  for (let c = 0; c < (stride >> 2); c += 2) {
    let v0 = f32x4.splat(0), v1 = f32x4.splat(0);
    if (c < chunks) v0 = v128.load(query + (<usize>c << 4));
    if (c + 1 < chunks) v1 = v128.load(query + (<usize>(c + 1) << 4));
    const r0 = rounded(f32x4.mul(v0, inverse)), r1 = rounded(f32x4.mul(v1, inverse));
    const d0 = f32x4.sub(v0, f32x4.mul(roundedFloat(r0), s));
    const d1 = f32x4.sub(v1, f32x4.mul(roundedFloat(r1), s));
    err = f32x4.add(err, f32x4.add(f32x4.mul(d0, d0), f32x4.mul(d1, d1)));
    norm = f32x4.add(norm, f32x4.add(f32x4.mul(v0, v0), f32x4.mul(v1, v1)));
    v128.store(out + (<usize>c << 3), i16x8.narrow_i32x4_s(roundedInt(r0), roundedInt(r1)));
  }
  const sumSquares = horizontalSum(norm);
  store<f32>(info, scale);
  store<f32>(info, <f32>(Math.sqrt(<f64>horizontalSum(err)) * 1.0001 + 1e-30), 4);
  store<f32>(info, <f32>(Math.sqrt(<f64>sumSquares) * 1.0001), 8);
  store<f32>(info, sumSquares, 12);
}

/** Lane i = sum of the lanes of a_i (integer adds: exact in any order). */
@inline
export function sumLanes4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), v128.shuffle<i32>(a0, a1, 2, 6, 3, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(a2, a3, 0, 4, 1, 5), v128.shuffle<i32>(a2, a3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 1, 4, 5), v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
}

/** acc + the exact dot of one row's 16-value chunk at x with the query chunk (qlo, qhi). */
@inline
function chunkDot(acc: v128, x: usize, qlo: v128, qhi: v128): v128 {
  // Each half loaded and sign-extended in one instruction (v128.load8x8_s: pmovsxbw from memory):
  // a 16-byte load then extend_low and extend_high took one more (V8 widens the high half with
  // an unpack and a shift).
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(x), qlo),
                                  i32x4.dot_i16x8_s(v128.load8x8_s(x, 8), qhi)));
}

/** The exact integer dot products of the 16-bit query with the 4 rows of an int8 panel. */
@inline
export function panelDots(query16: usize, panel: usize, chunks: i32): v128 {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const x = panel + (<usize>c << 6);
    const qlo = v128.load(query16 + (<usize>c << 5));
    const qhi = v128.load(query16 + (<usize>c << 5), 16);
    a0 = chunkDot(a0, x, qlo, qhi);
    a1 = chunkDot(a1, x + 16, qlo, qhi);
    a2 = chunkDot(a2, x + 32, qlo, qhi);
    a3 = chunkDot(a3, x + 48, qlo, qhi);
  }
  return sumLanes4(a0, a1, a2, a3);
}

/** The internal scores of a panel's 4 rows from their integer dots (see the top of this file). */
@inline
export function i8Scores(metric: i32, dots: v128, info: usize, meta: usize): v128 {
  const t = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(dots), f32x4.splat(load<f32>(info))), v128.load(meta));
  if (metric == COSINE) return f32x4.min(f32x4.max(t, f32x4.splat(-1)), f32x4.splat(1));
  if (metric == DOT) return t;
  const d = f32x4.add(f32x4.sub(f32x4.splat(load<f32>(info, 12)), f32x4.add(t, t)), v128.load(meta, 16));
  return f32x4.neg(f32x4.max(d, f32x4.splat(0)));
}

/** Store `count` (1..4) lanes of v at out. */
@inline
export function storeLanes(out: usize, v: v128, count: i32): void {
  if (count == 4) {
    v128.store(out, v);
    return;
  }
  store<f32>(out, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(out, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(out, f32x4.extract_lane(v, 2), 8);
}

@inline
function scanImpl(metric: i32, query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize): void {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  for (let r = 0; r < n; r += 4) {
    const p = <usize>(r >> 2);
    const s = i8Scores(metric, panelDots(query16, panels + p * bytes, chunks), info, meta + (p << 5));
    storeLanes(out + (<usize>r << 2), s, min<i32>(4, n - r));
  }
}

/** out[r] = score(query, row r) for rows 0 .. n-1 of an int8 panel region with its metadata. */
export function scoresI8(metric: i32, query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize): void {
  if (metric == COSINE) scanI8Cosine(query16, info, panels, meta, n, stride, out);
  else if (metric == DOT) scanI8Dot(query16, info, panels, meta, n, stride, out);
  else scanI8L2(query16, info, panels, meta, n, stride, out);
}
// Each metric its own copy (see score-f32.ts: merged copies test the metric on every panel).
function scanI8Cosine(query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize): void { scanImpl(COSINE, query16, info, panels, meta, n, stride, out); }
function scanI8Dot(query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize): void { scanImpl(DOT, query16, info, panels, meta, n, stride, out); }
function scanI8L2(query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize): void { scanImpl(L2, query16, info, panels, meta, n, stride, out); }

@inline
function maskedImpl(metric: i32, query16: usize, info: usize, panels: usize, meta: usize, count: i32, stride: i32,
                    out: usize, mask: usize): void {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  for (let r = 0; r < count; r += 32) {
    const word = load<u32>(mask + (<usize>(r >> 5) << 2));
    if (word == 0) continue;
    const end = min<i32>(count, r + 32);
    for (let q = r; q < end; q += 4) {
      if (((word >> <u32>(q - r)) & 15) == 0) continue;
      const p = <usize>(q >> 2);
      const s = i8Scores(metric, panelDots(query16, panels + p * bytes, chunks), info, meta + (p << 5));
      storeLanes(out + (<usize>q << 2), s, min<i32>(4, end - q));
    }
  }
}

/** scoresI8 for the panels with a set bit in `mask` only. */
export function scoresI8Masked(metric: i32, query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32,
                               out: usize, mask: usize): void {
  if (metric == COSINE) maskedI8Cosine(query16, info, panels, meta, n, stride, out, mask);
  else if (metric == DOT) maskedI8Dot(query16, info, panels, meta, n, stride, out, mask);
  else maskedI8L2(query16, info, panels, meta, n, stride, out, mask);
}
function maskedI8Cosine(query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(COSINE, query16, info, panels, meta, n, stride, out, mask); }
function maskedI8Dot(query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(DOT, query16, info, panels, meta, n, stride, out, mask); }
function maskedI8L2(query16: usize, info: usize, panels: usize, meta: usize, n: i32, stride: i32, out: usize, mask: usize): void { maskedImpl(L2, query16, info, panels, meta, n, stride, out, mask); }

/**
 * Quantise rows first .. first+n-1 of an f32 panel region (`stride4` floats a row; normalised
 * for cosine) into an int8 panel region (`stride` values a row) and its metadata for `metric`.
 * Unused row slots of the last panel touched are zeroed (values and metadata).
 */
export function encodeI8Rows(metric: i32, panels: usize, first: i32, n: i32, stride4: i32,
                             out: usize, meta: usize, outFirst: i32, stride: i32): void {
  const chunks4 = stride4 >> 2;
  const inBytes = panelBytesOf(chunks4);
  const outBytes = panelBytesOf(stride >> 4);
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const src = panels + <usize>(r >> 2) * inBytes + (<usize>(r & 3) << 4);
    const o = outFirst + i;
    const dst = out + <usize>(o >> 2) * outBytes + (<usize>(o & 3) << 4);
    const m = maxAbsRow(src, chunks4, 64);
    const scale: f32 = m / 127;
    const inverse = f32x4.splat(m > 0 ? <f32>127 / m : 0);
    let squares = i32x4.splat(0);
    for (let qc = 0; qc < (stride >> 4); qc++) {
      const c = qc << 2;
      const v0 = c < chunks4 ? v128.load(src + (<usize>c << 6)) : f32x4.splat(0);
      const v1 = c + 1 < chunks4 ? v128.load(src + (<usize>(c + 1) << 6)) : f32x4.splat(0);
      const v2 = c + 2 < chunks4 ? v128.load(src + (<usize>(c + 2) << 6)) : f32x4.splat(0);
      const v3 = c + 3 < chunks4 ? v128.load(src + (<usize>(c + 3) << 6)) : f32x4.splat(0);
      const q0 = roundedInt(rounded(f32x4.mul(v0, inverse))), q1 = roundedInt(rounded(f32x4.mul(v1, inverse)));
      const q2 = roundedInt(rounded(f32x4.mul(v2, inverse))), q3 = roundedInt(rounded(f32x4.mul(v3, inverse)));
      squares = i32x4.add(squares, i32x4.add(i32x4.add(i32x4.mul(q0, q0), i32x4.mul(q1, q1)),
                                             i32x4.add(i32x4.mul(q2, q2), i32x4.mul(q3, q3))));
      v128.store(dst + (<usize>qc << 6),
        i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    const sq = <f64>(i32x4.extract_lane(squares, 0) + i32x4.extract_lane(squares, 1) +
                     i32x4.extract_lane(squares, 2) + i32x4.extract_lane(squares, 3));
    const slot = meta + (<usize>(o >> 2) << 5) + (<usize>(o & 3) << 2);
    if (metric == COSINE) {
      store<f32>(slot, sq > 0 ? <f32>(1.0 / Math.sqrt(sq)) : 0);
      store<f32>(slot, 0, 16);
    } else {
      store<f32>(slot, scale);
      store<f32>(slot, metric == L2 ? <f32>(<f64>scale * <f64>scale * sq) : 0, 16);
    }
  }
  for (let z = outFirst + n; (z & 3) != 0; z++) {
    const dst = out + <usize>(z >> 2) * outBytes + (<usize>(z & 3) << 4);
    for (let qc = 0; qc < (stride >> 4); qc++) v128.store(dst + (<usize>qc << 6), i32x4.splat(0));
    const slot = meta + (<usize>(z >> 2) << 5) + (<usize>(z & 3) << 2);
    store<f32>(slot, 0);
    store<f32>(slot, 0, 16);
  }
}

/**
 * Rows first .. first+n-1 of an int8 region as f32 into an f32 panel region (`stride4` floats a
 * row): q_r * rowScale, i.e. s_r q_r for dot and l2, and the unit vector q_r / |q_r| that cosine
 * scores against. What get() returns.
 */
export function widenI8Panels(panels: usize, meta: usize, first: i32, n: i32, stride: i32,
                              out: usize, outFirst: i32, stride4: i32): void {
  const inBytes = panelBytesOf(stride >> 4);
  const outBytes = panelBytesOf(stride4 >> 2);
  const chunks4 = stride4 >> 2;
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const src = panels + <usize>(r >> 2) * inBytes + (<usize>(r & 3) << 4);
    const o = outFirst + i;
    const dst = out + <usize>(o >> 2) * outBytes + (<usize>(o & 3) << 4);
    const s = f32x4.splat(load<f32>(meta + (<usize>(r >> 2) << 5) + (<usize>(r & 3) << 2)));
    for (let qc = 0; qc < (stride >> 4); qc++) {
      const v = v128.load(src + (<usize>qc << 6));
      const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
      const c = qc << 2;
      if (c < chunks4) v128.store(dst + (<usize>c << 6), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), s));
      if (c + 1 < chunks4) v128.store(dst + (<usize>(c + 1) << 6), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), s));
      if (c + 2 < chunks4) v128.store(dst + (<usize>(c + 2) << 6), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), s));
      if (c + 3 < chunks4) v128.store(dst + (<usize>(c + 3) << 6), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), s));
    }
  }
}

/**
 * The l2 metadata rowSq = s_r^2 |q_r|^2 of rows first .. first+n-1 from their values and their
 * rowScale (= s_r), computed exactly as encodeI8Rows does (rows loaded from a file); other metrics
 * keep 0 there.
 */
export function i8RowSquares(metric: i32, panels: usize, meta: usize, first: i32, n: i32, stride: i32): void {
  const bytes = panelBytesOf(stride >> 4);
  for (let r = first; r < first + n; r++) {
    const src = panels + <usize>(r >> 2) * bytes + (<usize>(r & 3) << 4);
    let squares = i32x4.splat(0);
    for (let qc = 0; qc < (stride >> 4); qc++) {
      const v = v128.load(src + (<usize>qc << 6));
      const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
      squares = i32x4.add(squares, i32x4.add(i32x4.dot_i16x8_s(lo, lo), i32x4.dot_i16x8_s(hi, hi)));
    }
    const sq = <f64>(i32x4.extract_lane(squares, 0) + i32x4.extract_lane(squares, 1) +
                     i32x4.extract_lane(squares, 2) + i32x4.extract_lane(squares, 3));
    const slot = meta + (<usize>(r >> 2) << 5) + (<usize>(r & 3) << 2);
    const scale = <f64>load<f32>(slot);
    store<f32>(slot, metric == L2 ? <f32>(scale * scale * sq) : 0, 16);
  }
}
