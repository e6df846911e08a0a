// The index as a store (DESIGN.md "The index as a store"): every dtype and metric, with keys,
// removals, upserts, filters and compaction, on indexes of many segments over several WASM
// memories (forced small here so that every boundary is crossed), on every backend, against
// float64 references. Each case is one table row run on cpu, cpu-split and gpu.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HybridError, type HybridEngine, type IndexDtype, type Key, type Metric, type VectorIndex } from '../src/index.js';
import { poisonFreeMemory, resetStoreLimits, setStoreLimits } from '../src/testing.js';
import { BACKENDS, engineFor, requireGpuInCi } from './gpu-setup.js';
import { expectSameValues, metricReference, randomMatrix, rng, topOf } from './helpers.js';

requireGpuInCi();

/** Segments of 32 to 128 rows, memories holding 64 KiB of rows each: a few thousand rows cross every boundary. */
const SMALL = {
  segmentBytes: 2048,
  segmentRowsUnit: 32,
  regions: { regionBytes: 1024 * 1024, firstRegionStoreBytes: 4 * 1024, headroomBytes: 960 * 1024 },
};

/** Score tolerance per dtype, relative to the scale of the pair (|q||r|; l2: |q|^2 + |r|^2). */
const TOLERANCE: Record<IndexDtype, number> = { f32: 1e-5, f16: 2e-3, i8: 2e-2 };



/** A model of the index: key -> the row given, in keys() order. */
class Model {
  readonly rows = new Map<Key, Float32Array>();
  add(keys: Key[], vectors: Float32Array, dim: number): void {
    keys.forEach((key, i) => {
      this.rows.delete(key); // an upserted key comes last
      this.rows.set(key, vectors.slice(i * dim, (i + 1) * dim));
    });
  }
  remove(keys: Key[]): number {
    let n = 0;
    for (const key of keys) if (this.rows.delete(key)) n++;
    return n;
  }
}

