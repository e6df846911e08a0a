// Top-k through the int8 prefilter (asm/prefilter.ts) must equal the exact top-k bit for bit, for
// every metric and both dtypes that keep one (f32, f16), on data built to make the bounds work
// hard, across segments, with removed rows and filters; and the bounds must hold row by row. The
// masked kernels (filters given as keys) are checked for every dtype, i8's fused top-k too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefilterGamma } from '../src/cpu/store-calls.js';
import { createHybrid, type HybridEngine, type VectorIndex } from '../src/index.js';
import type { Segment } from '../src/store/segment.js';
import { cpuOf, memoryOf, overlappedCalls, poisonFreeMemory, resetStoreLimits, setBoundsQueueItemBytes, setStoreLimits } from '../src/testing.js';
import { expectSameValues, metricReference, randomMatrix, rng, topOf } from './helpers.js';

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


/** The masked kernels of every dtype: the prefilter's (f32, f16) and the fused top-k's over i8 rows. */
const maskedCases = [...cases, ...(['cosine', 'dot', 'l2'] as const).map((metric) => ({ dtype: 'i8' as const, metric }))];
const FLOAT64_TOLERANCE = { f32: 1e-4, f16: 1e-2, i8: 2e-2 } as const;

describe('filters given as keys, at every density: the masked kernels equal the exact scan', () => {
  it.each(maskedCases)('$dtype rows, $metric: Set and array filters, dense to sparse, across segments, with removed rows', async ({ dtype, metric }) => {
    const dim = 61; // not a multiple of 4
    const n = 17_003; // several segments (f32: three), the last with a partial word and panel
    const random = rng(31);
    const vectors = randomMatrix(n, dim, random);
    for (const r of [40, 8190, 8191, 16999]) vectors.set(vectors.subarray(9 * dim, 10 * dim), r * dim); // ties
    // i8 rows take a quarter of f32's bytes: the same 8192-row segments need a quarter of the bytes.
    if (dtype === 'i8') setStoreLimits({ segmentBytes: 8192 * 64 });
    const index = await hs.createIndex(vectors, { dim, dtype, metric }).finally(() => setStoreLimits({ segmentBytes: 8192 * 64 * 4 }));
    expect(index.segmentList.length).toBeGreaterThan(1); // f32 and i8: three (8192 rows each), f16: two
    const removed = Array.from({ length: 300 }, (_, i) => i * 53 + 1);
    await index.remove(removed);
    const gone = new Set(removed);
    const query = vectors.slice(9 * dim, 10 * dim).map((x) => x + 0.05 * (random() * 2 - 1));
    poisonFreeMemory(hs);
    const scores = await index.scores(query); // live rows, in keys() order
    const keys = index.keys();
    const scoreOf = new Map(keys.map((key, i) => [key, scores[i]!]));
    const span = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const filters: Array<[string, number[]]> = [
      ['every row', span(0, n)],
      ['all but every 97th', span(0, n).filter((r) => r % 97 !== 5)],
      ['every other row', span(0, n).filter((r) => r % 2 === 1)],
      ['one row a panel', span(0, n).filter((r) => r % 4 === 3)],
      ['runs across the segment boundaries, the last rows', [...span(0, 300), ...span(8000, 8400), ...span(16300, 16500), ...span(n - 5, n)]],
      ['random 30%', span(0, n).filter(() => random() < 0.3)],
      ['a few rows', [9, 8191, 12_345, n - 1]],
    ];
    const sign = metric === 'l2' ? -1 : 1;
    for (const [what, allowed] of filters) {
      // Each key given twice, with keys not held (removed, never added): each counts once.
      const list = [...allowed, ...allowed.slice(0, 50), n + 5, 10 ** 7];
      const want = allowed.filter((key) => !gone.has(key))
        .sort((a, b) => (sign * (scoreOf.get(b)! - scoreOf.get(a)!)) || (a - b));
      for (const k of [1, 10, 100]) {
        for (const [form, filter] of [['array', list], ['Set', new Set(list)], ['Uint32Array', Uint32Array.from(list)], ['Float64Array', Float64Array.from(list)]] as const) {
          const label = `${what} (${form}), k ${k}`;
          const got = await index.search(query, { k, filter });
          const top = want.slice(0, k);
          expect(got.keys, label).toEqual(top);
          expectSameValues(got.scores, top.map((key) => scoreOf.get(key)!), `${label} scores`);
          top.forEach((key, j) => {
            const { value, scale } = metricReference(metric, query, vectors.subarray(key * dim, (key + 1) * dim));
            expect(Math.abs(got.scores[j]! - value), `${label} result ${j} against float64`).toBeLessThanOrEqual(FLOAT64_TOLERANCE[dtype] * scale);
          });
        }
      }
    }
    index.dispose();
  });
});

