// Warm-up (src/warmup.ts): what it runs, that stats() leaves its calls out, that it changes no
// result, and on a GPU that the router starts with a speedup estimate. The rest of the suite
// runs with warm-up off (vitest.config.ts sets HYBRID_SIMILARITY_WARMUP=0); this file clears that.
import { afterAll, describe, expect, it } from 'vitest';
import { createHybrid } from '../src/index.js';
import { runGpuTests, testGpu } from './gpu-setup.js';
import { expectSameValues, randomMatrix, rng } from './helpers.js';

delete process.env.HYBRID_SIMILARITY_WARMUP;
afterAll(() => { process.env.HYBRID_SIMILARITY_WARMUP = '0'; });

describe('warm-up', () => {
  it('warmup: false does none; HYBRID_SIMILARITY_WARMUP=0 turns the default off', async () => {
    const off = await createHybrid({ gpu: null, warmup: false });
    expect(off.stats().warmup).toBeNull();
    await off.dispose();
    process.env.HYBRID_SIMILARITY_WARMUP = '0';
    try {
      const env = await createHybrid({ gpu: null });
      expect(env.config.warmup).toBe(false);
      expect(env.stats().warmup).toBeNull();
      await env.dispose();
    } finally {
      delete process.env.HYBRID_SIMILARITY_WARMUP;
    }
  });

  it('at createHybrid (the default): starts the workers and runs the kernels; stats() counts none of it', async () => {
    const hs = await createHybrid({ gpu: null, cpuThreads: 2 });
    const report = hs.stats().warmup!;
    expect(report.trigger).toBe('createHybrid');
    expect(report.steps.map((s) => s.name)).toEqual(['cpu workers', 'cpu kernels']);
    for (const step of report.steps) {
      expect(step.note).toBeUndefined();
      expect(step.ms).toBeGreaterThan(0);
    }
    expect(report.workers).toBe(2);
    expect(report.gpu).toBe(false);
    expect(report.calls.cpu).toBeGreaterThan(20);
    expect(report.calls.gpu).toBe(0);
    expect(report.totalMs).toBeGreaterThanOrEqual(report.steps.reduce((sum, s) => sum + s.ms, 0) - 1e-6);
    const stats = hs.stats();
    expect(stats.operations.cosine.cpu.calls).toBe(0);
    expect(stats.operations.spreading.cpu.calls).toBe(0);
    expect(stats.operations.cosine.cpu.p50Ms).toBeNaN();
    expect(stats.methods).toEqual({});
    expect(stats.operations.cosine.decisions).toEqual({});
    // The workers are running: a large call does not start them.
    expect(hs.info().cpu.threads).toBe(2);
    await hs.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 0]));
    expect(hs.stats().operations.cosine.cpu.calls).toBe(1);
    await hs.dispose();
  });

  it('warmup() after building indexes: each index warmed, results identical to a cold engine\'s', async () => {
    const random = rng(91);
    const dim = 384;
    const vectors = randomMatrix(6000, dim, random);
    const queries = randomMatrix(3, dim, random);
    const cold = await createHybrid({ gpu: null, warmup: false });
    const warm = await createHybrid({ gpu: null });
    const [coldIndex, warmIndex] = [await cold.createIndex(vectors, { dim }), await warm.createIndex(vectors, { dim })];
    const empty = await warm.createIndex(new Float32Array(0), { dim: 5 });
    const report = await warm.warmup();
    expect(report.trigger).toBe('warmup()');
    expect(report.indexes).toBe(1); // the empty index has nothing to warm
    expect(report.steps.map((s) => s.name)).toContain(`index 0 (6000 x ${dim})`);
    expect(warm.stats().warmup).toEqual(report);
    expect(warm.stats().methods).toEqual({});
    for (let q = 0; q < 3; q++) {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const [a, b] = [await coldIndex.search(query, { k: 7 }), await warmIndex.search(query, { k: 7 })];
      expectSameValues(b.indices, a.indices, 'indices');
      expectSameValues(b.scores, a.scores, 'scores');
      expectSameValues(await warmIndex.scores(query), await coldIndex.scores(query), 'all scores');
    }
    expect(warm.stats().methods).toEqual({ search: 3, scores: 3 });
    empty.dispose();
    await cold.dispose();
    await warm.dispose();
  });

  it('warmup() on a disposed engine is DISPOSED', async () => {
    const hs = await createHybrid({ gpu: null, warmup: false });
    await hs.dispose();
    await expect(hs.warmup()).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it.skipIf(!runGpuTests)('on a GPU: every kernel family, the router starts with a speedup estimate instead of trying the GPU', async () => {
    // Exploration off: 2% of first calls would otherwise be sent the other way ('explore').
    const cold = await createHybrid({ gpu: testGpu, warmup: false, explorationRate: 0 });
    const hs = await createHybrid({ gpu: testGpu, explorationRate: 0 });
    const report = hs.stats().warmup!;
    expect(report.gpu).toBe(true);
    expect(report.steps.map((s) => s.name)).toEqual(['cpu workers', 'cpu kernels', 'gpu kernels', 'router estimate']);
    for (const step of report.steps) expect(step.note).toBeUndefined();
    expect(report.calls.gpu).toBeGreaterThan(10);
    expect(report.speedupClasses.cosine).toEqual(Array.from({ length: 13 }, (_, i) => i + 4)); // 16 .. 65536 rows
    expect(report.speedupClasses.spreading).toEqual([16, 20]); // estimated work of a dense 4-hop call on 4096 and 65536 nodes
    const stats = hs.stats();
    expect(stats.operations.cosine.gpu.calls).toBe(0);
    expect(Object.keys(stats.operations.cosine.speedupBySizeClass).length).toBeGreaterThanOrEqual(13);
    // The first auto call of a measured size is routed by the estimate, not sent to the GPU untried.
    const dim = 64;
    const index = await hs.createIndex(randomMatrix(4096, dim, rng(5)), { dim });
    const coldIndex = await cold.createIndex(randomMatrix(4096, dim, rng(5)), { dim });
    const query = randomMatrix(1, dim, rng(6));
    await index.search(query, { k: 3 });
    await coldIndex.search(query, { k: 3 });
    const [reason] = Object.keys(hs.stats().operations.cosine.decisions);
    expect(['gpu-slower', 'gpu-faster']).toContain(reason);
    expect(Object.keys(cold.stats().operations.cosine.decisions)).toEqual(['gpu-untested']);
    // A later warmup() keeps the estimate and warms the index on both backends.
    const again = await hs.warmup();
    expect(again.steps.find((s) => s.name === 'router estimate')!.note).toMatch(/done by the warm-up at createHybrid/);
    expect(again.steps.map((s) => s.name)).toContain(`index 0 (4096 x ${dim})`);
    await cold.dispose();
    await hs.dispose();
  });
});
