// Resident indexes: search, searchBatch, scores and add against the float64 reference.
import { describe, expect, it } from 'vitest';
import type { HybridEngine, VectorIndex } from '../src/index.js';
import { poisonFreeMemory } from '../src/testing.js';
import { BACKENDS, requireGpuInCi, useEngine } from './gpu-setup.js';
import {
  cosineReference, DIMS, expectSameValues, expectScoresClose, expectTopK, expectTopKWithin, LARGE_N, LONG, NS, randomMatrix, rng,
} from './helpers.js';

requireGpuInCi();

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
let hs!: HybridEngine;
useEngine(name, skip, (engine) => { hs = engine; });

/** Build an index in two steps (createIndex then add) when asked, to cover appends. */
async function buildIndex(vectors: Float32Array, dim: number, split: boolean): Promise<VectorIndex<number, true>> {
  if (!split) return hs.createIndex(vectors, { dim });
  const n = vectors.length / dim;
  const first = Math.floor(n / 3) + (n > 4 ? 1 : 0); // leaves a partly filled panel of 4 rows
  const index = await hs.createIndex(vectors.subarray(0, first * dim), { dim });
  await index.add(vectors.subarray(first * dim));
  return index;
}

describe.skipIf(skip)('index: search and scores, every dim x N x k', () => {
  const cases = DIMS.flatMap((dim) => NS.map((n) => ({ dim, n, split: (dim + n) % 2 === 0 })));
  it.each(cases)('dim $dim, N $n (built with add: $split)', async ({ dim, n, split }) => {
    const random = rng(dim * 31 + n * 17 + 3);
    const vectors = randomMatrix(n, dim, random);
    const index = await buildIndex(vectors, dim, split);
    expect(index.size).toBe(n);
    expect(index.dim).toBe(dim);
    const query = randomMatrix(1, dim, random);
    const reference = cosineReference(query, vectors, dim);

    poisonFreeMemory(hs);
    const scores = await index.scores(query, { backend });
    expectScoresClose(scores, reference, 'scores');

    for (const k of [1, 10, n, n + 5]) {
      poisonFreeMemory(hs);
      const result = await index.search(query, { k, backend });
      expect(result.indices.length).toBe(Math.min(k, n));
      expectTopK(result, k, scores, reference, `k ${k}`);
    }
    index.dispose();
  });
});

describe.skipIf(skip)('index: searchBatch gives each query its own search result', () => {
  const cases = [1, 2, 5, 64, 70].flatMap((m) => [
    { m, dim: 5, n: 1000, k: 10 },
    { m, dim: 128, n: 1000, k: 1 },
    { m, dim: 384, n: 7, k: 12 },
  ]).concat([
    { m: 5, dim: 768, n: LARGE_N, k: 10 },
    { m: 64, dim: 17, n: LARGE_N, k: 10 },
    // k = n, far above the GPU's on-device top-k (64): every row in order. 30000 rows in the long
    // run (70 queries, each checked against scores() and a single search: ~13-19 s over the backends).
    { m: 70, dim: 3, n: LONG ? 30000 : 5000, k: LONG ? 30000 : 5000 },
  ]);
  it.each(cases)('M $m, dim $dim, N $n, k $k', async ({ m, dim, n, k }) => {
    const random = rng(m * 13 + dim * 7 + n + k);
    const vectors = randomMatrix(n, dim, random);
    const index = await hs.createIndex(vectors, { dim });
    const queries = randomMatrix(m, dim, random);
    poisonFreeMemory(hs);
    const results = await index.searchBatch(queries, { k, backend });
    expect(results.length).toBe(m);
    for (let q = 0; q < m; q++) {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const reference = cosineReference(query, vectors, dim);
      if (backend === 'gpu' && m > 1) {
        // The GPU's batch kernel (matrix) sums in another order than its scan: same answer
        // within tolerance, not the same bits.
        expectTopKWithin(results[q]!, k, reference, `query ${q}`);
        continue;
      }
      const scores = await index.scores(query, { backend });
      expectTopK(results[q]!, k, scores, reference, `query ${q}`);
      // Same bits as the single-query search: one accumulation order in every CPU kernel.
      const single = await index.search(query, { k, backend });
      expectSameValues(results[q]!.indices, single.indices, `query ${q} indices`);
      expectSameValues(results[q]!.scores, single.scores, `query ${q} scores`);
    }
    index.dispose();
  });
});

