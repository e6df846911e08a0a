// Bad input: a typed HybridError with a distinct code naming the argument, thrown before any
// work, and the engine and its indexes stay usable afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, GpuError, HybridError, mergeResults, type HybridEngine, type VectorIndex } from '../src/index.js';
import { arenaOf } from '../src/testing.js';
import { cosineReference, expectScoresClose, randomMatrix, rng } from './helpers.js';

const dim = 6;
let hs: HybridEngine;
let index: VectorIndex;
const vectors = randomMatrix(40, dim, rng(1));
const query = randomMatrix(1, dim, rng(2));

beforeAll(async () => {
  hs = await createHybrid({ gpu: null });
  index = await hs.createIndex(vectors, { dim });
});
afterAll(async () => {
  await hs.dispose();
});

async function expectHybridError(call: () => Promise<unknown> | unknown, code: string, argument: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'an error was thrown').toBeInstanceOf(HybridError);
  const error = caught as HybridError;
  expect(error.code).toBe(code);
  expect(error.message).toMatch(argument);
}

/** A Float32Array whose buffer was transferred away. */
const detached = (): Float32Array => {
  const array = randomMatrix(1, dim, rng(3));
  structuredClone(array.buffer, { transfer: [array.buffer] });
  return array;
};

const withNaN = (source: Float32Array, at: number, value = Number.NaN): Float32Array => {
  const copy = source.slice();
  copy[at] = value;
  return copy;
};

