// One-shot cosine calls against the float64 reference: one table, fresh seeded data per case.
import { describe, expect, it } from 'vitest';
import type { HybridEngine } from '../src/index.js';
import { poisonFreeMemory } from '../src/testing.js';
import { BACKENDS, requireGpuInCi, useEngine } from './gpu-setup.js';
import { cosineReference, DIMS, expectScoresClose, LARGE_N, MS, NS, randomMatrix, rng } from './helpers.js';

requireGpuInCi();

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
let hs!: HybridEngine;
useEngine(name, skip, (engine) => { hs = engine; });

describe.skipIf(skip)('cosineSimilarity: 1 query x N raw rows', () => {
  const cases = DIMS.flatMap((dim) => NS.map((n) => ({ dim, n })));
  it.each(cases)('dim $dim, N $n', async ({ dim, n }) => {
    const random = rng(dim * 7919 + n);
    const query = randomMatrix(1, dim, random);
    const vectors = randomMatrix(n, dim, random);
    poisonFreeMemory(hs);
    const scores = await hs.cosineSimilarity(query, vectors, { backend });
    expectScoresClose(scores, cosineReference(query, vectors, dim), `dim ${dim} N ${n}`);
  });
});

describe.skipIf(skip)('cosineSimilarityMatrix: M queries x N raw rows', () => {
  const cases = [
    ...MS.flatMap((m) => DIMS.flatMap((dim) => [1, 7, 1000].map((n) => ({ m, dim, n })))),
    { m: 64, dim: 17, n: LARGE_N },
    { m: 70, dim: 3, n: LARGE_N },
    { m: 70, dim: 128, n: LARGE_N },
  ];
  it.each(cases)('M $m, dim $dim, N $n', async ({ m, dim, n }) => {
    const random = rng(m * 104729 + dim * 7919 + n);
    const queries = randomMatrix(m, dim, random);
    const vectors = randomMatrix(n, dim, random);
    poisonFreeMemory(hs);
    const scores = await hs.cosineSimilarityMatrix(queries, vectors, { dim, backend });
    expectScoresClose(scores, cosineReference(queries, vectors, dim), `M ${m} dim ${dim} N ${n}`);
  });
});

describe.skipIf(skip)('zero vectors and extreme magnitudes', () => {
  it('a zero row scores 0 and a zero query scores 0 against everything', async () => {
    const dim = 17;
    const random = rng(5);
    const vectors = randomMatrix(9, dim, random);
    vectors.fill(0, 3 * dim, 4 * dim);
    const query = randomMatrix(1, dim, random);
    const scores = await hs.cosineSimilarity(query, vectors, { backend });
    expect(scores[3]).toBe(0);
    expectScoresClose(scores, cosineReference(query, vectors, dim));
    const zeroQuery = new Float32Array(dim);
    expect(Array.from(await hs.cosineSimilarity(zeroQuery, vectors, { backend }))).toEqual(new Array(9).fill(0));
    const matrix = await hs.cosineSimilarityMatrix(new Float32Array([...query, ...zeroQuery]), vectors, { dim, backend });
    expectScoresClose(matrix, cosineReference(new Float32Array([...query, ...zeroQuery]), vectors, dim));
  });

  it('rows of magnitudes from 1e-30 to 1e30 give the same cosines as the reference', async () => {
    for (const dim of [3, 16, 17, 768]) {
      const random = rng(dim);
      const n = 61;
      const vectors = randomMatrix(n, dim, random);
      for (let r = 0; r < n; r++) {
        const scale = 10 ** (r - 30);
        for (let j = 0; j < dim; j++) vectors[r * dim + j]! *= scale;
      }
      for (const queryScale of [1e-30, 1e-12, 1, 1e12, 1e30]) {
        const query = randomMatrix(1, dim, random).map((x) => x * queryScale);
        const reference = cosineReference(query, vectors, dim);
        expectScoresClose(await hs.cosineSimilarity(query, vectors, { backend }), reference, `dim ${dim} x${queryScale}`);
        expectScoresClose(await hs.cosineSimilarityMatrix(query, vectors, { dim, backend }), reference,
          `matrix dim ${dim} x${queryScale}`);
        const index = await hs.createIndex(vectors, { dim });
        expectScoresClose(await index.scores(query, { backend }), reference, `index dim ${dim} x${queryScale}`);
        index.dispose();
      }
    }
  });

  it('identical rows get bit-identical scores', async () => {
    const dim = 37;
    const random = rng(11);
    const row = randomMatrix(1, dim, random);
    const vectors = new Float32Array(10 * dim);
    for (let r = 0; r < 10; r++) vectors.set(row, r * dim);
    const query = randomMatrix(1, dim, random);
    const scores = await hs.cosineSimilarity(query, vectors, { backend });
    expect(new Set(scores).size).toBe(1);
    const matrix = await hs.cosineSimilarityMatrix(new Float32Array([...query, ...query, ...query]), vectors, { dim, backend });
    expect(new Set(matrix).size).toBe(1);
  });

  it('inputs may be subarray views and SharedArrayBuffer-backed', async () => {
    const dim = 5;
    const random = rng(21);
    const backing = randomMatrix(40, dim, random);
    const vectors = backing.subarray(3 * dim, 30 * dim);
    const query = backing.subarray(dim + 0, 2 * dim);
    const shared = new Float32Array(new SharedArrayBuffer(vectors.byteLength));
    shared.set(vectors);
    const reference = cosineReference(new Float32Array(query), new Float32Array(vectors), dim);
    expectScoresClose(await hs.cosineSimilarity(query, vectors, { backend }), reference);
    expectScoresClose(await hs.cosineSimilarity(query, shared, { backend }), reference);
  });
});
});
