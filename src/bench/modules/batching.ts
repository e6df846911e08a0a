// Dynamic batching: 1000 concurrent single searches (k 1..20) on one index, with
// presets.batching.balanced (ours) and with batching off and the other presets. In the report the
// column "batching off / ours (CPU)" is the throughput gain of batching. Every batched answer is
// checked against the unbatched engine's (same bits) before timing.
import { createHybrid, type HybridEngine } from '../../engine.js';
import { presets } from '../../presets.js';
import type { VectorIndex } from '../../vector-index.js';
import { fill, seededRandom } from '../data.js';
import { BenchCheckError, OURS, type BenchModule } from '../types.js';

const CALLS = 1000;

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));

export const batchingModule: BenchModule = {
  name: 'batching',
  description: `${CALLS} concurrent searches merged by dynamic batching against none (CPU)`,
  async *groups(context) {
    const shapes = context.quick ? [{ n: 20_000, dim: 384 }] : [{ n: 100_000, dim: 768 }, { n: 20_000, dim: 384 }, { n: 2_000, dim: 128 }];
    const modes = [
      { implementation: OURS, batching: presets.batching.balanced.batching },
      { implementation: `${OURS} (batching off)`, batching: false as const },
      { implementation: `${OURS} (lowLatency 5 ms / 64)`, batching: presets.batching.lowLatency.batching },
      { implementation: `${OURS} (highThroughput 20 ms / 256)`, batching: presets.batching.highThroughput.batching },
    ];
    const random = seededRandom(0xba7c);
    for (const { n, dim } of shapes) {
      const corpus = fill(random, n * dim);
      const queries = Array.from({ length: CALLS }, () => fill(random, dim));
      const ks = queries.map((_, i) => 1 + (i % 20));
      const engines: HybridEngine[] = [];
      try {
        const indexes: VectorIndex[] = [];
        for (const mode of modes) {
          const engine = await createHybrid({ gpu: null, batching: mode.batching });
          engines.push(engine);
          indexes.push(await engine.createIndex(corpus, { dim }));
        }
        const all = (i: number) => Promise.all(queries.map((q, j) => indexes[i]!.search(q, { k: ks[j]! })));
        const want = await all(1);
        for (let i = 0; i < modes.length; i++) {
          const got = await all(i);
          got.forEach((r, j) => {
            if (!same(r.indices, want[j]!.indices) || !same(r.scores, want[j]!.scores)) {
              throw new BenchCheckError(`${modes[i]!.implementation}: call ${j} differs from the unbatched answer`);
            }
          });
        }
        yield {
          operation: `batching: ${CALLS} concurrent searches`, batch: CALLS * n, batchUnit: 'concurrent searches x rows',
          shape: `${CALLS} x ${n} x ${dim}`, routedAs: 'cosine',
          tasks: modes.map((mode, i) => ({
            implementation: mode.implementation, ...(mode.implementation === OURS ? { backend: 'auto' as const, note: 'presets.batching.balanced (10 ms / 128)' } : {}),
            fn: () => all(i),
          })),
        };
      } finally {
        for (const engine of engines) await engine.dispose();
      }
    }
  },
};