const CASES = (['f32', 'f16', 'i8'] as const).flatMap((dtype, d) => (['cosine', 'dot', 'l2'] as const).map((metric, m) => {
  const i = d * 3 + m;
  return {
    dtype, metric,
    dim: [1, 5, 17, 33, 64, 3, 130, 8, 47][i]!,
    keyKind: (['default', 'number', 'string'] as const)[i % 3]!,
    n: [700, 1500, 2300][i % 3]!,
  };
}));

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  let hs!: HybridEngine;
  beforeAll(async () => {
    if (skip) return;
    setStoreLimits(SMALL);
    hs = await engineFor(name);
  });
  afterAll(async () => {
    await hs?.dispose();
    resetStoreLimits();
  });

  describe.skipIf(skip)('case table: build, add, remove, upsert, filter, compact', () => {
    it.each(CASES)('$dtype $metric, dim $dim, $keyKind keys, N $n', async ({ dtype, metric, dim, keyKind, n }) => {
      const random = rng(dim * 131 + n);
      const vectors = randomMatrix(n, dim, random);
      // Duplicates (exact ties), a zero row and large rows (for dot and l2).
      vectors.copyWithin(5 * dim, 0, dim);
      vectors.copyWithin(n * dim - dim, 0, dim);
      vectors.fill(0, 9 * dim, 10 * dim);
      for (let j = 0; j < dim; j++) vectors[11 * dim + j] = vectors[11 * dim + j]! * 20;
      const keyOf = (i: number): Key => (keyKind === 'string' ? `doc-${i}` : keyKind === 'number' ? i * 3 + 1_000_000_007 : i);
      const keys = Array.from({ length: n }, (_, i) => keyOf(i));
      const model = new Model();
      const first = Math.floor(n / 3) + 1;
      const index: VectorIndex<Key> = keyKind === 'default'
        ? await hs.createIndex(vectors.subarray(0, first * dim), { dim, metric, dtype })
        : await hs.createIndex(vectors.subarray(0, first * dim), { dim, metric, dtype, keys: keys.slice(0, first) });
      model.add(keys.slice(0, first), vectors.subarray(0, first * dim), dim);
      await index.add(vectors.subarray(first * dim), keyKind === 'default' ? undefined : { keys: keys.slice(first) });
      model.add(keys.slice(first), vectors.subarray(first * dim), dim);
      expect(index.segmentList.length, 'many segments').toBeGreaterThan(4);
      expect(new Set(index.segmentList.map((s) => s.region)).size, 'several memories').toBeGreaterThan(1);
      await check(index, model, dim, metric, dtype, 'built');

      // Remove about a fifth (some twice, some unknown), upsert a few held and a few new keys.
      const gone = keys.filter((_, i) => i % 5 === 2 || i === 0);
      const unknown = keyKind === 'string' ? ['nope'] : [123_456_789_012];
      expect(await index.remove([...gone, gone[0]!, ...unknown])).toBe(model.remove(gone));
      await check(index, model, dim, metric, dtype, 'after remove');
      const upserted = [keys[1]!, keys[3]!, keyOf(n + 1), keyOf(n + 2)];
      const fresh = randomMatrix(upserted.length, dim, random);
      await index.upsert(fresh, { keys: upserted });
      model.add(upserted, fresh, dim);
      expect(index.keys().slice(-4)).toEqual(upserted);
      await check(index, model, dim, metric, dtype, 'after upsert');

      const segmentsBefore = index.segmentList.length;
      const reclaimed = await index.compact();
      expect(reclaimed).toBeGreaterThan(0);
      expect(index.segmentList.every((s) => s.deadRows === 0)).toBe(true);
      expect(index.segmentList.length).toBeLessThanOrEqual(segmentsBefore);
      await check(index, model, dim, metric, dtype, 'after compact');
      index.dispose();
    });
  });

  /** Every read of the index against the model and float64. */
  async function check(index: VectorIndex<Key>, model: Model, dim: number, metric: Metric, dtype: IndexDtype, label: string): Promise<void> {
    const keys = [...model.rows.keys()];
    expect(index.size, `${label}: size`).toBe(keys.length);
    expect(index.keys(), `${label}: keys() in insertion order`).toEqual(keys);
    const random = rng(keys.length + dim);
    const queries = randomMatrix(3, dim, random);
    const query = queries.subarray(0, dim);
    poisonFreeMemory(hs);
    const scores = await index.scores(query, { backend });
    expect(scores.length).toBe(keys.length);
    keys.forEach((key, i) => {
      const want = metricReference(metric, query, model.rows.get(key)!);
      const got = scores[i]!;
      if (!Number.isFinite(got)) throw new Error(`${label}: score of ${String(key)} is ${got}`);
      if (Math.abs(got - want.value) > TOLERANCE[dtype] * Math.max(want.scale, 1e-3) + 1e-6) {
        throw new Error(`${label}: ${metric}/${dtype} score of ${String(key)} is ${got}, float64 ${want.value}`);
      }
    });
    // search: exactly the top-k of the index's own scores, ties to the earlier row.
    for (const k of [1, 10, keys.length + 3]) {
      const result = await index.search(query, { k, backend });
      const want = topOf(scores, k, metric);
      expectSameValues(result.scores, want.map((i) => scores[i]!), `${label} k ${k} scores`);
      expect(result.keys, `${label} k ${k} keys`).toEqual(want.map((i) => keys[i]!));
      if (index.keyKind === 'default') expect(Array.from(result.indices!)).toEqual(result.keys);
      else expect(result.indices).toBeUndefined();
    }
    // filters: a function and an iterable of keys, selective and not.
    const every7 = new Set(keys.filter((_, i) => i % 7 === 3));
    const one = [keys[keys.length >> 1]!];
    for (const [what, filter, allowed] of [
      ['function', (key: Key) => every7.has(key), (i: number) => every7.has(keys[i]!)],
      ['Set', every7, (i: number) => every7.has(keys[i]!)],
      ['array of one', one, (i: number) => keys[i] === one[0]],
    ] as const) {
      const result = await index.search(query, { k: 10, filter, backend });
      const want = topOf(scores, 10, metric, allowed);
      expect(result.keys, `${label} filter ${what}`).toEqual(want.map((i) => keys[i]!));
      expectSameValues(result.scores, want.map((i) => scores[i]!), `${label} filter ${what} scores`);
    }
    expect((await index.search(query, { k: 5, filter: [], backend })).keys).toEqual([]);
    // searchBatch: each query as its own search (the GPU's batch kernel may differ in the last bits).
    const batch = await index.searchBatch(queries, { k: 7, filter: every7, backend });
    for (let q = 0; q < 3; q++) {
      const single = await index.search(queries.subarray(q * dim, (q + 1) * dim), { k: 7, filter: every7, backend });
      if (backend === 'gpu' && dtype !== 'i8') {
        expect(batch[q]!.keys.length).toBe(single.keys.length);
        for (let i = 0; i < single.keys.length; i++) expect(Math.abs(batch[q]!.scores[i]! - single.scores[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(single.scores[i]!)));
      } else {
        expect(batch[q]!.keys, `${label} batch query ${q}`).toEqual(single.keys);
        expectSameValues(batch[q]!.scores, single.scores, `${label} batch query ${q}`);
      }
    }
    // get/has: the row as stored.
    for (const key of [keys[0]!, keys[keys.length - 1]!]) {
      expect(index.has(key)).toBe(true);
      const row = (await index.get(key))!;
      const given = model.rows.get(key)!;
      let norm = 0;
      for (const x of given) norm += x * x;
      const want = metric === 'cosine' && norm > 0 ? given.map((x) => x / Math.sqrt(norm)) : given;
      for (let i = 0; i < dim; i++) expect(Math.abs(row[i]! - want[i]!)).toBeLessThanOrEqual((dtype === 'i8' ? 1e-2 : dtype === 'f16' ? 1e-3 : 1e-6) * (1 + Math.abs(want[i]!)) * (dtype === 'i8' ? Math.max(...want.map(Math.abs), 1) : 1));
    }
  }
});

