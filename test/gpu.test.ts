// GPU-specific behaviour on a real adapter (lavapipe in CI): device info, f16 indexes, top-k
// identical to the CPU's, residency and buffer reuse, the memory budget, failures answered by
// the CPU, and a process that exits after dispose(). Corpora larger than one storage binding or
// one dispatch (hundreds of MB) are in test/long/gpu-large.test.ts (npm run test:long).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine } from '../src/index.js';
import { gpuOf, poisonFreeMemory } from '../src/testing.js';
import { engineOptions, requireGpuInCi, runGpuTests } from './gpu-setup.js';
import { cosineReference, expectScoresClose, expectTopKWithin, randomMatrix, rng } from './helpers.js';

requireGpuInCi();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe.skipIf(!runGpuTests)('GPU backend', () => {
  let gpu: HybridEngine;
  let cpu: HybridEngine;
  beforeAll(async () => {
    gpu = await createHybrid(engineOptions('gpu'));
    cpu = await createHybrid({ gpu: null });
  });
  afterAll(async () => {
    await gpu?.dispose();
    await cpu?.dispose();
  });

  it('info() reports the adapter, the limits requested and the features enabled', () => {
    const info = gpu.info().gpu!;
    expect(info).not.toBeNull();
    expect(typeof info.adapter.description).toBe('string');
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(info.limits.maxBufferSize).toBeGreaterThanOrEqual(info.limits.maxStorageBufferBindingSize!);
    for (const feature of info.features) expect(['shader-f16', 'subgroups', 'timestamp-query']).toContain(feature);
    expect(info.f16Storage).toBe(info.features.includes('shader-f16'));
    expect(info.memoryBudgetBytes).toBe(Math.floor(0.8 * info.limits.maxBufferSize!));
    expect(cpu.info().gpu).toBeNull();
  });

  it('top-k is identical to the CPU\'s: indices, scores within tolerance, ties', async () => {
    for (const [dim, n, k] of [[5, 1000, 10], [384, 20000, 10], [768, 5000, 64], [17, 3000, 200]] as const) {
      const random = rng(dim + n);
      const vectors = randomMatrix(n, dim, random);
      vectors.set(vectors.subarray(0, dim), 77 * dim); // rows 0 and 77 identical: a real tie
      const onGpu = await gpu.createIndex(vectors, { dim });
      const onCpu = await cpu.createIndex(vectors, { dim });
      const queries = randomMatrix(3, dim, random);
      queries.set(vectors.subarray(0, dim), 0); // query 0 ties rows 0 and 77 at the top
      for (let q = 0; q < 3; q++) {
        const query = queries.subarray(q * dim, (q + 1) * dim);
        const a = await onGpu.search(query, { k, backend: 'gpu' });
        const b = await onCpu.search(query, { k, backend: 'cpu' });
        expect(Array.from(a.indices), `dim ${dim} query ${q}`).toEqual(Array.from(b.indices));
        expectScoresClose(a.scores, Array.from(b.scores), `dim ${dim} query ${q}`);
      }
      const first = await onGpu.search(queries.subarray(0, dim), { k: 2, backend: 'gpu' });
      expect(Array.from(first.indices)).toEqual([0, 77]);
      const batchGpu = await onGpu.searchBatch(queries, { k, backend: 'gpu' });
      const batchCpu = await onCpu.searchBatch(queries, { k, backend: 'cpu' });
      for (let q = 0; q < 3; q++) {
        expect(Array.from(batchGpu[q]!.indices), `batch dim ${dim} query ${q}`).toEqual(Array.from(batchCpu[q]!.indices));
      }
      onGpu.dispose();
      onCpu.dispose();
    }
  });

  it('f16 indexes are stored as f16 and score within 2e-3 of the reference', async () => {
    expect(gpu.info().gpu!.f16Storage).toBe(true);
    for (const [dim, n] of [[3, 999], [128, 5000], [768, 3001]] as const) {
      const random = rng(dim * 3);
      const vectors = randomMatrix(n, dim, random);
      const index = await gpu.createIndex(vectors, { dim, dtype: 'f16' });
      expect(index.dtype).toBe('f16');
      const query = randomMatrix(1, dim, random);
      const reference = cosineReference(query, vectors, dim);
      const scores = await index.scores(query, { backend: 'gpu' });
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(scores[i]! - reference[i]!));
      expect(worst, `dim ${dim}`).toBeLessThan(2e-3);
      expect(worst, `dim ${dim}: f16 rounding shows, so the copy really is f16`).toBeGreaterThan(1e-6);
      // The CPU stores f16 too: the same values, summed in another order.
      const cpuScores = await index.scores(query, { backend: 'cpu' });
      for (let i = 0; i < n; i++) expect(Math.abs(cpuScores[i]! - scores[i]!)).toBeLessThan(1e-5);
      const top = await index.search(query, { k: 10, backend: 'gpu' });
      expect(top.indices.length).toBe(10);
      await index.add(randomMatrix(10, dim, random));
      expect((await index.scores(query, { backend: 'gpu' })).length).toBe(n + 10);
      index.dispose();
    }
  });

  it('uploads an index once and then only the rows added; buffers are reused across calls', async () => {
    const dim = 64;
    const random = rng(9);
    const index = await gpu.createIndex(randomMatrix(5000, dim, random), { dim });
    const backend = gpuOf(gpu)!;
    const query = randomMatrix(1, dim, random);
    await index.search(query, { k: 5, backend: 'gpu' });
    const resident = backend.residentBytes;
    const buffers = backend.bufferCount;
    for (let i = 0; i < 20; i++) await index.search(randomMatrix(1, dim, random), { k: 5, backend: 'gpu' });
    expect(backend.residentBytes).toBe(resident);
    expect(backend.bufferCount).toBe(buffers);
    await index.add(randomMatrix(3, dim, random));
    await index.search(query, { k: 5, backend: 'gpu' });
    expect(backend.residentBytes).toBeGreaterThanOrEqual(resident);
    index.dispose();
    expect(backend.residentBytes).toBe(0);
  });

  it('a corpus above the memory budget stays on the CPU (auto) and is refused when forced', async () => {
    // No exploration: a 2% explore draw would send the call to the CPU before the budget is asked.
    const small = await createHybrid({ ...engineOptions('gpu'), vramSafetyMargin: 1e-6, gpuMinBatchSize: 1, explorationRate: 0 });
    const dim = 32;
    const vectors = randomMatrix(2000, dim, rng(3));
    const index = await small.createIndex(vectors, { dim });
    const query = randomMatrix(1, dim, rng(4));
    expectScoresClose(await index.scores(query), cosineReference(query, vectors, dim));
    expect(small.stats().decisions.cosine['over-gpu-budget']).toBe(1);
    await expect(index.search(query, { k: 1, backend: 'gpu' })).rejects.toMatchObject({ kind: 'out-of-memory' });
    await small.dispose();
  });

  it('a lost device: auto calls are answered by the CPU; a forced call asks for a new device', async () => {
    // No exploration: a 2% explore draw sent the first call to the CPU (the flake seen twice).
    const doomed = await createHybrid({ ...engineOptions('gpu'), gpuMinBatchSize: 1, explorationRate: 0 });
    const dim = 16;
    const vectors = randomMatrix(300, dim, rng(5));
    const query = randomMatrix(1, dim, rng(6));
    const reference = cosineReference(query, vectors, dim);
    expectScoresClose(await doomed.cosineSimilarity(query, vectors), reference);
    expect(doomed.stats().operations.cosine.gpu.calls).toBe(1);
    (gpuOf(doomed) as unknown as { device: GPUDevice }).device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expectScoresClose(await doomed.cosineSimilarity(query, vectors), reference);
    const stats = doomed.stats();
    expect(stats.decisions.cosine['fallback:device-lost']).toBe(1);
    expect(stats.operations.cosine.gpu.failures).toBe(1);
    expect(stats.operations.cosine.gpuUnhealthy).toBe(true);
    // Auto calls now wait for the probe (gpuRecoveryMs); a forced call re-acquires at once.
    expectScoresClose(await doomed.cosineSimilarity(query, vectors), reference);
    expect(doomed.stats().decisions.cosine['gpu-unhealthy']).toBe(1);
    expectScoresClose(await doomed.cosineSimilarity(query, vectors, { backend: 'gpu' }), reference);
    expect(gpuOf(doomed)!.lost).toBe(false);
    expect(doomed.stats().operations.cosine.gpu.calls).toBe(3);
    await doomed.dispose();
  });

  it('batches of queries, one-shot matrices and k above the GPU top-k limit', async () => {
    const dim = 33;
    const random = rng(12);
    const vectors = randomMatrix(3000, dim, random);
    const queries = randomMatrix(20, dim, random);
    const index = await gpu.createIndex(vectors, { dim });
    poisonFreeMemory(gpu);
    const results = await index.searchBatch(queries, { k: 100, backend: 'gpu' });
    for (let q = 0; q < 20; q++) {
      expectTopKWithin(results[q]!, 100, cosineReference(queries.subarray(q * dim, (q + 1) * dim), vectors, dim), `q ${q}`);
    }
    expectScoresClose(await gpu.cosineSimilarityMatrix(queries, vectors, { dim, backend: 'gpu' }),
      cosineReference(queries, vectors, dim), 'matrix');
    index.dispose();
  });
});