describe('selectMasked offers exactly the set bits, in order', () => {
  it('heaps filled before and during a call, every count up to a block, masks dense to sparse, ties', () => {
    const { arena, kernels } = memoryOf(hs);
    const block = 256;
    const scores = arena.alloc(block * 4);
    const mask = arena.alloc(block / 8);
    const heapScores = arena.alloc(300 * 4);
    const heapIndices = arena.alloc(300 * 4);
    const state = arena.alloc(4);
    const random = rng(41);
    try {
      const densities = [1, 0.97, 0.5, 0.25, 0.03, 0];
      for (let t = 0; t < 400; t++) {
        const count = t < 256 ? t + 1 : 1 + Math.floor((random() + 1) / 2 * block) % block;
        const k = [1, 3, 10, 64, 300][t % 5]!;
        const density = densities[t % densities.length]!;
        const base = 1000 + t * 7;
        // Entries offered before this call (the heap persists across segments).
        const before: Array<[number, number]> = [];
        const prior = t % 3 === 0 ? 0 : Math.floor((random() + 1) / 2 * k) + (t % 3 === 2 ? k : 0);
        for (let i = 0; i < prior; i++) before.push([Math.round(random() * 8) / 8, i]);
        before.sort((a, b) => (b[0] - a[0]) || (a[1] - b[1]));
        const kept = before.slice(0, k);
        arena.u32[state >>> 2] = 0;
        for (const [s, i] of kept) {
          arena.f32[scores >>> 2] = s;
          arena.u32[mask >>> 2] = 1;
          kernels.selectMasked(scores, 1, i, k, heapScores, heapIndices, state, mask);
        }
        // Few distinct values (ties), cleared bits and rows past `count` poisoned with +Infinity.
        const bits = new Uint32Array(block / 32);
        const offered: Array<[number, number]> = [];
        for (let r = 0; r < block; r++) {
          const set = r < count && (density === 1 || random() * 0.5 + 0.5 < density);
          if (set) bits[r >>> 5]! |= 1 << (r & 31);
          const s = Math.round(random() * 16) / 16;
          arena.f32[(scores >>> 2) + r] = set ? s : Infinity;
          if (set) offered.push([s, base + r]);
        }
        // Bits past `count` set too: the kernel must not offer them.
        if (count < block) bits[count >>> 5]! |= ~0 << (count & 31);
        arena.u32.set(bits, mask >>> 2);
        kernels.selectMasked(scores, count, base, k, heapScores, heapIndices, state, mask);
        const size = arena.u32[state >>> 2]!;
        kernels.sortHeap(heapScores, heapIndices, size);
        const want = [...kept, ...offered].sort((a, b) => (b[0] - a[0]) || (a[1] - b[1])).slice(0, k);
        const got = Array.from({ length: size }, (_, i): [number, number] => [arena.f32[(heapScores >>> 2) + i]!, arena.u32[(heapIndices >>> 2) + i]!]);
        expect(got, `case ${t}: count ${count}, k ${k}, density ${density}, ${kept.length} kept before`).toEqual(want);
      }
    } finally {
      for (const ptr of [state, heapIndices, heapScores, mask, scores]) arena.free(ptr);
    }
  });
});

