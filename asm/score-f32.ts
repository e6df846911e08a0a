// Scores of f32 rows (panels, layout.ts) for each metric. Internal scores are higher-is-better:
//   cosine: clamp(q . r, -1, 1)   (rows and query normalised by the caller)
//   dot:    q . r
//   l2:     -sum (q_i - r_i)^2    (computed directly, not as |q|^2 + |r|^2 - 2 q.r, which loses
//                                  near-duplicates to cancellation)
// One f32x4 accumulator per (query, row) pair over the chunks in ascending order, lanes reduced as
// (l0 + l1) + (l2 + l3): every kernel here (scan, fused top-k, batch blocks, one exact row) gives a
// pair the same bits, so exact ties are real and a row scores the same in scores, search and
// searchBatch. `metric` is a constant wherever these are inlined (the exported wrappers branch once).

import { horizontalSum, clampUnit, panelBytesOf, COSINE, DOT, L2 } from './layout';

/** The internal score of one accumulated pair. */
@inline
export function finishScore(metric: i32, acc: v128): f32 {
  const s = horizontalSum(acc);
  if (metric == COSINE) return clampUnit(s);
  if (metric == DOT) return s;
  return -s;
}

/** acc + the contribution of one chunk pair (x: query chunk, v: row chunk). */
@inline
export function accumulate(metric: i32, acc: v128, x: v128, v: v128): v128 {
  if (metric == L2) {
    const d = f32x4.sub(x, v);
    return f32x4.add(acc, f32x4.mul(d, d));
  }
  return f32x4.add(acc, f32x4.mul(x, v));
}

/** One padded query against the 4 rows of a panel; writes `count` (1..4) scores. */
@inline
export function panel1(metric: i32, q: usize, panel: usize, chunks: i32, out: usize, count: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) {
    const p = panel + (<usize>c << 6);
    const x = v128.load(q + (<usize>c << 4));
    a0 = accumulate(metric, a0, x, v128.load(p));
    a1 = accumulate(metric, a1, x, v128.load(p, 16));
    a2 = accumulate(metric, a2, x, v128.load(p, 32));
    a3 = accumulate(metric, a3, x, v128.load(p, 48));
  }
  store<f32>(out, finishScore(metric, a0));
  if (count > 1) store<f32>(out, finishScore(metric, a1), 4);
  if (count > 2) store<f32>(out, finishScore(metric, a2), 8);
  if (count > 3) store<f32>(out, finishScore(metric, a3), 12);
}

/** Two padded queries `qBytes` apart against a panel; writes `count` scores to out0 and out1. */
@inline
function panel2(metric: i32, q: usize, qBytes: usize, panel: usize, chunks: i32,
                out0: usize, out1: usize, count: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const q1 = q + qBytes;
  for (let c = 0; c < chunks; c++) {
    const p = panel + (<usize>c << 6);
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const x = v128.load(q + (<usize>c << 4));
    a0 = accumulate(metric, a0, x, v0);
    a1 = accumulate(metric, a1, x, v1);
    a2 = accumulate(metric, a2, x, v2);
    a3 = accumulate(metric, a3, x, v3);
    const y = v128.load(q1 + (<usize>c << 4));
    b0 = accumulate(metric, b0, y, v0);
    b1 = accumulate(metric, b1, y, v1);
    b2 = accumulate(metric, b2, y, v2);
    b3 = accumulate(metric, b3, y, v3);
  }
  store<f32>(out0, finishScore(metric, a0));
  store<f32>(out1, finishScore(metric, b0));
  if (count > 1) {
    store<f32>(out0, finishScore(metric, a1), 4);
    store<f32>(out1, finishScore(metric, b1), 4);
  }
  if (count > 2) {
    store<f32>(out0, finishScore(metric, a2), 8);
    store<f32>(out1, finishScore(metric, b2), 8);
  }
  if (count > 3) {
    store<f32>(out0, finishScore(metric, a3), 12);
    store<f32>(out1, finishScore(metric, b3), 12);
  }
}

@inline
function scanImpl(metric: i32, query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  const chunks = stride >> 2;
  const bytes = panelBytesOf(chunks);
  for (let r = 0; r < n; r += 4) {
    panel1(metric, query, panels + <usize>(r >> 2) * bytes, chunks, out + (<usize>r << 2), min<i32>(4, n - r));
  }
}

// Each metric (or variant) gets its own copy of a kernel: a function of its own that inlines the
// generic body with a constant, so that its loops carry no test of the metric. (One exported
// function branching to inlined copies gets its copies merged back by the optimiser into a single
// loop that tests the metric on every chunk, which cost the f32 scan a third of its speed.)

export function scoresF32Cosine(query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  scanImpl(COSINE, query, panels, n, stride, out);
}
export function scoresF32Dot(query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  scanImpl(DOT, query, panels, n, stride, out);
}
export function scoresF32L2(query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  scanImpl(L2, query, panels, n, stride, out);
}

/** out[r] = score(query, row r) for rows 0 .. n-1 of an f32 panel region (`stride` floats a row). */
export function scoresF32(metric: i32, query: usize, panels: usize, n: i32, stride: i32, out: usize): void {
  if (metric == COSINE) scoresF32Cosine(query, panels, n, stride, out);
  else if (metric == DOT) scoresF32Dot(query, panels, n, stride, out);
  else scoresF32L2(query, panels, n, stride, out);
}

