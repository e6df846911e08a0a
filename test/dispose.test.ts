// dispose() while calls are in flight: they finish with their answer, memory is freed after
// them, later calls get DISPOSED, and dispose() itself waits for them.
import { describe, expect, it } from 'vitest';
import type { HybridEngine } from '../src/index.js';
import { arenaOf, gpuOf } from '../src/testing.js';
import { BACKENDS, engineFor, requireGpuInCi } from './gpu-setup.js';
import { cosineReference, expectScoresClose, expectTopK, randomMatrix, rng } from './helpers.js';

requireGpuInCi();

const dim = 48;
const vectors = randomMatrix(20000, dim, rng(1));
const query = randomMatrix(1, dim, rng(2));
const reference = cosineReference(query, vectors, dim);

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  it.skipIf(skip)('index.dispose() during a search: the search answers, then the rows are freed', async () => {
    const hs: HybridEngine = await engineFor(name);
    const baseline = arenaOf(hs).liveBlocks;
    const index = await hs.createIndex(vectors, { dim });
    const scores = await index.scores(query, { backend: 'cpu' });
    const pending = [index.search(query, { k: 5, backend }), index.scores(query, { backend })];
    index.dispose();
    await expect(index.search(query, { k: 1 })).rejects.toMatchObject({ code: 'DISPOSED' });
    const [top, all] = await Promise.all(pending) as [{ indices: Uint32Array; scores: Float32Array }, Float32Array];
    expectTopK(top, 5, backend === 'cpu' ? scores : all, reference);
    expectScoresClose(all, reference);
    expect(arenaOf(hs).liveBlocks).toBe(baseline);
    await hs.dispose();
  });

  it.skipIf(skip)('calls waiting their turn when dispose() is called (a write behind a read, a read behind it) answer too', async () => {
    for (const disposer of ['index', 'engine'] as const) {
      const hs = await engineFor(name);
      const baseline = arenaOf(hs).liveBlocks;
      const index = await hs.createIndex(vectors, { dim });
      const added = randomMatrix(1, dim, rng(3));
      const calls = [
        index.scores(query, { backend }),                // running
        index.add(added),                                // waits for the read
        index.search(added, { k: 1, backend }),          // waits for the write: sees the added row
      ] as const;
      const disposing = disposer === 'index' ? (index.dispose(), Promise.resolve()) : hs.dispose();
      await expect(index.search(query, { k: 1 }), `${disposer}: a call after dispose()`).rejects.toMatchObject({ code: 'DISPOSED' });
      const [all, , top] = await Promise.all(calls);
      expectScoresClose(all, reference);
      expect(top.keys, disposer).toEqual([20000]);
      await disposing;
      if (disposer === 'index') {
        expect(arenaOf(hs).liveBlocks, 'rows freed after the last call').toBe(baseline);
        await hs.dispose();
      }
    }
  });

  it.skipIf(skip)('engine.dispose() waits for running calls, which all answer; later calls get DISPOSED', async () => {
    const hs = await engineFor(name);
    const index = await hs.createIndex(vectors, { dim });
    const graph = hs.createGraph({ nodeCount: 1000, from: new Uint32Array(3000).map((_, i) => i % 1000), to: new Uint32Array(3000).map((_, i) => (i * 7) % 1000) });
    const calls: Array<Promise<unknown>> = [
      index.scores(query, { backend }),
      hs.cosineSimilarity(query, vectors, { backend }),
      hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, backend }),
    ];
    const disposing = hs.dispose();
    const settled = await Promise.allSettled(calls);
    for (const outcome of settled) expect(outcome.status).toBe('fulfilled');
    expectScoresClose((settled[0] as PromiseFulfilledResult<Float32Array>).value, reference);
    expectScoresClose((settled[1] as PromiseFulfilledResult<Float32Array>).value, reference);
    await disposing;
    await expect(index.scores(query)).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(hs.cosineSimilarity(query, vectors)).rejects.toMatchObject({ code: 'DISPOSED' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (backend === 'gpu') expect(gpuOf(hs)!.lost).toBe(true); // the device was destroyed after them
    await hs.dispose(); // twice: harmless
  });
});

describe('engine.dispose() during a load', () => {
  it('loadIndex and loadGraph of a stream still arriving reject with DISPOSED and leave nothing allocated', async () => {
    const hs = await engineFor('cpu');
    const index = await hs.createIndex(randomMatrix(500, 5, rng(3)), { dim: 5 });
    const graph = hs.createGraph({ nodeCount: 4, from: new Uint32Array([0, 1, 2]), to: new Uint32Array([1, 2, 3]) });
    const files = [await index.toBytes(), await graph.toBytes()];
    index.dispose();
    graph.dispose();
    const baseline = arenaOf(hs).liveBlocks;
    // 64 bytes every 5 ms: the dispose() below comes while both loads are reading.
    const slowly = (bytes: Uint8Array) => {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (at >= bytes.length) controller.close();
          else controller.enqueue(bytes.slice(at, (at += 64)));
        },
      });
    };
    const loads = Promise.allSettled([hs.loadIndex(slowly(files[0]!)), hs.loadGraph(slowly(files[1]!))]);
    await new Promise((resolve) => setTimeout(resolve, 15));
    await hs.dispose();
    for (const load of await loads) {
      expect(load.status).toBe('rejected');
      expect((load as PromiseRejectedResult).reason).toMatchObject({ code: 'DISPOSED' });
    }
    expect(arenaOf(hs).liveBlocks).toBe(baseline);
  });
});
