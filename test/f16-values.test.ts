// Every binary16 value an f16 index can hold (both zeros and every normal value, each sign), stored
// and read back: get() returns it exactly, and a one-hot query scores it exactly in every lane of
// a chunk (dim 8: lanes 0..7; dim 13: a chunk cut short), through both dot variants of the f16
// kernels (a small query pre-scaled, a large one with the rows rescaled) and on every backend.
import { describe, expect, it } from 'vitest';
import type { HybridEngine } from '../src/index.js';
import { BACKENDS, requireGpuInCi, useEngine } from './gpu-setup.js';

requireGpuInCi();

/** The value of a binary16 bit pattern (finite, not subnormal). */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 31;
  const mantissa = bits & 1023;
  if (exponent === 0) return sign * 0;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** Both zeros and every normal binary16 value, in bit-pattern order. */
function everyHalf(): Float32Array {
  const values: number[] = [];
  for (let bits = 0; bits < 0x10000; bits++) {
    const exponent = (bits >> 10) & 31;
    if (exponent === 31 || (exponent === 0 && (bits & 1023) !== 0)) continue;
    values.push(halfValue(bits));
  }
  return Float32Array.from(values);
}

const HALVES = everyHalf();

describe.each(BACKENDS)('every f16 value ($name)', ({ name, skip }) => {
  let engine!: HybridEngine;
  useEngine(name, skip, (e) => { engine = e; });

  it.skipIf(skip).each([8, 13])('dim %i: stored, read back and scored exactly', async (dim) => {
    expect(HALVES.length).toBe(2 * 30 * 1024 + 2);
    const rows = Math.ceil(HALVES.length / dim);
    const vectors = new Float32Array(rows * dim);
    for (let i = 0; i < vectors.length; i++) vectors[i] = HALVES[(i * 7919) % HALVES.length]!; // every value, shuffled over the lanes
    const index = await engine.createIndex(vectors, { dim, dtype: 'f16', metric: 'dot' });
    try {
      for (let r = 0; r < rows; r += 97) {
        expect(Array.from((await index.get(r))!)).toEqual(Array.from(vectors.subarray(r * dim, (r + 1) * dim)));
      }
      for (const scale of [1, 2 ** 16]) {
        for (let lane = 0; lane < dim; lane++) {
          const query = new Float32Array(dim);
          query[lane] = scale;
          const scores = await index.scores(query);
          expect(scores.length).toBe(rows);
          for (let r = 0; r < rows; r++) {
            const want = vectors[r * dim + lane]! * scale;
            if (!Object.is(scores[r], want) && !(want === 0 && scores[r] === 0)) {
              throw new Error(`row ${r} lane ${lane} scale ${scale}: scored ${scores[r]}, stored ${vectors[r * dim + lane]}`);
            }
          }
        }
      }
    } finally {
      await index.dispose();
    }
  }, 60_000);
});
