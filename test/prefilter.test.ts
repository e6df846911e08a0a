// Top-k through the int8 prefilter (asm/prefilter.ts) must equal the exact top-k bit for bit, for
// every metric and both dtypes that keep one (f32, f16), on data built to make the bounds work
// hard, across segments, with removed rows and filters; and the bounds must hold row by row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefilterGamma } from '../src/cpu/store-calls.js';
import { createHybrid, type HybridEngine, type Metric, type VectorIndex } from '../src/index.js';
import type { Segment } from '../src/store/segment.js';
import { memoryOf, poisonFreeMemory, resetStoreLimits, setStoreLimits } from '../src/testing.js';
import { expectSameValues, randomMatrix, rng } from './helpers.js';

let hs: HybridEngine;
beforeAll(async () => {
  // Segments of 8192 rows at dim 64 (f32), so that several segments each keep a prefilter.
  setStoreLimits({ segmentBytes: 8192 * 64 * 4 });
  hs = await createHybrid({ gpu: null });
});
afterAll(async () => {
  await hs.dispose();
  resetStoreLimits();
});

/** The k best of a metric's scores: descending (l2 ascending), ties to the lower position. */
function topOf(scores: Float32Array, k: number, metric: Metric, allowed?: (i: number) => boolean): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).filter((i) => !allowed || allowed(i));
  const sign = metric === 'l2' ? -1 : 1;
  order.sort((a, b) => (sign * (scores[b]! - scores[a]!)) || (a - b));
  return order.slice(0, k);
}

/** The search (plain and filtered) equals the top-k of the index's own exact scores, bit for bit. */
async function expectExact(index: VectorIndex<number, true>, query: Float32Array, k: number, label: string): Promise<void> {
  const usesPrefilter = index.segmentList.some((s) => (s as Segment).prefilter !== 0 && k * 64 <= s.rows);
  expect(usesPrefilter, `${label}: takes the prefilter path`).toBe(true);
  poisonFreeMemory(hs);
  const scores = await index.scores(query);
  const keys = index.keys();
  const result = await index.search(query, { k });
  const want = topOf(scores, k, index.metric);
  expectSameValues(result.keys, want.map((i) => keys[i]!), `${label} keys`);
  expectSameValues(result.scores, want.map((i) => scores[i]!), `${label} scores`);
  // A filter keeping every third key: the same rows as the scan restricted to them.
  const allowed = (key: number) => key % 3 === 0;
  const filtered = await index.search(query, { k, filter: allowed });
  const wantFiltered = topOf(scores, k, index.metric, (i) => allowed(keys[i]!));
  expectSameValues(filtered.keys, wantFiltered.map((i) => keys[i]!), `${label} filtered keys`);
  expectSameValues(filtered.scores, wantFiltered.map((i) => scores[i]!), `${label} filtered scores`);
}

const cases = (['f32', 'f16'] as const).flatMap((dtype) => (['cosine', 'dot', 'l2'] as const).map((metric) => ({ dtype, metric })));

