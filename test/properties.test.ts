// Property-based tests (fast-check) over shapes and values: for any dim, N, M, k and any finite
// values (mixed magnitudes, zeros, duplicates), every kernel agrees with the float64 reference,
// on both backends.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { HybridEngine } from '../src/index.js';
import { BACKENDS, requireGpuInCi, useEngine } from './gpu-setup.js';
import { cosineReference, expectScoresClose, expectTopK, expectTopKWithin } from './helpers.js';

requireGpuInCi();

/** dim, rows and values: floats in [-1, 1] scaled per row by 10^e, e in [-20, 20]; some zero rows, some duplicates. */
const matrixArbitrary = (maxRows: number) => fc.record({
  dim: fc.integer({ min: 1, max: 70 }),
  rows: fc.integer({ min: 1, max: maxRows }),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
}).map(({ dim, rows, seed }) => {
  let s = seed;
  const random = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const kind = random();
    const scale = 10 ** Math.round(random() * 40 - 20);
    for (let j = 0; j < dim; j++) {
      data[r * dim + j] = kind < 0.05 ? 0 : (random() * 2 - 1) * scale;
    }
    if (kind > 0.95 && r > 0) data.copyWithin(r * dim, 0, dim); // a duplicate of row 0
  }
  return { dim, rows, data, random };
});

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  let hs!: HybridEngine;
  useEngine(name, skip, (engine) => { hs = engine; });

  it.skipIf(skip)('cosineSimilarity and cosineSimilarityMatrix match float64 for any shape', async () => {
    await fc.assert(fc.asyncProperty(matrixArbitrary(300), fc.integer({ min: 1, max: 9 }), async ({ dim, data, random }, m) => {
      const queries = new Float32Array(m * dim).map(() => random() * 2 - 1);
      const reference = cosineReference(queries, data, dim);
      expectScoresClose(await hs.cosineSimilarityMatrix(queries, data, { dim, backend }), reference, 'matrix');
      expectScoresClose(await hs.cosineSimilarity(queries.subarray(0, dim), data, { backend }),
        reference.subarray(0, data.length / dim), 'one query');
    }), { numRuns: backend === 'gpu' ? 25 : 60, seed: 20261121 });
  });

  it.skipIf(skip)('index search and searchBatch match float64 for any shape and k', async () => {
    await fc.assert(fc.asyncProperty(matrixArbitrary(400), fc.integer({ min: 1, max: 450 }), fc.integer({ min: 1, max: 6 }),
      async ({ dim, rows, data, random }, k, m) => {
        const index = await hs.createIndex(data.subarray(0, Math.floor(rows / 2) * dim), { dim });
        await index.add(data.subarray(Math.floor(rows / 2) * dim));
        const queries = new Float32Array(m * dim).map(() => random() * 2 - 1);
        const query = queries.subarray(0, dim);
        const reference = cosineReference(query, data, dim);
        const scores = await index.scores(query, { backend });
        expectScoresClose(scores, reference, 'scores');
        expectTopK(await index.search(query, { k, backend }), k, scores, reference, 'search');
        const batch = await index.searchBatch(queries, { k, backend });
        batch.forEach((result, q) => expectTopKWithin(result, k, cosineReference(queries.subarray(q * dim, (q + 1) * dim), data, dim), `batch ${q}`));
        index.dispose();
      }), { numRuns: backend === 'gpu' ? 20 : 50, seed: 20261122 });
  });
});