describe('every bad input gets its own code and names the argument', () => {
  const cases: Array<[string, () => Promise<unknown> | unknown, string, RegExp]> = [
    ['NaN in query', () => hs.cosineSimilarity(withNaN(query, 2), vectors), 'NON_FINITE', /query\[2\] is NaN/],
    ['Infinity in vectors', () => hs.cosineSimilarity(query, withNaN(vectors, 13, Infinity)), 'NON_FINITE', /vectors\[13\] \(row 2, column 1\) is Infinity/],
    ['-Infinity in matrix queries', () => hs.cosineSimilarityMatrix(withNaN(randomMatrix(3, dim, rng(3)), 7, -Infinity), vectors, { dim }), 'NON_FINITE', /queries\[7\]/],
    ['NaN in matrix vectors', () => hs.cosineSimilarityMatrix(query, withNaN(vectors, 200), { dim }), 'NON_FINITE', /vectors\[200\]/],
    ['NaN in createIndex', () => hs.createIndex(withNaN(vectors, 77), { dim }), 'NON_FINITE', /vectors\[77\]/],
    ['NaN in add', () => index.add(withNaN(vectors, 5)), 'NON_FINITE', /vectors\[5\]/],
    ['NaN in search query', () => index.search(withNaN(query, 0), { k: 3 }), 'NON_FINITE', /query\[0\]/],
    ['NaN in searchBatch', () => index.searchBatch(withNaN(randomMatrix(2, dim, rng(4)), 11), { k: 3 }), 'NON_FINITE', /queries\[11\]/],
    ['NaN in scores query', () => index.scores(withNaN(query, 1)), 'NON_FINITE', /query\[1\]/],
    ['vectors not a multiple of dim', () => hs.cosineSimilarity(query, vectors.subarray(0, 20)), 'DIMENSION_MISMATCH', /vectors\.length 20 is not a multiple of dim 6/],
    ['matrix queries not a multiple of dim', () => hs.cosineSimilarityMatrix(query.subarray(0, 5), vectors, { dim }), 'DIMENSION_MISMATCH', /queries\.length 5/],
    ['createIndex not a multiple of dim', () => hs.createIndex(vectors.subarray(0, 7), { dim }), 'DIMENSION_MISMATCH', /vectors\.length 7/],
    ['add not a multiple of dim', () => index.add(vectors.subarray(0, 7)), 'DIMENSION_MISMATCH', /vectors\.length 7/],
    ['query of the wrong length', () => index.search(query.subarray(0, 5), { k: 1 }), 'DIMENSION_MISMATCH', /query\.length is 5, the index has dim 6/],
    ['scores query of the wrong length', () => index.scores(randomMatrix(1, 7, rng(5))), 'DIMENSION_MISMATCH', /query\.length is 7/],
    ['one-shot query longer than dim', () => hs.cosineSimilarity(query, vectors, { dim: 3 }), 'DIMENSION_MISMATCH', /query\.length is 6/],
    ['searchBatch not a multiple of dim', () => index.searchBatch(vectors.subarray(0, 8), { k: 1 }), 'DIMENSION_MISMATCH', /queries\.length 8/],
    ['empty query', () => hs.cosineSimilarity(new Float32Array(0), vectors), 'EMPTY_INPUT', /query is empty/],
    ['empty vectors', () => hs.cosineSimilarity(query, new Float32Array(0)), 'EMPTY_INPUT', /vectors is empty/],
    ['empty matrix queries', () => hs.cosineSimilarityMatrix(new Float32Array(0), vectors, { dim }), 'EMPTY_INPUT', /queries is empty/],
    ['empty search query', () => index.search(new Float32Array(0), { k: 1 }), 'EMPTY_INPUT', /query is empty/],
    ['empty batch', () => index.searchBatch(new Float32Array(0), { k: 1 }), 'EMPTY_INPUT', /queries is empty/],
    ['dim 0', () => hs.createIndex(vectors, { dim: 0 }), 'INVALID_ARGUMENT', /dim must be an integer >= 1, got 0/],
    ['dim -3', () => hs.cosineSimilarity(query, vectors, { dim: -3 }), 'INVALID_ARGUMENT', /dim must be an integer >= 1, got -3/],
    ['dim 2.5', () => hs.cosineSimilarityMatrix(query, vectors, { dim: 2.5 }), 'INVALID_ARGUMENT', /dim .* got 2\.5/],
    ['matrix without dim', () => hs.cosineSimilarityMatrix(query, vectors), 'INVALID_ARGUMENT', /options\.dim is required/],
    ['k 0', () => index.search(query, { k: 0 }), 'INVALID_ARGUMENT', /k must be an integer >= 1, got 0/],
    ['k -1', () => index.searchBatch(query, { k: -1 }), 'INVALID_ARGUMENT', /k must be .* got -1/],
    ['k 1.5', () => index.search(query, { k: 1.5 }), 'INVALID_ARGUMENT', /got 1\.5/],
    ['k NaN', () => index.search(query, { k: Number.NaN }), 'INVALID_ARGUMENT', /got NaN/],
    ['k missing', () => index.search(query, {} as { k: number }), 'INVALID_ARGUMENT', /k must be/],
    ['no options', () => index.search(query, undefined as unknown as { k: number }), 'INVALID_ARGUMENT', /options\.k is required/],
    ['unknown option', () => index.search(query, { k: 1, kk: 2 } as unknown as { k: number }), 'INVALID_ARGUMENT', /options\.kk is not a known option/],
    ['bad backend', () => hs.cosineSimilarity(query, vectors, { backend: 'tpu' as 'cpu' }), 'INVALID_ARGUMENT', /backend must be 'auto', 'cpu' or 'gpu', got "tpu"/],
    ['bad dtype', () => hs.createIndex(vectors, { dim, dtype: 'f64' as 'f32' }), 'INVALID_ARGUMENT', /dtype must be 'f32', 'f16' or 'i8'/],
    ['query as a plain array', () => hs.cosineSimilarity([1, 2, 3] as unknown as Float32Array, vectors), 'INVALID_ARGUMENT', /query must be a Float32Array, got an array/],
    ['vectors as Float64Array', () => hs.createIndex(new Float64Array(12) as unknown as Float32Array, { dim }), 'INVALID_ARGUMENT', /vectors must be a Float32Array, got Float64Array/],
    ['a detached query', () => hs.cosineSimilarity(detached(), vectors), 'INVALID_ARGUMENT', /query is a view of a detached ArrayBuffer/],
    ['detached index rows', () => hs.createIndex(detached(), { dim }), 'INVALID_ARGUMENT', /vectors is a view of a detached ArrayBuffer/],
    ['forced GPU without a GPU', () => hs.cosineSimilarity(query, vectors, { backend: 'gpu' }), 'GPU_UNAVAILABLE', /no GPU/],
    ['forced GPU search without a GPU', () => index.search(query, { k: 2, backend: 'gpu' }), 'GPU_UNAVAILABLE', /no GPU/],
    // An extra argument is a mistake (an option given apart from its object, say), as for the index's calls.
    ['an extra argument to cosineSimilarity', () => (hs.cosineSimilarity as (...a: unknown[]) => unknown)(query, vectors, { dim }, { backend: 'cpu' }), 'INVALID_ARGUMENT', /cosineSimilarity\(query, vectors, \{ dim, backend \}\) takes 3 arguments, got 4/],
    ['an extra argument to cosineSimilarityMatrix', () => (hs.cosineSimilarityMatrix as (...a: unknown[]) => unknown)(query, vectors, { dim }, 1), 'INVALID_ARGUMENT', /takes 3 arguments, got 4/],
    ['an extra argument to createGraph', () => (hs.createGraph as (...a: unknown[]) => unknown)({ nodeCount: 1, from: new Uint32Array(0), to: new Uint32Array(0) }, { undirected: true }), 'INVALID_ARGUMENT', /createGraph\(.*\) takes 1 argument, got 2/],
    ['an extra argument to spreadActivation', () => (hs.spreadActivation as (...a: unknown[]) => unknown)(null, { seeds: {} }, { maxHops: 2 }), 'INVALID_ARGUMENT', /spreadActivation\(.*\) takes 2 arguments, got 3/],
    ['an extra argument to spreadActivationBatch', () => (hs.spreadActivationBatch as (...a: unknown[]) => unknown)(null, { seedSets: [] }, {}), 'INVALID_ARGUMENT', /takes 2 arguments, got 3/],
    ['an argument to info', () => (hs.info as (...a: unknown[]) => unknown)({ verbose: true }), 'INVALID_ARGUMENT', /info\(\) takes 0 arguments, got 1/],
    ['an argument to stats', () => (hs.stats as (...a: unknown[]) => unknown)('cosine'), 'INVALID_ARGUMENT', /stats\(\) takes 0 arguments, got 1/],
    ['an argument to metrics', () => (hs.metrics as (...a: unknown[]) => unknown)({}), 'INVALID_ARGUMENT', /metrics\(\) takes 0 arguments, got 1/],
    ['an argument to warmup', () => (hs.warmup as (...a: unknown[]) => unknown)({ index: 1 }), 'INVALID_ARGUMENT', /warmup\(\) takes 0 arguments, got 1/],
    ['an extra argument to mergeResults', () => (mergeResults as (...a: unknown[]) => unknown)([], { k: 1 }, { metric: 'l2' }), 'INVALID_ARGUMENT', /mergeResults\(lists, \{ k, metric \}\) takes 2 arguments, got 3/],
    // No row passes, so no kernel runs: still no answer as if the GPU had given it.
    ['forced GPU search without a GPU, no row passing', () => index.search(query, { k: 2, backend: 'gpu', filter: [] }), 'GPU_UNAVAILABLE', /no GPU/],
    ['forced GPU searchBatch without a GPU, no row passing', () => index.searchBatch(query, { k: 2, backend: 'gpu', filter: () => false }), 'GPU_UNAVAILABLE', /no GPU/],
  ];

  it.each(cases)('%s', async (_name, call, code, message) => {
    const before = arenaOf(hs).liveBlocks;
    const sizeBefore = index.size;
    await expectHybridError(call, code, message);
    // Nothing leaked, the index is unchanged, and everything still answers correctly.
    expect(arenaOf(hs).liveBlocks).toBe(before);
    expect(index.size).toBe(sizeBefore);
    expectScoresClose(await index.scores(query), cosineReference(query, vectors, dim));
    expectScoresClose(await hs.cosineSimilarity(query, vectors), cosineReference(query, vectors, dim));
  });

  it('a forced GPU call on an empty index without a GPU is GPU_UNAVAILABLE too', async () => {
    const empty = await hs.createIndex(new Float32Array(0), { dim });
    try {
      await expectHybridError(() => empty.scores(query, { backend: 'gpu' }), 'GPU_UNAVAILABLE', /no GPU/);
      await expectHybridError(() => empty.search(query, { k: 1, backend: 'gpu' }), 'GPU_UNAVAILABLE', /no GPU/);
      expect((await empty.search(query, { k: 1, backend: 'cpu' })).keys).toEqual([]);
    } finally {
      empty.dispose();
    }
  });

  it('codes are distinct per kind of mistake', () => {
    const codes = new Set(cases.map(([, , code]) => code));
    expect(codes).toEqual(new Set(['NON_FINITE', 'DIMENSION_MISMATCH', 'EMPTY_INPUT', 'INVALID_ARGUMENT', 'GPU_UNAVAILABLE']));
  });

  it('GpuError is a HybridError with code GPU_FAILED and a kind', () => {
    const error = new GpuError('out-of-memory', 'createBuffer failed');
    expect(error).toBeInstanceOf(HybridError);
    expect(error.code).toBe('GPU_FAILED');
    expect(error.kind).toBe('out-of-memory');
  });
});

