// The CPU worker pool: the same calls with every core (the engine as users get it: cpuThreads =
// cores, offMainThread) and on one thread (cpuThreads 1), on one 100k x 768 index and a 200k-node
// graph. In the report, the column "1 thread / ours (CPU)" is the speedup the threads give.
// Results of both are checked identical (same bits) before timing.
import { createHybrid, type HybridEngine } from '../../engine.js';
import { fill, seededRandom } from '../data.js';
import { BenchCheckError, OURS, type BenchModule } from '../types.js';

/** The implementation name of the one-thread figures. */
export const ONE_THREAD = `${OURS} (1 thread)`;

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));

export const threadsModule: BenchModule = {
  name: 'threads',
  description: 'every core (worker threads) against one thread: top-10, f32 scan, 64-query batch, spreading',
  async *groups(context) {
    const rows = context.quick ? 50_000 : 100_000;
    const dim = 768;
    const random = seededRandom(0x7e4d);
    const corpus = fill(random, rows * dim);
    const query = fill(random, dim);
    const queries = fill(random, 64 * dim);
    const engines: HybridEngine[] = [];
    try {
      const all = await createHybrid({ gpu: null });
      const one = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
      engines.push(all, one);
      const threads = all.info().cpu.threads;
      if (threads < 2) {
        context.missing(`${OURS} threads`, `this machine or runtime offers ${threads} thread (cpuThreads ${all.config.cpuThreads})`);
        return;
      }
      const note = `${threads} worker threads, offMainThread`;
      const [a, b] = [await all.createIndex(corpus, { dim }), await one.createIndex(corpus, { dim })];
      const pair = (label: string, x: { indices: ArrayLike<number>; scores: ArrayLike<number> },
        y: { indices: ArrayLike<number>; scores: ArrayLike<number> }) => {
        if (!same(x.indices, y.indices) || !same(x.scores, y.scores)) throw new BenchCheckError(`${label}: threads and one thread differ`);
      };
      pair('search', await a.search(query, { k: 10, backend: 'cpu' }), await b.search(query, { k: 10, backend: 'cpu' }));
      if (!same(await a.scores(query, { backend: 'cpu' }), await b.scores(query, { backend: 'cpu' }))) {
        throw new BenchCheckError('scores: threads and one thread differ');
      }
      const batchA = await a.searchBatch(queries, { k: 10, backend: 'cpu' });
      const batchB = await b.searchBatch(queries, { k: 10, backend: 'cpu' });
      batchA.forEach((r, q) => pair(`searchBatch query ${q}`, r, batchB[q]!));

      const shape = `1 x ${rows} x ${dim}`;
      yield {
        operation: 'threads: search top-10', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine',
        tasks: [
          { implementation: OURS, backend: 'cpu', note, fn: () => a.search(query, { k: 10, backend: 'cpu' }) },
          { implementation: ONE_THREAD, fn: () => b.search(query, { k: 10, backend: 'cpu' }) },
        ],
      };
      yield {
        operation: 'threads: scores (f32 scan)', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine',
        tasks: [
          { implementation: OURS, backend: 'cpu', note, fn: () => a.scores(query, { backend: 'cpu' }) },
          { implementation: ONE_THREAD, fn: () => b.scores(query, { backend: 'cpu' }) },
        ],
      };
      yield {
        operation: 'threads: searchBatch top-10', batch: 64 * rows, batchUnit: 'queries x rows', shape: `64 x ${rows} x ${dim}`, routedAs: 'cosine',
        tasks: [
          { implementation: OURS, backend: 'cpu', note, fn: () => a.searchBatch(queries, { k: 10, backend: 'cpu' }) },
          { implementation: ONE_THREAD, fn: () => b.searchBatch(queries, { k: 10, backend: 'cpu' }) },
        ],
      };
      a.dispose();
      b.dispose();

      const nodes = context.quick ? 50_000 : 200_000;
      const edges = nodes * 5;
      const from = new Uint32Array(edges), to = new Uint32Array(edges), weight = new Float32Array(edges);
      for (let e = 0; e < edges; e++) {
        from[e] = Math.floor(nodes * ((random() + 1) / 2) ** 2);
        to[e] = Math.floor((nodes * (random() + 1)) / 2) % nodes;
        weight[e] = random();
      }
      const seeds = { nodes: Uint32Array.from({ length: 64 }, (_, i) => (i * 7919) % nodes), values: new Float32Array(64).fill(1) };
      const [ga, gb] = [all.createGraph({ nodeCount: nodes, from, to, weight }), one.createGraph({ nodeCount: nodes, from, to, weight })];
      const options = { seeds, maxHops: 4, threshold: 0.001, backend: 'cpu' as const };
      if (!same(await all.spreadActivation(ga, options), await one.spreadActivation(gb, options))) {
        throw new BenchCheckError('spreading: threads and one thread differ');
      }
      yield {
        operation: 'threads: spreading 4 hops', batch: nodes, batchUnit: 'nodes x seed sets', shape: `${nodes} nodes, ${edges} edges, 1 seed set`, routedAs: 'spreading',
        tasks: [
          { implementation: OURS, backend: 'cpu', note, fn: () => all.spreadActivation(ga, options) },
          { implementation: ONE_THREAD, fn: () => one.spreadActivation(gb, options) },
        ],
      };
    } finally {
      for (const engine of engines) await engine.dispose();
    }
  },
};
