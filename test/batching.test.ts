// Dynamic batching: concurrent searches merged into M x N calls, each caller answered with its
// own result (mixed k), input errors reaching only their caller, batches visible in stats() and
// metrics().
import { describe, expect, it } from 'vitest';
import { createHybrid, HybridError, presets, type SearchResult } from '../src/index.js';
import { BACKENDS, engineFor, requireGpuInCi } from './gpu-setup.js';
import { cosineReference, expectSameValues, expectTopKWithin, randomMatrix, rng } from './helpers.js';

requireGpuInCi();

const dim = 37;
const n = 3000;
const vectors = randomMatrix(n, dim, rng(21));
// Exact ties: rows 10 and 11 repeat row 9.
vectors.copyWithin(10 * dim, 9 * dim, 10 * dim);
vectors.copyWithin(11 * dim, 9 * dim, 10 * dim);

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  // Batched searches of an index with keys, removed and upserted rows, in each metric and dtype:
  // each caller gets what the same search gets unbatched (filtered calls, mixed in, run alone).
  const maintained = (['cosine', 'dot', 'l2'] as const).flatMap((metric) => (['f32', 'f16', 'i8'] as const).map((dtype) => ({ metric, dtype })));
  it.skipIf(skip).each(maintained)('concurrent searches of a maintained index: $metric $dtype', async ({ metric, dtype }) => {
    const hs = await engineFor(name, { batching: { maxWaitMs: 5, targetBatchSize: 16 } });
    const plain = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
    try {
      const rows = 700;
      const keys = Array.from({ length: rows }, (_, i) => `doc-${i}`);
      const data = vectors.subarray(0, rows * dim);
      const index = await hs.createIndex(data, { dim, metric, dtype, keys });
      const reference = await plain.createIndex(data, { dim, metric, dtype, keys });
      const gone = keys.filter((_, i) => i % 6 === 1);
      const fresh = randomMatrix(3, dim, rng(8));
      for (const target of [index, reference]) {
        await target.remove(gone);
        await target.upsert(fresh, { keys: ['doc-2', 'doc-4', 'doc-new'] });
      }
      const random = rng(9);
      const passing = new Set(keys.filter((_, i) => i % 9 === 0));
      const calls = Array.from({ length: 120 }, (_, i) => ({
        query: randomMatrix(1, dim, random), k: 1 + (i % 13), filter: i % 10 === 0 ? passing : undefined,
      }));
      const results = await Promise.all(calls.map(({ query, k, filter }) => index.search(query, { k, filter, backend })));
      for (let i = 0; i < calls.length; i++) {
        const { query, k, filter } = calls[i]!;
        const got = results[i]!;
        const want = await reference.search(query, { k, filter });
        expect(got.keys.length, `call ${i}`).toBe(want.keys.length);
        for (const key of got.keys) expect(gone.includes(key), `call ${i}: removed ${key}`).toBe(false);
        if (filter) for (const key of got.keys) expect(filter.has(key), `call ${i}: ${key} filtered out`).toBe(true);
        if (backend === 'gpu') {
          // The GPU sums in another order: the same scores within the dtype's tolerance.
          const tolerance = { f32: 1e-4, f16: 4e-3, i8: 3e-2 }[dtype] * (metric === 'cosine' ? 1 : 10);
          got.scores.forEach((score, j) => expect(Math.abs(score - want.scores[j]!), `call ${i} score ${j}`).toBeLessThan(tolerance));
          continue;
        }
        expect(got.keys, `call ${i} keys`).toEqual(want.keys);
        expectSameValues(got.scores, want.scores, `call ${i} scores`);
      }
      expect(hs.stats().batching.queries).toBe(calls.filter((c) => !c.filter).length);
    } finally {
      await hs.dispose();
      await plain.dispose();
    }
  });

  it.skipIf(skip)('1000 concurrent searches with mixed k: each caller gets its own result', async () => {
    const hs = await engineFor(name, { batching: { maxWaitMs: 5, targetBatchSize: 64 } });
    const plain = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
    try {
      const index = await hs.createIndex(vectors, { dim });
      const reference = await plain.createIndex(vectors, { dim });
      const random = rng(5);
      const calls = Array.from({ length: 1000 }, (_, i) => ({
        query: i % 50 === 0 ? vectors.slice(9 * dim, 10 * dim) : randomMatrix(1, dim, random),
        k: i % 97 === 0 ? n + 3 : 1 + Math.floor(random() * 20),
      }));
      const results = await Promise.all(calls.map(({ query, k }) => index.search(query, { k, backend })));
      for (let i = 0; i < calls.length; i++) {
        const { query, k } = calls[i]!;
        const got = results[i]!;
        expect(got.indices.length, `call ${i}`).toBe(Math.min(k, n));
        if (backend === 'gpu') {
          // The GPU's batch kernel sums in another order than the CPU: within tolerance.
          if (i % 25 === 0) expectTopKWithin(got, k, cosineReference(query, vectors, dim), `call ${i}`);
          continue;
        }
        const want = await reference.search(query, { k });
        expectSameValues(got.indices, want.indices, `call ${i} indices`);
        expectSameValues(got.scores, want.scores, `call ${i} scores`);
      }
      // The tie rows come back in index order for the query equal to row 9.
      expect([...results[0]!.indices.slice(0, 3)].sort((a, b) => a - b)).toEqual([9, 10, 11]);
      const { batching } = hs.stats();
      expect(batching.queries).toBe(1000);
      const batches = batching.batches.full + batching.batches.timer;
      expect(batching.batches.full).toBeGreaterThanOrEqual(15);
      expect(batches).toBeLessThan(1000);
      expect(Object.values(batching.sizeHistogram).reduce((a, b) => a + b, 0)).toBe(batches);
      expect(batching.meanSize).toBeCloseTo(1000 / batches, 6);
      expect(batching.waitP99Ms).toBeGreaterThanOrEqual(0);
      // Each batch was one routed call: far fewer search decisions than callers.
      expect(hs.stats().methods.search).toBe(batches);
    } finally {
      await hs.dispose();
      await plain.dispose();
    }
  });
});

