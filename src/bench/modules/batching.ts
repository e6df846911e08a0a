// Dynamic batching: 1000 concurrent single searches (k 1..20) on one index, with
// presets.batching.balanced (ours) and with batching off and the other presets. In the report the
// column "... (batching off) / ours" is the throughput gain of batching. Every batched answer is
// checked against the unbatched engine's before timing (same bits on the CPU; on a GPU, whose batch
// kernel sums in another order, the same rows).
import type { BackendChoice } from '../../backend.js';
import { createHybrid, type HybridEngine, type HybridOptions } from '../../engine.js';
import { presets } from '../../presets.js';
import type { VectorIndex } from '../../store/vector-index.js';
import { fill, seededRandom } from '../data.js';
import { BenchCheckError, OURS, type BenchContext, type BenchModule } from '../types.js';

const CALLS = 1000;

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));
const sameRows = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  same(Array.from(a).sort((x, y) => x - y), Array.from(b).sort((x, y) => x - y));

/** What a batching module measures: on which engines, which backend, which indexes. */
export interface BatchingBench {
  name: string;
  /** The engine for one batching setting (false: off). */
  engine(batching: HybridOptions['batching']): Promise<HybridEngine>;
  backend: BackendChoice;
  /** The indexes (rows x dim) to search, for a quick or a full run. */
  shapes(context: BenchContext): Array<{ n: number; dim: number }>;
}

/** A module timing CALLS concurrent searches with each batching preset and without. */
export function batchingModuleFor(bench: BatchingBench): BenchModule {
  return {
    name: bench.name,
    description: `${CALLS} concurrent searches merged by dynamic batching against none (${bench.backend})`,
    async *groups(context) {
      const modes = [
        { implementation: OURS, batching: presets.batching.balanced.batching },
        { implementation: `${OURS} (batching off)`, batching: false as const },
        { implementation: `${OURS} (lowLatency 5 ms / 64)`, batching: presets.batching.lowLatency.batching },
        { implementation: `${OURS} (highThroughput 20 ms / 256)`, batching: presets.batching.highThroughput.batching },
      ];
      const random = seededRandom(0xba7c);
      for (const { n, dim } of bench.shapes(context)) {
        const corpus = fill(random, n * dim);
        const queries = Array.from({ length: CALLS }, () => fill(random, dim));
        const ks = queries.map((_, i) => 1 + (i % 20));
        const engines: HybridEngine[] = [];
        try {
          const indexes: VectorIndex<number, true>[] = [];
          for (const mode of modes) {
            const engine = await bench.engine(mode.batching);
            engines.push(engine);
            indexes.push(await engine.createIndex(corpus, { dim }));
          }
          const all = (i: number) => Promise.all(queries.map((q, j) => indexes[i]!.search(q, { k: ks[j]!, backend: bench.backend })));
          const want = await all(1);
          for (let i = 0; i < modes.length; i++) {
            const got = await all(i);
            got.forEach((r, j) => {
              const ok = bench.backend === 'gpu' ? sameRows(r.indices!, want[j]!.indices!)
                : same(r.indices!, want[j]!.indices!) && same(r.scores, want[j]!.scores);
              if (!ok) throw new BenchCheckError(`${modes[i]!.implementation}: call ${j} differs from the unbatched answer`);
            });
          }
          yield {
            operation: `batching: ${CALLS} concurrent searches (${bench.backend})`, batch: CALLS * n, batchUnit: 'concurrent searches x rows',
            shape: `${CALLS} x ${n} x ${dim}`, routedAs: 'cosine',
            tasks: modes.map((mode, i) => ({
              implementation: mode.implementation,
              ...(mode.implementation === OURS ? { backend: bench.backend, note: 'presets.batching.balanced (10 ms / 128)' } : {}),
              fn: () => all(i),
            })),
          };
        } finally {
          for (const engine of engines) await engine.dispose();
        }
      }
    },
  };
}

/** The suite's module: the CPU (the engine as users get it), auto routing. */
export const batchingModule = batchingModuleFor({
  name: 'batching',
  engine: (batching) => createHybrid({ gpu: null, batching }),
  backend: 'auto',
  shapes: (context) => (context.quick ? [{ n: 20_000, dim: 384 }] : [{ n: 100_000, dim: 768 }, { n: 20_000, dim: 384 }, { n: 2_000, dim: 128 }]),
});