describe.skipIf(!runGpuTests)('process lifetime', () => {
  it('a process that used the GPU exits by itself promptly after dispose()', () => {
    const script = `
      import { create } from 'webgpu';
      import { createHybrid } from 'hybrid-similarity';
      const hs = await createHybrid({ gpu: create([]) });
      if (!hs.info().gpu) { console.log('no-gpu'); process.exit(3); }
      const index = await hs.createIndex(new Float32Array(4096 * 8).map((_, i) => Math.sin(i)), { dim: 8 });
      const r = await index.search(new Float32Array(8).fill(1), { k: 3, backend: 'gpu' });
      await hs.dispose();
      console.log('done', r.indices.length);`;
    const started = Date.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', timeout: 30000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    expect(out.trim().split('\n').pop()).toBe('done 3');
    expect(Date.now() - started).toBeLessThan(15000);
  });
});

describe.skipIf(!runGpuTests)('adapter choice', () => {
  it('createHybrid() without a gpu option does not pick a software rasteriser by itself', async () => {
    const { testGpu } = await import('./gpu-setup.js');
    const { isSoftwareAdapter } = await import('../src/gpu/device.js');
    const adapter = await testGpu!.requestAdapter();
    const hs = await createHybrid();
    if (isSoftwareAdapter(adapter!)) {
      expect(hs.info().gpu).toBeNull();
    } else {
      expect(hs.info().gpu).not.toBeNull();
    }
    await hs.dispose();
    // Passed explicitly, the same adapter is used.
    const explicit = await createHybrid({ gpu: testGpu });
    expect(explicit.info().gpu).not.toBeNull();
    await explicit.dispose();
  });
});