describe('errors leave the index unchanged', () => {
  let hs!: HybridEngine;
  beforeAll(async () => { hs = await engineFor('cpu'); });
  afterAll(async () => { await hs.dispose(); });

  it('a filter on default keys ignores keys not held and reads -0 as 0, as an array or a Set', async () => {
    const dim = 5;
    const vectors = randomMatrix(6, dim, rng(11));
    const plain = await hs.createIndex(vectors, { dim });
    await plain.remove([3]);
    for (const filter of [[2, 10 ** 9, -0, 3, 2 ** 40], new Set([2, 10 ** 9, -0, 3, 2 ** 40])]) {
      const got = await plain.search(vectors.subarray(0, dim), { k: 6, filter });
      expect([...got.indices].sort()).toEqual([0, 2]);
    }
    plain.dispose();
  });

  it('bad keys, duplicates, extra arguments, bad filters and metrics are typed errors', async () => {
    const dim = 4;
    const vectors = randomMatrix(6, dim, rng(1));
    const index = await hs.createIndex(vectors, { dim, keys: ['a', 'b', 'c', 'd', 'e', 'f'] });
    const numbered = await hs.createIndex(vectors, { dim, keys: [1, 2, 3, 4, 5, 6] });
    const plain = await hs.createIndex(vectors, { dim });
    const two = randomMatrix(2, dim, rng(2));
    const cases: Array<[string, () => unknown, string, RegExp]> = [
      ['held key', () => index.add(two, { keys: ['z', 'c'] }), 'DUPLICATE_KEY', /"c" is already in the index/],
      ['duplicate in a call', () => index.add(two, { keys: ['y', 'y'] }), 'INVALID_ARGUMENT', /appears twice/],
      ['wrong count', () => index.add(two, { keys: ['y'] }), 'INVALID_ARGUMENT', /1 keys for 2 rows/],
      ['numbers for strings', () => index.add(two, { keys: [7, 8] as unknown as string[] }), 'INVALID_ARGUMENT', /holds numbers/],
      // Keys are held as UTF-8: a lone surrogate would come back as U+FFFD (and two such keys as one).
      ['a lone surrogate', () => index.add(two, { keys: ['ok', 'Party \uD83C'] }), 'INVALID_ARGUMENT', /keys\[1\] is "Party \\ud83c", which has a lone surrogate/],
      ['a lone surrogate in upsert', () => index.upsert(two, { keys: ['a', '\uDC00'] }), 'INVALID_ARGUMENT', /lone surrogate/],
      ['a lone surrogate to has', () => index.has('\uD800'), 'INVALID_ARGUMENT', /lone surrogate/],
      ['a lone surrogate in a filter', () => index.search(two.subarray(0, dim), { k: 1, filter: ['a', '\uD800'] }), 'INVALID_ARGUMENT', /lone surrogate/],
      ['mixed', () => numbered.add(two, { keys: [7, 'x'] as unknown as number[] }), 'INVALID_ARGUMENT', /mixes numbers and strings/],
      ['negative', () => numbered.add(two, { keys: [7, -1] }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['non-integer', () => numbered.add(two, { keys: [7, 1.5] }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['unsafe', () => numbered.add(two, { keys: [7, 2 ** 53] }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['keys required', () => index.add(two), 'INVALID_ARGUMENT', /keys is required/],
      ['upsert needs keys', () => index.upsert(two, undefined as never), 'INVALID_ARGUMENT', /keys/],
      ['extra argument to add', () => (plain.add as (...a: unknown[]) => unknown)(two, { keys: undefined }, 'x'), 'INVALID_ARGUMENT', /takes 2 arguments/],
      ['keys as a second argument', () => (plain.add as (...a: unknown[]) => unknown)(two, ['doc-9']), 'INVALID_ARGUMENT', /options must be an object/],
      ['unknown option', () => plain.add(two, { ids: [1, 2] } as never), 'INVALID_ARGUMENT', /options.ids is not a known option/],
      ['bad filter', () => index.search(two.subarray(0, dim), { k: 1, filter: 'abc' as never }), 'INVALID_ARGUMENT', /filter must be/],
      ['filter of the wrong kind', () => index.search(two.subarray(0, dim), { k: 1, filter: [1] as never }), 'INVALID_ARGUMENT', /string key/],
      // Default keys are looked up through the dense array: values that do not index it still get the full check.
      ['a string key on default keys', () => plain.search(two.subarray(0, dim), { k: 1, filter: [0, '1'] as never }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['a non-integer key on default keys', () => plain.search(two.subarray(0, dim), { k: 1, filter: new Set([0, 1.5]) }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['a negative key on default keys', () => plain.search(two.subarray(0, dim), { k: 1, filter: [-1] }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['NaN on default keys', () => plain.search(two.subarray(0, dim), { k: 1, filter: new Set([NaN]) }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      // Typed arrays of keys are read by index, as arrays are: the same checks.
      ['a non-integer key in a Float64Array', () => plain.search(two.subarray(0, dim), { k: 1, filter: Float64Array.of(0, 2.5) }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['a negative key in an Int32Array', () => plain.search(two.subarray(0, dim), { k: 1, filter: Int32Array.of(1, -3) }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['bigint keys', () => plain.search(two.subarray(0, dim), { k: 1, filter: BigUint64Array.of(1n) as never }), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['a DataView', () => plain.search(two.subarray(0, dim), { k: 1, filter: new DataView(new ArrayBuffer(8)) as never }), 'INVALID_ARGUMENT', /filter must be/],
      ['bad metric', () => hs.createIndex(vectors, { dim, metric: 'manhattan' as never }), 'INVALID_ARGUMENT', /metric must be 'cosine', 'dot' or 'l2'/],
      ['remove a string', () => index.remove('a' as never), 'INVALID_ARGUMENT', /must be an array/],
      ['keys: null', () => hs.createIndex(vectors, { dim, keys: null as never }), 'INVALID_ARGUMENT', /keys must be an array of keys .*got null/],
      ['keys: null, no rows', () => hs.createIndex(new Float32Array(0), { dim, keys: null as never }), 'INVALID_ARGUMENT', /keys must be an array of keys/],
      ['keys: a number', () => hs.createIndex(vectors, { dim, keys: 6 as never }), 'INVALID_ARGUMENT', /keys must be an array of keys .*got 6/],
      // Every key is checked before any is removed: the held key 1 before the bad one stays.
      ['remove a Set with a bad key last', () => numbered.remove(new Set([1, 'x'] as never[])), 'INVALID_ARGUMENT', /mixes numbers and strings/],
      ['remove an array with a bad key last', () => numbered.remove([2, -1]), 'INVALID_ARGUMENT', /non-negative safe integer/],
      ['default keys too large', () => plain.add(two, { keys: [2 ** 33, 2 ** 33 + 1] }), 'INVALID_ARGUMENT', /below 2\^32 - 1/],
      ['f16 range', () => hs.createIndex(new Float32Array([1e6, 0, 0, 0]), { dim, metric: 'dot', dtype: 'f16' }), 'INVALID_ARGUMENT', /below 65520/],
    ];
    for (const [label, call, code, message] of cases) {
      const before = [index.keys(), numbered.keys(), plain.keys()];
      let caught: unknown;
      try {
        await call();
      } catch (error) {
        caught = error;
      }
      expect(caught, label).toBeInstanceOf(HybridError);
      expect((caught as HybridError).code, `${label}: ${(caught as Error).message}`).toBe(code);
      expect((caught as Error).message, label).toMatch(message);
      expect([index.keys(), numbered.keys(), plain.keys()], `${label}: unchanged`).toEqual(before);
    }
    expect(index.size).toBe(6);
    expect((await index.search(vectors.subarray(0, dim), { k: 1 })).keys).toEqual(['a']);
  });

  it('a NaN in a later segment of one add adds nothing, and the index keeps working', async () => {
    setStoreLimits(SMALL);
    const engine = await engineFor('cpu');
    try {
      const dim = 9;
      const index = await engine.createIndex(randomMatrix(100, dim, rng(3)), { dim });
      const segments = index.segmentList.length;
      const more = randomMatrix(2000, dim, rng(4));
      more[1900 * dim + 4] = Number.NaN;
      await expect(index.add(more)).rejects.toMatchObject({ code: 'NON_FINITE', message: expect.stringMatching(/vectors\[17104\] \(row 1900, column 4\)/) });
      expect(index.size).toBe(100);
      expect(index.segmentList.length).toBe(segments);
      expect(index.keys()).toEqual(Array.from({ length: 100 }, (_, i) => i));
      more[1900 * dim + 4] = 0.5;
      await index.add(more);
      expect(index.keys().at(-1)).toBe(2099);
      expect((await index.search(more.subarray(1900 * dim, 1901 * dim), { k: 1 })).keys).toEqual([2000]);
    } finally {
      await engine.dispose();
      resetStoreLimits();
    }
  });

  it('i8 rows under l2 whose squared length overflows f32 are INVALID_ARGUMENT (they would score NaN), nothing added', async () => {
    const engine = await engineFor('cpu');
    try {
      const dim = 2;
      await expect(engine.createIndex(new Float32Array([1, 2, 1e20, 1e20]), { dim, dtype: 'i8', metric: 'l2' }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/row 1 has a squared length beyond f32/) });
      const index = await engine.createIndex(new Float32Array([1, 2, 3e18, 3e18]), { dim, dtype: 'i8', metric: 'l2' }); // |r|^2 = 1.8e37: held
      await expect(index.add(new Float32Array([5, 6, -2e19, 7]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(index.keys()).toEqual([0, 1]);
      const top = await index.search(new Float32Array([3e18, 3e18]), { k: 2 });
      expect(top.keys).toEqual([1, 0]);
      expect(Number.isNaN(top.scores[0]!)).toBe(false);
      // The other metrics and dtypes keep such rows (cosine stores them normalised; dot and f32 l2 give +-Infinity, never NaN).
      for (const [dtype, metric] of [['i8', 'dot'], ['i8', 'cosine'], ['f32', 'l2']] as const) {
        const other = await engine.createIndex(new Float32Array([1e20, 1e20]), { dim, dtype, metric });
        expect(other.size, `${dtype} ${metric}`).toBe(1);
        other.dispose();
      }
    } finally {
      await engine.dispose();
    }
  });

  it('running out of memory is OUT_OF_MEMORY naming the request; the index and engine stay usable', async () => {
    setStoreLimits({ ...SMALL, regions: { regionBytes: 4 * 1024 * 1024, firstRegionStoreBytes: 64 * 1024, headroomBytes: 1024 * 1024 } });
    const engine = await engineFor('cpu');
    try {
      const dim = 64;
      const index = await engine.createIndex(randomMatrix(100, dim, rng(5)), { dim });
      // One segment larger than a whole (4 MiB) memory can hold.
      setStoreLimits({ segmentBytes: 8 * 1024 * 1024, segmentRowsUnit: 256 });
      const big = randomMatrix(40_000, dim, rng(6));
      const other = await engine.createIndex(new Float32Array(0), { dim });
      await expect(other.add(big)).rejects.toMatchObject({ code: 'OUT_OF_MEMORY', message: expect.stringMatching(/segment of \d+ rows/) });
      expect(other.size).toBe(0);
      expect((await index.search(big.subarray(0, dim), { k: 3 })).keys.length).toBe(3);
      setStoreLimits({ segmentBytes: 64 * 1024 });
      await other.add(big.subarray(0, 5000 * dim));
      expect(other.size).toBe(5000);
    } finally {
      await engine.dispose();
      resetStoreLimits();
    }
  });
});

describe('calls in flight answer on the rows they started with', () => {
  it('searches started before add, remove, upsert and compact see the old rows; later ones the new', async () => {
    setStoreLimits(SMALL);
    const hs = await engineFor('cpu-split');
    try {
      const dim = 16;
      const vectors = randomMatrix(3000, dim, rng(7));
      const index = await hs.createIndex(vectors, { dim, keys: Array.from({ length: 3000 }, (_, i) => `k${i}`) });
      const query = vectors.subarray(10 * dim, 11 * dim);
      const before = index.search(query, { k: 3 });
      const removing = index.remove(['k10']);
      const after = index.search(query, { k: 3 });
      expect((await before).keys[0]).toBe('k10');
      expect(await removing).toBe(1);
      expect((await after).keys[0]).not.toBe('k10');
      const upserting = index.upsert(query, { keys: ['k10'] });
      const compacting = index.compact();
      const last = index.search(query, { k: 1 });
      await upserting;
      await compacting;
      expect((await last).keys).toEqual(['k10']);
      expect(index.keys().at(-1)).toBe('k10');
    } finally {
      await hs.dispose();
      resetStoreLimits();
    }
  });

  it('a query whose call waits for a write is scored as it was when called (search, searchBatch, scores)', async () => {
    const hs = await engineFor('cpu');
    try {
      const dim = 8;
      const vectors = randomMatrix(500, dim, rng(8));
      const index = await hs.createIndex(vectors, { dim, metric: 'dot' });
      const query = vectors.slice(42 * dim, 43 * dim);
      const want = await index.search(query, { k: 3 });
      const wantScores = await index.scores(query);
      const writing = index.add(randomMatrix(10, dim, rng(9)).map((x) => x * 1e-3)); // small rows: the top 3 stay
      const searching = index.search(query, { k: 3 });
      const batch = index.searchBatch(query, { k: 3 });
      const scoring = index.scores(query);
      query.fill(Number.NaN); // the caller reuses its array before the reads have run
      await writing;
      expect((await searching).keys).toEqual(want.keys);
      expect((await batch)[0]!.keys).toEqual(want.keys);
      expect(Array.from((await scoring).subarray(0, 500))).toEqual(Array.from(wantScores));
    } finally {
      await hs.dispose();
    }
  });
});

describe('default keys', () => {
  it('stop at 2^32 - 2, the largest a result\'s indices (a Uint32Array) holds, rather than wrap', async () => {
    const hs = await engineFor('cpu');
    try {
      const dim = 2;
      const index = await hs.createIndex(randomMatrix(1, dim, rng(12)), { dim });
      await index.add(randomMatrix(1, dim, rng(13)), { keys: [2 ** 32 - 3] });
      await index.add(randomMatrix(1, dim, rng(14)));
      await expect(index.add(randomMatrix(1, dim, rng(15)))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT', message: expect.stringMatching(/default keys would pass 4294967294/),
      });
      expect(index.keys()).toEqual([0, 2 ** 32 - 3, 2 ** 32 - 2]);
      const result = await index.search(randomMatrix(1, dim, rng(16)), { k: 3 });
      expect([...result.indices].sort()).toEqual([...result.keys].sort());
    } finally {
      await hs.dispose();
    }
  });
});

describe('string keys', () => {
  it('come back as given, through save and load too (emoji, U+FFFD, the empty string)', async () => {
    const hs = await engineFor('cpu');
    try {
      const keys = ['Party 🎉', '\uFFFD', '', 'a\u0000b'];
      const index = await hs.createIndex(randomMatrix(4, 3, rng(11)), { dim: 3, keys });
      const again = await hs.loadIndex(await index.toBytes());
      expect(index.keys()).toEqual(keys);
      expect(again.keys()).toEqual(keys);
      for (const key of keys) expect([index.has(key), again.has(key)]).toEqual([true, true]);
    } finally {
      await hs.dispose();
    }
  });
});

describe('an index created empty with keys: []', () => {
  it('takes the key kind of its first add, also for a remove called before that add has run', async () => {
    const hs = await engineFor('cpu');
    try {
      const index = await hs.createIndex(new Float32Array(0), { dim: 2, keys: [] });
      expect(await index.remove(['a'])).toBe(0);
      expect(await index.remove([3] as never)).toBe(0);
      await expect(index.remove([{}] as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(index.add(new Float32Array([1, 0]), { keys: null as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      // A call in flight makes the add wait, so the remove is called before the kind is decided.
      const reading = index.scores(new Float32Array([1, 0]));
      const adding = index.add(new Float32Array([1, 0, 0, 1]), { keys: ['a', 'b'] });
      const removing = index.remove(new Set(['a', 'zz']));
      await reading;
      await adding;
      expect(await removing).toBe(1);
      expect(index.keys()).toEqual(['b']);
    } finally {
      await hs.dispose();
    }
  });
});

describe('memory', () => {
  it('memoryBytes follows the dtype; removed rows are reclaimed automatically past the dead share', async () => {
    const hs = await engineFor('cpu');
    try {
      const dim = 128;
      const vectors = randomMatrix(20_000, dim, rng(8));
      const bytes: Record<string, number> = {};
      for (const dtype of ['f32', 'f16', 'i8'] as const) {
        const index = await hs.createIndex(vectors, { dim, dtype });
        bytes[dtype] = index.memoryBytes;
        index.dispose();
        // Nothing held once disposed, the key table included (a caller may keep the object).
        expect([index.memoryBytes, index.keyKind]).toEqual([0, 'default']);
      }
      // f32: 512 bytes a row + an int8 prefilter (128 + 16); f16: 256 + 144; i8: 128 + 8 (+ keys).
      expect(bytes.f16! / bytes.f32!).toBeLessThan(0.65);
      expect(bytes.i8! / bytes.f32!).toBeLessThan(0.3);
      const index = await hs.createIndex(vectors, { dim });
      await index.remove(Array.from({ length: 4000 }, (_, i) => i * 5));
      expect(index.segmentList.reduce((sum, s) => sum + s.deadRows, 0)).toBe(4000); // 20%: below the share
      await index.remove(Array.from({ length: 2000 }, (_, i) => i * 5 + 1));
      expect(index.segmentList.reduce((sum, s) => sum + s.deadRows, 0)).toBe(0); // 30%: compacted
      expect(index.size).toBe(14_000);
      expect(index.keys()[0]).toBe(2);
    } finally {
      await hs.dispose();
    }
  });
});