describe('dynamic batching', () => {
  it('errors in one batched call reach only that caller', async () => {
    const hs = await createHybrid({ gpu: null, batching: { maxWaitMs: 10, targetBatchSize: 32 } });
    const plain = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
    try {
      const index = await hs.createIndex(vectors, { dim });
      const reference = await plain.createIndex(vectors, { dim });
      const random = rng(9);
      type Call = { query: Float32Array; k: number; error?: string };
      const calls: Call[] = Array.from({ length: 200 }, (_, i): Call => {
        const query = randomMatrix(1, dim, random);
        if (i % 17 === 3) { query[5] = Number.NaN; return { query, k: 3, error: 'NON_FINITE' }; }
        if (i % 17 === 7) return { query: query.subarray(1), k: 3, error: 'DIMENSION_MISMATCH' };
        if (i % 17 === 11) return { query, k: 0, error: 'INVALID_ARGUMENT' };
        if (i % 17 === 13) { query[0] = Infinity; return { query, k: 3, error: 'NON_FINITE' }; }
        return { query, k: 1 + (i % 9) };
      });
      const settled = await Promise.allSettled(calls.map(({ query, k }) => index.search(query, { k })));
      let failed = 0;
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i]!;
        const outcome = settled[i]!;
        if (call.error) {
          failed++;
          expect(outcome.status, `call ${i}`).toBe('rejected');
          const error = (outcome as PromiseRejectedResult).reason as HybridError;
          expect(error).toBeInstanceOf(HybridError);
          expect(error.code, `call ${i}`).toBe(call.error);
          continue;
        }
        expect(outcome.status, `call ${i}`).toBe('fulfilled');
        const got = (outcome as PromiseFulfilledResult<SearchResult<number, true>>).value;
        const want = await reference.search(call.query, { k: call.k });
        expectSameValues(got.indices, want.indices, `call ${i}`);
        expectSameValues(got.scores, want.scores, `call ${i}`);
      }
      expect(failed).toBe(47);
      // Only valid queries joined a batch.
      expect(hs.stats().batching.queries).toBe(200 - failed);
    } finally {
      await hs.dispose();
      await plain.dispose();
    }
  });

  it('a batch that does not fill is sent after maxWaitMs; metrics show batches, sizes and waits', async () => {
    const hs = await createHybrid({ gpu: null, batching: { maxWaitMs: 25, targetBatchSize: 64 } });
    try {
      const index = await hs.createIndex(vectors, { dim });
      const queries = [0, 1, 2].map((i) => vectors.slice(i * dim, (i + 1) * dim));
      const start = performance.now();
      const results = await Promise.all(queries.map((query) => index.search(query, { k: 1 })));
      const elapsed = performance.now() - start;
      expect(results.map((r) => r.indices[0])).toEqual([0, 1, 2]);
      expect(elapsed).toBeGreaterThanOrEqual(20);
      const { batching } = hs.stats();
      expect(batching.batches).toEqual({ full: 0, timer: 1 });
      expect(batching.sizeHistogram['4']).toBe(1);
      expect(batching.waitP50Ms).toBeGreaterThanOrEqual(20);
      const text = hs.metrics();
      expect(text).toMatch(/^hybrid_similarity_batches_total\{reason="timer"\} 1$/m);
      expect(text).toMatch(/^hybrid_similarity_batch_queries_count 1$/m);
      expect(text).toMatch(/^hybrid_similarity_batch_queries_sum 3$/m);
      expect(text).toMatch(/^hybrid_similarity_batch_wait_seconds_count 3$/m);
    } finally {
      await hs.dispose();
    }
  });

  it('is off by default; the presets are the guide\'s table and are accepted', async () => {
    expect(presets.batching).toEqual({
      lowLatency: { batching: { maxWaitMs: 5, targetBatchSize: 64 } },
      balanced: { batching: { maxWaitMs: 10, targetBatchSize: 128 } },
      highThroughput: { batching: { maxWaitMs: 20, targetBatchSize: 256 } },
    });
    const off = await createHybrid({ gpu: null });
    const index = await off.createIndex(vectors, { dim });
    await Promise.all([0, 1, 2].map((i) => index.search(vectors.slice(i * dim, (i + 1) * dim), { k: 2 })));
    expect(off.config.batching).toBe(false);
    expect(off.stats().batching.queries).toBe(0);
    expect(off.stats().methods.search).toBe(3);
    await off.dispose();
    for (const preset of Object.values(presets.batching)) {
      const hs = await createHybrid({ gpu: null, ...preset });
      expect(hs.config.batching).toEqual(preset.batching);
      await hs.dispose();
    }
  });

  it('on an index with an int8 copy, mixed k (some too large for it) give the unbatched answers', async () => {
    const hs = await createHybrid({ gpu: null, batching: { maxWaitMs: 5, targetBatchSize: 50 } });
    const plain = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
    try {
      const d = 40;
      const rows = randomMatrix(5000, d, rng(31));
      const index = await hs.createIndex(rows, { dim: d });
      const reference = await plain.createIndex(rows, { dim: d });
      const random = rng(32);
      // k <= 78 keeps the int8 path (k * 64 <= N); a batch holding a k of 100 or 300 goes to the f32 kernel.
      const calls = Array.from({ length: 300 }, (_, i) => ({ query: randomMatrix(1, d, random), k: i % 61 === 0 ? 300 : i % 37 === 0 ? 100 : 1 + (i % 12) }));
      const results = await Promise.all(calls.map(({ query, k }) => index.search(query, { k })));
      for (let i = 0; i < calls.length; i++) {
        const want = await reference.search(calls[i]!.query, { k: calls[i]!.k });
        expectSameValues(results[i]!.indices, want.indices, `call ${i}`);
        expectSameValues(results[i]!.scores, want.scores, `call ${i}`);
      }
      expect(hs.stats().batching.queries).toBe(300);
    } finally {
      await hs.dispose();
      await plain.dispose();
    }
  });

  it('add() sends the searches waiting in a batch at once; they answer on the old rows', async () => {
    const hs = await createHybrid({ gpu: null, batching: { maxWaitMs: 3000, targetBatchSize: 64 } });
    try {
      const index = await hs.createIndex(vectors, { dim });
      const query = vectors.slice(5 * dim, 6 * dim);
      const start = performance.now();
      const pending = index.search(query, { k: 1 });
      const added = index.add(query.map((x) => x * 2)); // same direction as row 5: an exact tie
      expect((await pending).indices[0]).toBe(5);
      await added;
      // Without the flush both would wait for the batch's 3 s timer.
      expect(performance.now() - start).toBeLessThan(1500);
      expect(index.size).toBe(n + 1);
      // A search after add() sees the new row (and waits for its own batch's timer).
      expect([...(await index.search(query, { k: 2 })).indices]).toEqual([5, n]);
    } finally {
      await hs.dispose();
    }
  });

  it('searches waiting in a batch still answer when the index is disposed meanwhile', async () => {
    const hs = await createHybrid({ gpu: null, batching: { maxWaitMs: 15, targetBatchSize: 64 } });
    try {
      const index = await hs.createIndex(vectors, { dim });
      const pending = [3, 4].map((i) => index.search(vectors.slice(i * dim, (i + 1) * dim), { k: 1 }));
      index.dispose();
      await expect(index.search(vectors.slice(0, dim), { k: 1 })).rejects.toThrow(/disposed/);
      expect((await Promise.all(pending)).map((r) => r.indices[0])).toEqual([3, 4]);
    } finally {
      await hs.dispose();
    }
  });
});