/** The test GPU with some adapter features hidden (a device that lacks them). */
function gpuWithout(hidden: string[]): GPU {
  const { testGpu } = gpuSetup;
  return {
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = await testGpu!.requestAdapter(options);
      if (!adapter) return null;
      const features = new Set([...adapter.features].filter((f) => !hidden.includes(f)));
      return new Proxy(adapter, {
        get(target, property) {
          if (property === 'features') return features;
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
    getPreferredCanvasFormat: () => testGpu!.getPreferredCanvasFormat(),
    wgslLanguageFeatures: testGpu!.wgslLanguageFeatures,
  } as unknown as GPU;
}
const gpuSetup = await import('./gpu-setup.js');

describe.skipIf(!runGpuTests)('a device without subgroups and shader-f16', () => {
  it('reduces in workgroup memory and keeps f16 indexes as f16 without shader-f16', async () => {
    const hs = await createHybrid({ gpu: gpuWithout(['subgroups', 'shader-f16']) });
    const info = hs.info().gpu!;
    expect(info.features).not.toContain('subgroups');
    expect(info.f16Storage).toBe(true);
    for (const [dim, n] of [[5, 1001], [768, 3000]] as const) {
      const random = rng(dim + 7);
      const vectors = randomMatrix(n, dim, random);
      const query = randomMatrix(1, dim, random);
      const reference = cosineReference(query, vectors, dim);
      poisonFreeMemory(hs);
      expectScoresClose(await hs.cosineSimilarity(query, vectors, { backend: 'gpu' }), reference, 'one-shot');
      const index = await hs.createIndex(vectors, { dim, dtype: 'f16' });
      const scores = await index.scores(query, { backend: 'gpu' });
      const cpuScores = await index.scores(query, { backend: 'cpu' });
      for (let i = 0; i < n; i++) {
        expect(Math.abs(scores[i]! - reference[i]!)).toBeLessThan(2e-3);
        expect(Math.abs(scores[i]! - cpuScores[i]!)).toBeLessThan(1e-5);
      }
      const top = await index.search(query, { k: 5, backend: 'gpu' });
      const cpuTop = await index.search(query, { k: 5, backend: 'cpu' });
      expect(Array.from(top.indices)).toEqual(Array.from(cpuTop.indices));
      index.dispose();
    }
    await hs.dispose();
  });
});
