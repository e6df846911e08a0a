// Shared by every test, in Node and in the browser page (test/browser/): the shapes every
// backend is tested on, seeded random data, float64 references, and checks that can fail.
// Free of vitest and of Node APIs so that test/browser/harness.ts can bundle it for Chromium:
// a failed check throws an Error naming what differs.

import type { Metric } from '../src/index.js';

/** Tolerance on every score against the float64 reference. */
export const TOLERANCE = 1e-5;

/** Row lengths every cosine and index case runs with (not multiples of 4 among them). */
export const DIMS = [1, 3, 4, 5, 17, 128, 384, 768, 1536];
/**
 * Set by `npm run test:long` (HYBRID_SIMILARITY_LONG_TESTS=1; scripts/test.mjs): the long cases
 * run instead of the quick ones. Read without Node's types: this file is bundled for the page too.
 */
export const LONG = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  ?.HYBRID_SIMILARITY_LONG_TESTS === '1';
/**
 * Row counts: one row, a partly filled panel, 1000, and 4099 (`npm test`: past the int8 copy's
 * 4096 rows, several GPU top-k blocks, split across threads from dim 512, a partial last panel);
 * 100000 rows in the long run (`npm run test:long`), which runs the tables again with these only.
 */
export const NS = LONG ? [100000] : [1, 7, 1000, 4099];
/** Rows of the cases that want a large corpus: 20000 (`npm test`), 100000 (`npm run test:long`). */
export const LARGE_N = LONG ? 100000 : 20000;
/** Query counts of the batch and matrix cases. */
export const MS = [1, 2, 5, 64, 70];

/** Throw `message` unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** mulberry32: a small seeded generator, so each case's data is fresh but reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rows` x `dim` values uniform in [-1, 1], never exactly zero. */
export function randomMatrix(rows: number, dim: number, random: () => number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < out.length; i++) {
    let x = random() * 2 - 1;
    if (x === 0) x = 0.5;
    out[i] = x;
  }
  return out;
}

/** float64 cosine of every query row against every vector row: M x N row-major. */
export function cosineReference(queries: Float32Array, vectors: Float32Array, dim: number): Float64Array {
  const m = queries.length / dim;
  const n = vectors.length / dim;
  const vectorNorms = new Float64Array(n);
  for (let r = 0; r < n; r++) vectorNorms[r] = norm(vectors, r * dim, dim);
  const out = new Float64Array(m * n);
  for (let q = 0; q < m; q++) {
    const qn = norm(queries, q * dim, dim);
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += queries[q * dim + j]! * vectors[r * dim + j]!;
      const denominator = qn * vectorNorms[r]!;
      out[q * n + r] = denominator === 0 ? 0 : dot / denominator;
    }
  }
  return out;
}

function norm(data: Float32Array, offset: number, dim: number): number {
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += data[offset + j]! * data[offset + j]!;
  return Math.sqrt(sum);
}

/** Every score finite (poisoned NaN shows an unwritten element) and within TOLERANCE. */
export function expectScoresClose(actual: Float32Array, expected: Float64Array | number[], label = ''): void {
  check(actual.length === expected.length, `${label} length: got ${actual.length}, want ${expected.length}`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    if (!Number.isFinite(a)) throw new Error(`${label} element ${i} is ${a} (unwritten or broken)`);
    const error = Math.abs(a - expected[i]!);
    if (error > worst) {
      worst = error;
      worstAt = i;
    }
  }
  check(worst < TOLERANCE, `${label} worst error ${worst} at ${worstAt}: got ${actual[worstAt]}, want ${expected[worstAt]}`);
}

/** Indices of the k best of `scores`: higher first, ties to the lower index. */
export function topKOf(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => (scores[b]! - scores[a]!) || (a - b));
  return order.slice(0, Math.min(k, scores.length));
}

/**
 * A top-k result is right when: it is exactly the top-k of the engine's own full scores (same
 * bits, same tie order), and those are within TOLERANCE of the float64 reference, and no row
 * left out beats the worst row kept by more than twice the tolerance in the reference.
 */