describe.each(cases)('$dtype rows, $metric: the prefilter top-k is the exact top-k', ({ dtype, metric }) => {
  it('clustered near-duplicates over several segments, with removed rows', async () => {
    const dim = 64;
    const n = 20000;
    const random = rng(1);
    const centres = randomMatrix(5, dim, random);
    const vectors = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) {
      const c = r % 5;
      for (let j = 0; j < dim; j++) vectors[r * dim + j] = centres[c * dim + j]! + 1e-3 * (random() * 2 - 1);
    }
    const index = await hs.createIndex(vectors, { dim, dtype, metric });
    expect(index.segmentList.length).toBeGreaterThan(1);
    const query = centres.slice(2 * dim, 3 * dim).map((x) => x + 1e-3 * (random() * 2 - 1));
    for (const k of [1, 10, 100]) await expectExact(index, query, k, `clustered k ${k}`);
    await index.remove(Array.from({ length: 2000 }, (_, i) => i * 7 + 2));
    for (const k of [1, 10, 100]) await expectExact(index, query, k, `after removals k ${k}`);
    index.dispose();
  });

  it('exact duplicates of the best row: ties go to the row inserted first', async () => {
    const dim = 64;
    const n = 16384;
    const random = rng(2);
    const vectors = randomMatrix(n, dim, random);
    const best = vectors.slice(5000 * dim, 5001 * dim);
    for (const r of [17, 4096, 16383]) vectors.set(best, r * dim);
    const index = await hs.createIndex(vectors, { dim, dtype, metric });
    if (metric !== 'dot') expect((await index.search(best, { k: 4 })).keys).toEqual([17, 4096, 5000, 16383]);
    await expectExact(index, best, 10, 'duplicates');
    index.dispose();
  });

  it('spiky rows (one large component) and zero rows', async () => {
    const dim = 50;
    const n = 9000;
    const random = rng(4);
    const vectors = randomMatrix(n, dim, random);
    for (let r = 0; r < n; r += 3) vectors[r * dim + (r % dim)] = dtype === 'f16' ? 300 : 1000;
    for (let r = 1; r < n; r += 97) vectors.fill(0, r * dim, (r + 1) * dim);
    const index = await hs.createIndex(vectors, { dim, dtype, metric });
    for (let t = 0; t < 4; t++) {
      const query = randomMatrix(1, dim, random);
      if (t % 2 === 0) query[t] = 50;
      await expectExact(index, query, 20, `spiky ${t}`);
    }
    index.dispose();
  });

  it('rows added later (a new segment) are found; awkward dims', async () => {
    for (const dim of [33, 100]) {
      const random = rng(5 + dim);
      const first = randomMatrix(6001, dim, random);
      const index = await hs.createIndex(first, { dim, dtype, metric });
      const query = randomMatrix(1, dim, random);
      await index.search(query, { k: 10 });
      const more = randomMatrix(9003, dim, random);
      more.set(query, 1500 * dim); // the perfect match is a new row
      await index.add(more);
      const result = await index.search(query, { k: 10 });
      if (metric !== 'dot') expect(result.keys[0]).toBe(6001 + 1500);
      await expectExact(index, query, 10, `dim ${dim} after add`);
      index.dispose();
    }
  });
});

describe('prefilter bounds hold row by row', () => {
  it.each(cases)('$dtype rows, $metric: lower <= exact <= upper, and the bounds are tight', async ({ dtype, metric }) => {
    const dim = 77;
    const n = 8192;
    const random = rng(6);
    const vectors = randomMatrix(n, dim, random);
    for (let r = 0; r < n; r += 5) vectors[r * dim] = 30 * vectors[r * dim]!; // some spiky rows
    const index = await hs.createIndex(vectors, { dim, dtype, metric });
    const segment = index.segmentList[0] as Segment;
    expect(segment.prefilter).not.toBe(0);
    const rows = segment.rows; // the first segment's rows are the index's first rows
    const memory = memoryOf(hs);
    const { arena, kernels } = segment.memoryRegion;
    const stride4 = Math.ceil(dim / 4) * 4;
    const pstride = Math.ceil(dim / 16) * 16;
    const codes = { cosine: 0, dot: 1, l2: 2 } as const;
    for (let t = 0; t < 4; t++) {
      const query = randomMatrix(1, dim, random);
      const exact = await index.scores(query); // the metric's values (l2: distances)
      const staged = memory.stageQueries(query, dim, 'query', metric === 'cosine');
      const query16 = arena.alloc(pstride * 2);
      const info = arena.alloc(16);
      const lower = arena.alloc(rows * 4 + 16);
      const upper = arena.alloc(rows * 4 + 16);
      const local = arena.alloc(stride4 * 4);
      new Uint8Array(segment.memoryRegion.memory.buffer, local, stride4 * 4).set(new Uint8Array(memory.arena.memory.buffer, staged.ptr, stride4 * 4));
      kernels.quantizeQuery16(local, stride4, query16, pstride, info);
      kernels.prefilterBounds(codes[metric], query16, info, prefilterGamma(stride4), dtype === 'f16' ? Math.ceil(dim / 8) * 8 : stride4,
        segment.prefilter, segment.prefilterMeta, pstride, rows, lower, upper);
      const widths: number[] = [];
      let low = Infinity;
      let high = -Infinity;
      for (let r = 0; r < rows; r++) {
        const lo = arena.f32[(lower >>> 2) + r]!;
        const hi = arena.f32[(upper >>> 2) + r]!;
        const internal = metric === 'l2' ? -exact[r]! : exact[r]!;
        expect(lo, `row ${r} lower`).toBeLessThanOrEqual(internal);
        expect(hi, `row ${r} upper`).toBeGreaterThanOrEqual(internal);
        widths.push(hi - lo);
        low = Math.min(low, internal);
        high = Math.max(high, internal);
      }
      widths.sort((a, b) => a - b);
      expect(widths[widths.length >> 1]! / (high - low), 'bounds are useful, not vacuous').toBeLessThan(0.1);
      for (const ptr of [local, upper, lower, info, query16]) arena.free(ptr);
      staged.release();
    }
    index.dispose();
  });
});
