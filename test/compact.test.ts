// Single-query top-k through the int8 copy (asm/compact.ts) must equal the exact f32 top-k bit
// for bit, on data built to make the bounds work hard; and the bounds must hold row by row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usesCompactTopK } from '../src/cpu/cpu-backend.js';
import type { CorpusStore } from '../src/cpu/cpu-memory.js';
import { createHybrid, type HybridEngine, type VectorIndex } from '../src/index.js';
import { memoryOf, poisonFreeMemory } from '../src/testing.js';
import { cosineReference, expectScoresClose, expectTopK, randomMatrix, rng } from './helpers.js';

let hs: HybridEngine;
beforeAll(async () => {
  hs = await createHybrid({ gpu: null });
});
afterAll(async () => {
  await hs.dispose();
});

/** Search, then check against the exact scores of `index.scores` and the float64 reference. */
async function expectExactTopK(index: VectorIndex, vectors: Float32Array, query: Float32Array, k: number, label: string) {
  expect(usesCompactTopK(index.size, index.dim, k), `${label}: takes the int8 path`).toBe(true);
  poisonFreeMemory(hs);
  const result = await index.search(query, { k });
  const scores = await index.scores(query);
  const reference = cosineReference(query, vectors, index.dim);
  expectScoresClose(scores, reference, label);
  expectTopK(result, k, scores, reference, label);
}

describe('int8 top-k equals the exact top-k', () => {
  it('clustered near-duplicates: many rows within the bound of the k-th', async () => {
    const dim = 96;
    const n = 20000;
    const random = rng(1);
    const centres = randomMatrix(5, dim, random);
    const vectors = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) {
      const c = r % 5;
      for (let j = 0; j < dim; j++) vectors[r * dim + j] = centres[c * dim + j]! + 1e-3 * (random() * 2 - 1);
    }
    const index = await hs.createIndex(vectors, { dim });
    const query = centres.slice(2 * dim, 3 * dim).map((x) => x + 1e-3 * (random() * 2 - 1));
    for (const k of [1, 10, 100, 312]) await expectExactTopK(index, vectors, query, k, `clustered k ${k}`);
    index.dispose();
  });

  it('exact duplicates of the best row: ties go to the lower index', async () => {
    const dim = 64;
    const n = 8192;
    const random = rng(2);
    const vectors = randomMatrix(n, dim, random);
    const best = vectors.slice(5000 * dim, 5001 * dim);
    for (const r of [17, 4096, 8191]) vectors.set(best, r * dim);
    const index = await hs.createIndex(vectors, { dim });
    const result = await index.search(best, { k: 4 });
    expect(Array.from(result.indices)).toEqual([17, 4096, 5000, 8191]);
    await expectExactTopK(index, vectors, best, 10, 'duplicates');
    index.dispose();
  });

  it('a zero query scores 0 everywhere: the lowest indices win', async () => {
    const dim = 40;
    const vectors = randomMatrix(5000, dim, rng(3));
    const index = await hs.createIndex(vectors, { dim });
    const result = await index.search(new Float32Array(dim), { k: 5 });
    expect(Array.from(result.indices)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(result.scores)).toEqual([0, 0, 0, 0, 0]);
    index.dispose();
  });

  it('spiky rows (one large component) and zero rows', async () => {
    const dim = 50;
    const n = 6000;
    const random = rng(4);
    const vectors = randomMatrix(n, dim, random);
    for (let r = 0; r < n; r += 3) vectors[r * dim + (r % dim)] = 1000;
    for (let r = 1; r < n; r += 97) vectors.fill(0, r * dim, (r + 1) * dim);
    const index = await hs.createIndex(vectors, { dim });
    for (let t = 0; t < 5; t++) {
      const query = randomMatrix(1, dim, random);
      if (t % 2 === 0) query[t] = 50;
      await expectExactTopK(index, vectors, query, 20, `spiky ${t}`);
    }
    index.dispose();
  });

  it('rows added after the int8 copy was built are found', async () => {
    const dim = 33;
    const random = rng(5);
    const first = randomMatrix(6001, dim, random);
    const index = await hs.createIndex(first, { dim });
    const query = randomMatrix(1, dim, random);
    await index.search(query, { k: 10 }); // builds the int8 copy of 6001 rows
    const more = randomMatrix(3003, dim, random);
    more.set(query, 1500 * dim); // the perfect match is a new row
    await index.add(more);
    const all = new Float32Array([...first, ...more]);
    const result = await index.search(query, { k: 10 });
    expect(result.indices[0]).toBe(6001 + 1500);
    await expectExactTopK(index, all, query, 10, 'after add');
    index.dispose();
  });

  it('random data, many queries, awkward dims', async () => {
    for (const dim of [32, 37, 100, 257]) {
      const random = rng(dim);
      const n = 4096 + 3 * dim;
      const vectors = randomMatrix(n, dim, random);
      const index = await hs.createIndex(vectors, { dim });
      for (let t = 0; t < 4; t++) {
        await expectExactTopK(index, vectors, randomMatrix(1, dim, random), 1 + t * 21, `dim ${dim} query ${t}`);
      }
      index.dispose();
    }
  });
});

describe('int8 bounds', () => {
  it('lower <= exact score <= upper for every row', async () => {
    const dim = 77;
    const n = 3001;
    const random = rng(6);
    const vectors = randomMatrix(n, dim, random);
    for (let r = 0; r < n; r += 5) vectors[r * dim] = 300 * vectors[r * dim]!; // some spiky rows
    const index = await hs.createIndex(vectors, { dim });
    const memory = memoryOf(hs);
    const corpus = index.corpus as CorpusStore;
    const { compact, meta, qstride } = corpus.compactCopy();
    for (let t = 0; t < 5; t++) {
      const query = randomMatrix(1, dim, random);
      const exact = await index.scores(query);
      const staged = memory.stageQueries(query, dim, 'query');
      const { arena, kernels } = memory;
      const query16 = arena.alloc(qstride * 2);
      const info = arena.alloc(12);
      const rows = Math.ceil(n / 4) * 4;
      const lower = arena.alloc(rows * 4);
      const upper = arena.alloc(rows * 4);
      kernels.quantizeQuery(staged.ptr, corpus.stride, query16, qstride, info);
      (kernels as unknown as { compactBounds: (...args: number[]) => void })
        .compactBounds(query16, info, compact, meta, 0, n, qstride, 0, lower, upper);
      let widest = 0;
      for (let r = 0; r < n; r++) {
        const lo = arena.f32[(lower >>> 2) + r]!;
        const hi = arena.f32[(upper >>> 2) + r]!;
        // Zero slack here: the bound itself must hold within f32 rounding of the exact kernel.
        expect(lo, `row ${r} lower`).toBeLessThanOrEqual(exact[r]! + 1e-6);
        expect(hi, `row ${r} upper`).toBeGreaterThanOrEqual(exact[r]! - 1e-6);
        widest = Math.max(widest, hi - lo);
      }
      expect(widest, 'bounds are useful, not vacuous').toBeLessThan(0.2);
      for (const ptr of [upper, lower, info, query16]) arena.free(ptr);
      staged.release();
    }
    index.dispose();
  });
});