describe('dispose', () => {
  it('use after index.dispose() throws DISPOSED; other indexes are unaffected', async () => {
    const other = await hs.createIndex(vectors, { dim });
    const doomed = await hs.createIndex(vectors, { dim });
    doomed.dispose();
    doomed.dispose(); // idempotent
    await expectHybridError(() => doomed.search(query, { k: 1 }), 'DISPOSED', /index has been disposed/);
    await expectHybridError(() => doomed.add(vectors), 'DISPOSED', /index has been disposed/);
    await expectHybridError(() => doomed.scores(query), 'DISPOSED', /index/);
    await expectHybridError(() => doomed.searchBatch(query, { k: 1 }), 'DISPOSED', /index/);
    expectScoresClose(await other.scores(query), cosineReference(query, vectors, dim));
    other.dispose();
  });

  it('use after engine.dispose() throws DISPOSED everywhere; dispose twice is harmless', async () => {
    const engine = await createHybrid({ gpu: null });
    const idx = await engine.createIndex(vectors, { dim });
    await engine.dispose();
    await engine.dispose();
    await expectHybridError(() => engine.cosineSimilarity(query, vectors), 'DISPOSED', /engine has been disposed/);
    await expectHybridError(() => engine.createIndex(vectors, { dim }), 'DISPOSED', /engine/);
    await expectHybridError(() => engine.info(), 'DISPOSED', /engine/);
    await expectHybridError(() => idx.search(query, { k: 1 }), 'DISPOSED', /disposed/);
    expect(arenaOf(engine).liveBlocks).toBe(0);
  });
});
