// Property-based tests (fast-check) over shapes and values: for any dim, N, M, k and any finite
// values (mixed magnitudes, zeros, duplicates), every kernel agrees with the float64 reference,
// on both backends.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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

  it.skipIf(skip)('any metric, dtype, keys, removals and filter: search is the exact top-k of the live, passing rows', async () => {
    const tolerance = { f32: 1e-5, f16: 2e-3, i8: 2e-2 } as const;
    await fc.assert(fc.asyncProperty(fc.record({
      dim: fc.integer({ min: 1, max: 40 }), rows: fc.integer({ min: 1, max: 300 }), k: fc.integer({ min: 1, max: 320 }),
      metric: fc.constantFrom('cosine' as const, 'dot' as const, 'l2' as const), dtype: fc.constantFrom('f32' as const, 'f16' as const, 'i8' as const),
      strings: fc.boolean(), removeEvery: fc.integer({ min: 2, max: 9 }), keepEvery: fc.integer({ min: 1, max: 5 }), seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    }), async ({ dim, rows, k, metric, dtype, strings, removeEvery, keepEvery, seed }) => {
      let s = seed;
      const random = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
      // Magnitudes every dtype holds (f16 up to 65504) and whose squares stay finite in f32.
      const data = new Float32Array(rows * dim).map(() => (random() * 2 - 1) * 10 ** Math.round(random() * 4 - 2));
      if (rows > 2) data.copyWithin(dim, 0, dim);
      const keys = Array.from({ length: rows }, (_, i) => (strings ? `r${i}` : i * 3));
      const index = await hs.createIndex(data, { dim, metric, dtype, keys: keys as never[] });
      const removed = keys.filter((_, i) => i % removeEvery === 1);
      await index.remove(removed as never[]);
      const live = keys.filter((_, i) => i % removeEvery !== 1);
      const query = new Float32Array(dim).map(() => random() * 2 - 1);
      const scores = await index.scores(query, { backend });
      expect(index.keys()).toEqual(live);
      live.forEach((key, i) => {
        const r = keys.indexOf(key);
        let dot = 0, qq = 0, vv = 0, d2 = 0;
        for (let j = 0; j < dim; j++) {
          const x = query[j]!, y = data[r * dim + j]!;
          dot += x * y; qq += x * x; vv += y * y; d2 += (x - y) ** 2;
        }
        const [want, scale] = metric === 'cosine' ? [qq && vv ? dot / Math.sqrt(qq * vv) : 0, 1] : metric === 'dot' ? [dot, Math.sqrt(qq * vv)] : [d2, qq + vv];
        expect(Math.abs(scores[i]! - want), `${metric}/${dtype} row ${r}`).toBeLessThanOrEqual(tolerance[dtype] * Math.max(scale, 1e-3) + 1e-6);
      });
      const allowed = new Set(live.filter((_, i) => i % keepEvery === 0));
      const result = await index.search(query, { k, filter: allowed as never, backend });
      const order = live.map((_, i) => i).filter((i) => allowed.has(live[i]!));
      const sign = metric === 'l2' ? -1 : 1;
      order.sort((a, b) => (sign * (scores[b]! - scores[a]!)) || (a - b));
      const want = order.slice(0, k);
      expect(result.keys).toEqual(want.map((i) => live[i]!));
      expect(Array.from(result.scores)).toEqual(want.map((i) => scores[i]!));
      index.dispose();
    }), { numRuns: backend === 'gpu' ? 20 : 60, seed: 20261201 });
  });
});