export function expectTopK(result: { indices?: Uint32Array; scores: Float32Array }, k: number,
  ownScores: Float32Array, reference: Float64Array, label = ''): void {
  const want = topKOf(ownScores, k);
  expectSameValues(result.indices!, want, `${label} indices`);
  expectSameValues(result.scores, want.map((i) => ownScores[i]!), `${label} scores`);
  if (want.length === 0) return;
  const kept = new Set(want);
  let worstKept = Infinity;
  for (const i of want) worstKept = Math.min(worstKept, reference[i]!);
  for (let i = 0; i < reference.length; i++) {
    if (!kept.has(i) && reference[i]! > worstKept + 2 * TOLERANCE) {
      throw new Error(`${label} row ${i} (reference ${reference[i]}) beats kept ${worstKept} but was left out`);
    }
  }
}

/** Element-wise identity (Object.is), reporting the first difference; fast on long arrays. */
export function expectSameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, label = ''): void {
  check(actual.length === expected.length, `${label} length: got ${actual.length}, want ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/**
 * A top-k result checked against the float64 reference alone (for results whose scores come
 * from a different kernel than `scores()`, e.g. the GPU's matrix kernel): length, order (score
 * descending, ties to the lower index), every score within `tolerance` of the reference, and no
 * row left out that beats the worst kept by more than twice the tolerance.
 */
export function expectTopKWithin(result: { indices?: Uint32Array; scores: Float32Array }, k: number,
  reference: Float64Array, label = '', tolerance = TOLERANCE): void {
  const indices = result.indices!;
  check(indices.length === Math.min(k, reference.length),
    `${label} length: got ${indices.length}, want ${Math.min(k, reference.length)}`);
  check(new Set(indices).size === indices.length, `${label}: rows repeat`);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i]!;
    const score = result.scores[i]!;
    if (!Number.isFinite(score)) throw new Error(`${label} score ${i} is ${score}`);
    if (Math.abs(score - reference[row]!) >= tolerance) {
      throw new Error(`${label} row ${row}: score ${score}, reference ${reference[row]}`);
    }
    if (i > 0) {
      const previous = result.scores[i - 1]!;
      const ordered = previous > score || (previous === score && indices[i - 1]! < row);
      if (!ordered) throw new Error(`${label} entries ${i - 1} and ${i} are out of order`);
    }
  }
  if (indices.length === 0) return;
  const kept = new Set(indices);
  let worstKept = Infinity;
  for (const i of kept) worstKept = Math.min(worstKept, reference[i]!);
  for (let i = 0; i < reference.length; i++) {
    if (!kept.has(i) && reference[i]! > worstKept + 2 * tolerance) {
      throw new Error(`${label} row ${i} (reference ${reference[i]}) beats kept ${worstKept} but was left out`);
    }
  }
}

/**
 * The k best positions of an index's own scores for `metric` (l2: distances, ascending; else
 * descending), ties to the earlier position, among the positions `allowed` passes.
 */
export function topOf(scores: Float32Array, k: number, metric: Metric, allowed: (i: number) => boolean = () => true): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).filter(allowed);
  const sign = metric === 'l2' ? -1 : 1;
  order.sort((a, b) => (sign * (scores[b]! - scores[a]!)) || (a - b));
  return order.slice(0, k);
}

/**
 * float64 value of `metric` for query q against row v (cosine of the rows as given; l2: squared
 * distance), and the pair's scale for a relative tolerance (|q||v|; l2: |q|^2 + |v|^2).
 */
export function metricReference(metric: Metric, q: Float32Array, v: Float32Array): { value: number; scale: number } {
  let dot = 0, qq = 0, vv = 0, d2 = 0;
  for (let i = 0; i < q.length; i++) {
    dot += q[i]! * v[i]!;
    qq += q[i]! * q[i]!;
    vv += v[i]! * v[i]!;
    d2 += (q[i]! - v[i]!) ** 2;
  }
  if (metric === 'cosine') return { value: qq === 0 || vv === 0 ? 0 : dot / Math.sqrt(qq * vv), scale: 1 };
  if (metric === 'dot') return { value: dot, scale: Math.sqrt(qq * vv) };
  return { value: d2, scale: qq + vv };
}
