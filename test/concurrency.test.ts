// Many calls at once on one engine, some while an index grows or is disposed: each call returns
// its correct result or rejects with a typed error, none hangs; and a bounded soak whose memory
// (WASM pages, GPU buffers, RSS) stays flat after warm-up.
import { describe, expect, it } from 'vitest';
import { HybridError, type HybridEngine } from '../src/index.js';
import { arenaOf, gpuOf } from '../src/testing.js';
import { BACKENDS, engineFor, requireGpuInCi } from './gpu-setup.js';
import { cosineReference, randomMatrix, rng, TOLERANCE } from './helpers.js';

requireGpuInCi();

const dim = 24;

describe.each(BACKENDS)('$name backend', ({ name, skip }) => {
  it.skipIf(skip)('1000 concurrent mixed calls: right answers or typed errors, none hangs', async () => {
    // Minimum batch 1 so that auto calls reach the GPU (when there is one) as well as the CPU.
    const hs: HybridEngine = await engineFor(name, { gpuMinBatchSize: 1, explorationRate: 0.3 });
    const random = rng(7);
    const growing = randomMatrix(3000, dim, random);
    const a = await hs.createIndex(growing.subarray(0, 1000 * dim), { dim });
    const b = await hs.createIndex(randomMatrix(500, dim, random), { dim });
    const graph = hs.createGraph({ nodeCount: 600, from: new Uint32Array(2000).map((_, i) => (i * 13) % 600), to: new Uint32Array(2000).map((_, i) => (i * 7 + 1) % 600) });
    const calls: Array<Promise<{ kind: string; ok: boolean }>> = [];
    for (let i = 0; i < 1000; i++) {
      const query = randomMatrix(1, dim, random);
      const pick = i % 6;
      let call: Promise<unknown>;
      if (pick === 0) call = a.search(query, { k: 1 + (i % 17) });
      else if (pick === 1) call = a.scores(query);
      else if (pick === 2) call = b.searchBatch(randomMatrix(3, dim, random), { k: 4 });
      else if (pick === 3) call = hs.cosineSimilarity(query, growing.subarray(0, 200 * dim));
      else if (pick === 4) call = hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([i % 600]), values: new Float32Array([1]) } });
      else call = hs.cosineSimilarityMatrix(randomMatrix(2, dim, random), growing.subarray(0, 50 * dim), { dim });
      calls.push(call.then((result) => ({ kind: `${pick}`, ok: check(pick, query, result) }),
        (error: unknown) => ({ kind: `${pick}:${(error as HybridError).code}`, ok: error instanceof HybridError && (error as HybridError).code === 'DISPOSED' && pick === 2 })));
      if (i === 300) await a.add(growing.subarray(1000 * dim, 2000 * dim));
      if (i === 500) b.dispose();
      if (i === 700) await a.add(growing.subarray(2000 * dim));
    }
    const outcomes = await Promise.all(calls);
    const bad = outcomes.filter((o) => !o.ok);
    expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
    expect(outcomes.filter((o) => o.kind === '2:DISPOSED').length).toBeGreaterThan(0);
    expect(a.size).toBe(3000);
    await hs.dispose();

    /** Checks a result against the float64 reference over the rows it covers. */
    function check(pick: number, query: Float32Array, result: unknown): boolean {
      if (pick === 0) {
        const r = result as { indices: Uint32Array; scores: Float32Array };
        const reference = cosineReference(query, growing.subarray(0, 3000 * dim), dim);
        return r.indices.every((row, j) => row < 3000 && Math.abs(r.scores[j]! - reference[row]!) < TOLERANCE);
      }
      if (pick === 1) {
        const scores = result as Float32Array;
        const reference = cosineReference(query, growing.subarray(0, scores.length * dim), dim);
        return [1000, 2000, 3000].includes(scores.length) && scores.every((s, j) => Math.abs(s - reference[j]!) < TOLERANCE);
      }
      if (pick === 3) {
        const reference = cosineReference(query, growing.subarray(0, 200 * dim), dim);
        return (result as Float32Array).every((s, j) => Math.abs(s - reference[j]!) < TOLERANCE);
      }
      if (pick === 2) return (result as unknown[]).length === 3;
      if (pick === 4) return (result as Float32Array).length === 600 && (result as Float32Array).every((x) => x >= 0 && x <= 1);
      return (result as Float32Array).length === 100;
    }
  });

  it.skipIf(skip)('soak: 3000 mixed calls with indexes created and disposed; memory flat after warm-up', async () => {
    const hs = await engineFor(name, { gpuMinBatchSize: 1, explorationRate: 0.3 });
    const random = rng(9);
    const corpus = randomMatrix(2000, dim, random);
    const sample = () => ({ wasm: arenaOf(hs).memoryBytes, gpu: gpuOf(hs)?.bufferCount ?? 0, rss: process.memoryUsage().rss });
    let warm = sample();
    for (let i = 0; i < 3000; i++) {
      const index = await hs.createIndex(corpus.subarray(0, (500 + (i % 7) * 100) * dim), { dim });
      const query = randomMatrix(1, dim, random);
      await index.search(query, { k: 5 });
      if (i % 3 === 0) await index.scores(query);
      if (i % 5 === 0) await hs.cosineSimilarity(query, corpus.subarray(0, 300 * dim));
      index.dispose();
      if (i === 499) warm = sample();
    }
    const end = sample();
    expect(end.wasm).toBe(warm.wasm);
    expect(end.gpu).toBeLessThanOrEqual(warm.gpu + 2);
    expect(end.rss - warm.rss).toBeLessThan(64 * 1024 * 1024);
    expect(arenaOf(hs).liveBlocks).toBe(0);
    await hs.dispose();
  });
});