describe.skipIf(skip)('index: ties, zero rows, empty index, growth', () => {
  it('exact ties go to the lower index', async () => {
    const dim = 6;
    const random = rng(99);
    const vectors = randomMatrix(50, dim, random);
    const row = vectors.slice(7 * dim, 8 * dim);
    for (const r of [3, 19, 20, 41]) vectors.set(row, r * dim);
    const index = await hs.createIndex(vectors, { dim });
    const result = await index.search(row, { k: 5, backend });
    expect(Array.from(result.indices.slice(0, 5))).toEqual([3, 7, 19, 20, 41]);
    expect(new Set(result.scores).size).toBe(1);
    const batch = await index.searchBatch(new Float32Array([...row, ...row, ...row]), { k: 3, backend });
    for (const r of batch) expect(Array.from(r.indices)).toEqual([3, 7, 19]);
    index.dispose();
  });

  it('zero rows score 0; a zero query scores 0 everywhere and returns the lowest indices', async () => {
    const dim = 9;
    const random = rng(100);
    const vectors = randomMatrix(20, dim, random);
    vectors.fill(0, 4 * dim, 6 * dim);
    const index = await hs.createIndex(vectors, { dim });
    const query = randomMatrix(1, dim, random);
    const scores = await index.scores(query, { backend });
    expect(scores[4]).toBe(0);
    expect(scores[5]).toBe(0);
    expectScoresClose(scores, cosineReference(query, vectors, dim));
    const zero = await index.search(new Float32Array(dim), { k: 4, backend });
    expect(Array.from(zero.indices)).toEqual([0, 1, 2, 3]);
    expect(Array.from(zero.scores)).toEqual([0, 0, 0, 0]);
    index.dispose();
  });

  it('an empty index returns empty results and fills with add', async () => {
    const dim = 7;
    const index = await hs.createIndex(new Float32Array(0), { dim });
    expect(index.size).toBe(0);
    const query = randomMatrix(1, dim, rng(1));
    const empty = await index.search(query, { k: 3, backend });
    expect(empty.indices.length).toBe(0);
    expect(empty.scores.length).toBe(0);
    expect((await index.scores(query)).length).toBe(0);
    expect((await index.searchBatch(new Float32Array([...query, ...query]), { k: 3 })).map((r) => r.indices.length))
      .toEqual([0, 0]);
    const vectors = randomMatrix(5, dim, rng(2));
    await index.add(vectors);
    expect(index.size).toBe(5);
    expectScoresClose(await index.scores(query, { backend }), cosineReference(query, vectors, dim));
    index.dispose();
  });

  it('many small adds (partly filled panels, capacity doubling) match one build', async () => {
    const dim = 13;
    const random = rng(77);
    const vectors = randomMatrix(997, dim, random);
    const index = await hs.createIndex(new Float32Array(0), { dim });
    let at = 0;
    for (const count of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 389]) {
      await index.add(vectors.subarray(at * dim, (at + count) * dim));
      at += count;
      // Search between adds: the GPU copy is then extended, partial panel by partial panel.
      const partial = vectors.subarray(0, at * dim);
      const q = randomMatrix(1, dim, random);
      expectScoresClose(await index.scores(q, { backend }), cosineReference(q, partial, dim), `after ${at} rows`);
    }
    expect(at).toBe(997);
    expect(index.size).toBe(997);
    const whole = await hs.createIndex(vectors, { dim });
    const query = randomMatrix(1, dim, random);
    const scores = await index.scores(query, { backend });
    expectSameValues(scores, await whole.scores(query, { backend }), 'scores');
    expectScoresClose(scores, cosineReference(query, vectors, dim));
    index.dispose();
    whole.dispose();
  });

  it('the rows given to createIndex and add may be changed afterwards without effect', async () => {
    const dim = 4;
    const vectors = randomMatrix(10, dim, rng(8));
    const copy = vectors.slice();
    const index = await hs.createIndex(vectors, { dim });
    vectors.fill(0.25);
    const query = randomMatrix(1, dim, rng(9));
    expectScoresClose(await index.scores(query, { backend }), cosineReference(query, copy, dim));
    index.dispose();
  });
});
});