/** Scores of the panels of rows [0, count) whose 4-bit mask nibble is set (others not written). */
@inline
function maskedImpl(metric: i32, query: usize, panels: usize, count: i32, stride: i32, out: usize, mask: usize): void {
  const chunks = stride >> 2;
  const bytes = panelBytesOf(chunks);
  for (let r = 0; r < count; r += 32) {
    const word = load<u32>(mask + (<usize>(r >> 5) << 2));
    if (word == 0) continue;
    const end = min<i32>(count, r + 32);
    for (let p = r; p < end; p += 4) {
      if (((word >> <u32>(p - r)) & 15) == 0) continue;
      panel1(metric, query, panels + <usize>(p >> 2) * bytes, chunks, out + (<usize>p << 2), min<i32>(4, end - p));
    }
  }
}

/** scoresF32 for the panels with a set bit in `mask` (bit r = row r) only. */
export function scoresF32Masked(metric: i32, query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void {
  if (metric == COSINE) maskedF32Cosine(query, panels, n, stride, out, mask);
  else if (metric == DOT) maskedF32Dot(query, panels, n, stride, out, mask);
  else maskedF32L2(query, panels, n, stride, out, mask);
}
function maskedF32Cosine(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void {
  maskedImpl(COSINE, query, panels, n, stride, out, mask);
}
function maskedF32Dot(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void {
  maskedImpl(DOT, query, panels, n, stride, out, mask);
}
function maskedF32L2(query: usize, panels: usize, n: i32, stride: i32, out: usize, mask: usize): void {
  maskedImpl(L2, query, panels, n, stride, out, mask);
}

/** The score of one row: the same operations, in the same order, as every kernel above. */
@inline
function rowImpl(metric: i32, query: usize, panels: usize, row: i32, stride: i32): f32 {
  const chunks = stride >> 2;
  const p = panels + <usize>(row >> 2) * panelBytesOf(chunks) + (<usize>(row & 3) << 4);
  let a = f32x4.splat(0);
  for (let c = 0; c < chunks; c++) a = accumulate(metric, a, v128.load(query + (<usize>c << 4)), v128.load(p + (<usize>c << 6)));
  return finishScore(metric, a);
}

/** rowImpl for a metric (its own copy per metric, see above). */
export function rowScoreF32(metric: i32, query: usize, panels: usize, row: i32, stride: i32): f32 {
  if (metric == COSINE) return rowF32Cosine(query, panels, row, stride);
  if (metric == DOT) return rowF32Dot(query, panels, row, stride);
  return rowF32L2(query, panels, row, stride);
}
function rowF32Cosine(query: usize, panels: usize, row: i32, stride: i32): f32 {
  return rowImpl(COSINE, query, panels, row, stride);
}
function rowF32Dot(query: usize, panels: usize, row: i32, stride: i32): f32 {
  return rowImpl(DOT, query, panels, row, stride);
}
function rowF32L2(query: usize, panels: usize, row: i32, stride: i32): f32 {
  return rowImpl(L2, query, panels, row, stride);
}

@inline
function blockImpl(metric: i32, queries: usize, m: i32, panels: usize, n: i32, stride: i32,
                   out: usize, outStride: i32): void {
  const chunks = stride >> 2;
  const bytes = panelBytesOf(chunks);
  const qBytes = <usize>stride << 2;
  const outRowBytes = <usize>outStride << 2;
  let q = 0;
  for (; q + 2 <= m; q += 2) {
    const qp = queries + <usize>q * qBytes;
    const o0 = out + <usize>q * outRowBytes, o1 = o0 + outRowBytes;
    for (let r = 0; r < n; r += 4) {
      panel2(metric, qp, qBytes, panels + <usize>(r >> 2) * bytes, chunks,
             o0 + (<usize>r << 2), o1 + (<usize>r << 2), min<i32>(4, n - r));
    }
  }
  if (q < m) scanImpl(metric, queries + <usize>q * qBytes, panels, n, stride, out + <usize>q * outRowBytes);
}

/**
 * out[q * outStride + r] = score(query q, row r) for `m` padded queries (`stride` floats apart)
 * and rows 0 .. n-1: two queries x four rows at a time (compute bound: 6 loads per 8 pairs).
 */
export function blockScoresF32(metric: i32, queries: usize, m: i32, panels: usize, n: i32, stride: i32,
                               out: usize, outStride: i32): void {
  if (metric == COSINE) blockF32Cosine(queries, m, panels, n, stride, out, outStride);
  else if (metric == DOT) blockF32Dot(queries, m, panels, n, stride, out, outStride);
  else blockF32L2(queries, m, panels, n, stride, out, outStride);
}
function blockF32Cosine(queries: usize, m: i32, panels: usize, n: i32, stride: i32, out: usize, outStride: i32): void {
  blockImpl(COSINE, queries, m, panels, n, stride, out, outStride);
}
function blockF32Dot(queries: usize, m: i32, panels: usize, n: i32, stride: i32, out: usize, outStride: i32): void {
  blockImpl(DOT, queries, m, panels, n, stride, out, outStride);
}
function blockF32L2(queries: usize, m: i32, panels: usize, n: i32, stride: i32, out: usize, outStride: i32): void {
  blockImpl(L2, queries, m, panels, n, stride, out, outStride);
}