describe('a large key filter turned into bitmaps while the workers compute the bounds', () => {
  // Keys from 65,536 and a quarter of the rows, one query, CPU only, split over worker threads
  // (src/store/vector-index.ts, defersSelection; src/cpu/store-calls.ts): the bounds of every chunk
  // are computed first and selected from once the bitmaps are made. The results must be those of
  // the same filter as a function (always made first) and of the index's own exact scores, bit
  // for bit, across segments, removed rows and every metric and dtype; a bad key still throws
  // and leaves the engine working.
  const overlapCases = [{ dtype: 'f32', metric: 'cosine' }, { dtype: 'f32', metric: 'l2' }, { dtype: 'f16', metric: 'dot' }, { dtype: 'i8', metric: 'cosine' }] as const;
  // Bounds items of the default size (one or two a segment here) and of 256 rows (hundreds,
  // taken by both workers in turn).
  const itemSizes = [{ items: 'default', bytes: undefined }, { items: '256-row', bytes: 256 * 32 }] as const;
  it.each(overlapCases.flatMap((c, i) => (i < 2 ? itemSizes : itemSizes.slice(0, 1)).map((size) => ({ ...c, ...size }))))('$dtype $metric, $items bounds items', async ({ dtype, metric, bytes }) => {
    setBoundsQueueItemBytes(bytes);
    const n = 140_000, dim = 32;
    const engine = await createHybrid({ gpu: null, cpuThreads: 2, offMainThread: true });
    cpuOf(engine).minWorkBytes = 0;
    try {
      const random = rng(metric.length * 7 + dtype.length);
      const index = await engine.createIndex(randomMatrix(n, dim, random), { dim, dtype, metric });
      await index.remove(Array.from({ length: 3000 }, (_, i) => i * 37 + 5));
      const query = randomMatrix(1, dim, random);
      const scores = await index.scores(query);
      const keys = index.keys();
      const before = overlappedCalls();
      for (const [what, pass] of [['half', (key: number) => key % 2 === 1], ['a third', (key: number) => key % 3 !== 0 && key < 120_000]] as const) {
        const list = Array.from({ length: n }, (_, key) => key).filter(pass);
        expect(list.length * 4 >= n && list.length >= 65_536, `${what}: a filter the index defers`).toBe(true);
        for (const k of [1, 40]) {
          const want = topOf(scores, k, metric, (i) => pass(keys[i]!));
          const asFunction = await index.search(query, { k, filter: pass });
          expectSameValues(asFunction.keys, want.map((i) => keys[i]!), `${what}, k ${k}: function`);
          for (const [form, filter] of [['Set', new Set(list)], ['array', list], ['Uint32Array', Uint32Array.from(list)]] as const) {
            const got = await index.search(query, { k, filter });
            expectSameValues(got.keys, want.map((i) => keys[i]!), `${what}, k ${k}, ${form}: keys`);
            expectSameValues(got.scores, asFunction.scores, `${what}, k ${k}, ${form}: scores`);
          }
        }
      }
      // Every search above but the function ones took the overlapped path where the rows have a prefilter.
      expect(overlappedCalls() - before).toBe(dtype === 'i8' ? 0 : 2 * 2 * 3);
      const bad = new Set<unknown>(Array.from({ length: 80_000 }, (_, key) => key));
      bad.add('x');
      await expect(index.search(query, { k: 5, filter: bad as Set<number> })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const again = await index.search(query, { k: 5, filter: new Set(Array.from({ length: 80_000 }, (_, key) => key)) });
      expectSameValues(again.keys, topOf(scores, 5, metric, (i) => keys[i]! < 80_000).map((i) => keys[i]!), 'after the error');
    } finally {
      setBoundsQueueItemBytes(undefined);
      await engine.dispose();
    }
  }, 60_000);

  it.each(['killed before the call', 'reported failed after its items'] as const)('a worker %s: everything runs again here, same results', async (how) => {
    const n = 100_000, dim = 32;
    const engine = await createHybrid({ gpu: null, cpuThreads: 2, offMainThread: true });
    const cpu = cpuOf(engine);
    cpu.minWorkBytes = 0;
    setBoundsQueueItemBytes(256 * 32);
    try {
      const random = rng(how.length);
      const index = await engine.createIndex(randomMatrix(n, dim, random), { dim });
      const query = randomMatrix(1, dim, random);
      const allowed = new Set(Array.from({ length: n }, (_, key) => key).filter((key) => key % 3 !== 1));
      const want = await index.search(query, { k: 10, filter: (key: number) => allowed.has(key) });
      const pool = cpu.pool!;
      if (how === 'killed before the call') pool.killWorkersForTest();
      else {
        const real = pool.shareSettled.bind(pool);
        pool.shareSettled = async (queue) => (await real(queue)).map((s, i) => (i === 0 ? { status: 'rejected' as const, reason: new Error('worker died') } : s));
      }
      poisonFreeMemory(engine);
      const before = overlappedCalls();
      const got = await index.search(query, { k: 10, filter: allowed });
      expect(overlappedCalls() - before, 'the overlapped path').toBe(1);
      expectSameValues(got.keys, want.keys, 'keys');
      expectSameValues(got.scores, want.scores, 'scores');
      expect(cpu.pool, 'the pool is given up').toBeNull();
      expect(cpu.poolFailure?.message).toMatch(how === 'killed before the call' ? /exited|shut down/ : /worker died/);
      const after = await index.search(query, { k: 10, filter: allowed });
      expectSameValues(after.keys, want.keys, 'the next call, on this thread');
    } finally {
      setBoundsQueueItemBytes(undefined);
      await engine.dispose();
    }
  }, 60_000);
});
