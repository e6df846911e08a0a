// The GPU on corpora of hundreds of MB (npm run test:long): a corpus larger than one storage
// binding searched in one call, more row tiles than one dispatch dimension allows, and M x N
// scores larger than one binding. The rest of the GPU's behaviour is in test/gpu.test.ts.
import { describe, expect, it } from 'vitest';
import { createHybrid } from '../../src/index.js';
import { poisonFreeMemory } from '../../src/testing.js';
import { engineOptions, requireGpuInCi, runGpuTests } from '../gpu-setup.js';
import { cosineReference, expectScoresClose, randomMatrix, rng } from '../helpers.js';

requireGpuInCi();

describe.skipIf(!runGpuTests)('beyond one dispatch or one binding', () => {
  it('a corpus larger than one storage binding (> 128 MiB) is searched in one call', async () => {
    const hs = await createHybrid(engineOptions('gpu'));
    const dim = 768;
    const n = 50000; // 153.6 MB of f32
    const binding = hs.info().gpu!.limits.maxStorageBufferBindingSize!;
    expect(n * dim * 4).toBeGreaterThan(binding);
    const random = rng(50);
    const vectors = randomMatrix(n, dim, random);
    const query = randomMatrix(1, dim, random);
    const index = await hs.createIndex(vectors, { dim });
    poisonFreeMemory(hs);
    const reference = cosineReference(query, vectors, dim);
    expectScoresClose(await index.scores(query, { backend: 'gpu' }), reference, 'scores');
    const onGpu = await index.search(query, { k: 10, backend: 'gpu' });
    const onCpu = await index.search(query, { k: 10, backend: 'cpu' });
    expect(Array.from(onGpu.indices)).toEqual(Array.from(onCpu.indices));
    const batch = await index.searchBatch(randomMatrix(3, dim, random), { k: 5, backend: 'gpu' });
    expect(batch.length).toBe(3);
    // The matching row is in the second binding.
    const late = vectors.slice(45000 * dim, 45001 * dim);
    expect((await index.search(late, { k: 1, backend: 'gpu' })).indices[0]).toBe(45000);
    index.dispose();
    await hs.dispose();
  });

  /** float64 cosine of query row q against vector row r. */
  const cosineAt = (queries: Float32Array, q: number, vectors: Float32Array, r: number, dim: number) => {
    let dot = 0, qq = 0, rr = 0;
    for (let j = 0; j < dim; j++) {
      const a = queries[q * dim + j]!, b = vectors[r * dim + j]!;
      dot += a * b; qq += a * a; rr += b * b;
    }
    return qq === 0 || rr === 0 ? 0 : dot / Math.sqrt(qq * rr);
  };

  it('more row tiles than one dispatch dimension allows (4.2M rows): the matrix kernel strides', async () => {
    const hs = await createHybrid(engineOptions('gpu'));
    const dim = 4;
    const n = 4_200_000; // 65,625 tiles of 64 rows > 65,535
    const random = rng(77);
    const vectors = randomMatrix(n, dim, random);
    const queries = randomMatrix(2, dim, random);
    poisonFreeMemory(hs);
    const scores = await hs.cosineSimilarityMatrix(queries, vectors, { dim, backend: 'gpu' });
    expect(scores.length).toBe(2 * n);
    for (const r of [0, 1, 12345, n - 64 * 5, n - 2, n - 1]) {
      for (let q = 0; q < 2; q++) {
        expect(Math.abs(scores[q * n + r]! - cosineAt(queries, q, vectors, r, dim))).toBeLessThan(1e-5);
      }
    }
    await hs.dispose();
  });

  it('M x N scores larger than one storage binding: queries go in batches', async () => {
    const hs = await createHybrid(engineOptions('gpu'));
    const dim = 8;
    const n = 300_000;
    const m = 128; // 128 x 300k x 4 bytes = 153.6 MB > 128 MiB
    const random = rng(78);
    const vectors = randomMatrix(n, dim, random);
    const queries = randomMatrix(m, dim, random);
    const index = await hs.createIndex(vectors, { dim });
    const results = await index.searchBatch(queries, { k: 5, backend: 'gpu' });
    const cpu = await index.searchBatch(queries, { k: 5, backend: 'cpu' });
    expect(results.length).toBe(m);
    for (const q of [0, 1, 63, 64, 100, 127]) {
      expect(Array.from(results[q]!.indices), `query ${q}`).toEqual(Array.from(cpu[q]!.indices));
    }
    const matrix = await hs.cosineSimilarityMatrix(queries, vectors, { dim, backend: 'gpu' });
    for (const [q, r] of [[0, 0], [127, n - 1], [100, 150_000], [64, 7]] as const) {
      expect(Math.abs(matrix[q * n + r]! - cosineAt(queries, q, vectors, r, dim))).toBeLessThan(1e-5);
    }
    index.dispose();
    await hs.dispose();
  });
});
