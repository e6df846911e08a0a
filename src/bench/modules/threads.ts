// The CPU worker pool: the same calls on every core (the engine as users get it: cpuThreads =
// cores, offMainThread), on this thread plus workers (offMainThread false) and on one thread
// (cpuThreads 1), on one 100k x 768 index and a 200k-node graph; then the split's own crossover
// (d 256 scores over 256 .. 32768 rows, the pool's threshold forced to 0, against one thread).
// In the report, "... (1 thread) / ours (CPU)" is the speedup the threads give. Every setup's
// results are checked identical (same bits) to one thread's before timing.
import { createHybrid, type HybridEngine } from '../../engine.js';
import type { VectorIndex } from '../../store/vector-index.js';
import { fill, seededRandom } from '../data.js';
import { cpuBackendOf } from '../engine-access.js';
import { BenchCheckError, OURS, type BenchModule, type BenchTask } from '../types.js';
import { batchPathOf } from '../strategy-note.js';

/** The implementation names of the figures beside ours (every core, offMainThread). */
export const ONE_THREAD = `${OURS} (1 thread)`;
export const HERE_AND_WORKERS = `${OURS} (this thread + workers)`;

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));

interface Setup {
  implementation: string;
  engine: HybridEngine;
}

/** Every core against one thread on the same calls (checked identical), and the split's crossover. */
export const threadsModule: BenchModule = {
  name: 'threads',
  description: 'every core (worker threads) against one thread: top-10, f32 scan, 64-query batch, spreading; the split\'s crossover',
  async *groups(context) {
    const rows = context.quick ? 50_000 : 100_000;
    const dim = 768;
    const random = seededRandom(0x7e4d);
    const corpus = fill(random, rows * dim);
    const query = fill(random, dim);
    const queries = fill(random, 64 * dim);
    const setups: Setup[] = [];
    try {
      setups.push({ implementation: OURS, engine: await createHybrid({ gpu: null }) });
      const cores = setups[0]!.engine.config.cpuThreads;
      setups.push({ implementation: HERE_AND_WORKERS, engine: await createHybrid({ gpu: null, offMainThread: false }) });
      setups.push({ implementation: ONE_THREAD, engine: await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false }) });
      const threads = setups[0]!.engine.info().cpu.threads;
      if (threads < 2) {
        context.missing(`${OURS} threads`, `this machine or runtime offers ${threads} thread (cpuThreads ${cores})`);
        return;
      }
      const note = `${threads} threads`;
      const tasks = (run: (setup: Setup, i: number) => Promise<unknown>): BenchTask[] => setups.map((setup, i) => ({
        implementation: setup.implementation, fn: () => run(setup, i),
        ...(setup.implementation === OURS ? { backend: 'cpu' as const, note: `${note}, offMainThread` } : {}),
      }));
      /** Every setup's answer equals one thread's (the last setup), bit for bit. */
      const check = async (what: string, call: (i: number) => Promise<ArrayLike<number>[]>) => {
        const want = await call(setups.length - 1);
        for (let i = 0; i < setups.length - 1; i++) {
          const got = await call(i);
          if (!got.every((values, j) => same(values, want[j]!))) throw new BenchCheckError(`${what}: ${setups[i]!.implementation} differs from one thread`);
        }
      };

      const indexes: VectorIndex<number, true>[] = [];
      for (const setup of setups) indexes.push(await setup.engine.createIndex(corpus, { dim }));
      const search = (i: number) => indexes[i]!.search(query, { k: 10, backend: 'cpu' });
      const scores = (i: number) => indexes[i]!.scores(query, { backend: 'cpu' });
      const batch = (i: number) => indexes[i]!.searchBatch(queries, { k: 10, backend: 'cpu' });
      await check('search', async (i) => { const r = await search(i); return [r.indices!, r.scores]; });
      await check('scores', async (i) => [await scores(i)]);
      await check('searchBatch', async (i) => (await batch(i)).flatMap((r) => [r.indices!, r.scores]));
      const shape = `1 x ${rows} x ${dim}`;
      yield { operation: 'threads: search top-10', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine', tasks: tasks((_, i) => search(i)) };
      yield { operation: 'threads: scores (f32 scan)', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine', tasks: tasks((_, i) => scores(i)) };
      const batchTasks = tasks((_, i) => batch(i));
      for (const [i, task] of batchTasks.entries()) {
        const path = await batchPathOf(setups[i]!.engine, () => batch(i));
        if (path) task.note = task.note ? `${task.note}; ${path}` : path;
      }
      yield { operation: 'threads: searchBatch top-10', batch: 64 * rows, batchUnit: 'queries x rows', shape: `64 x ${rows} x ${dim}`, routedAs: 'cosine', tasks: batchTasks };
      for (const index of indexes) index.dispose();

      const nodes = context.quick ? 50_000 : 200_000;
      const edges = nodes * 5;
      const from = new Uint32Array(edges), to = new Uint32Array(edges), weight = new Float32Array(edges);
      for (let e = 0; e < edges; e++) {
        from[e] = Math.floor(nodes * ((random() + 1) / 2) ** 2);
        to[e] = Math.floor((nodes * (random() + 1)) / 2) % nodes;
        weight[e] = random();
      }
      const seeds = { nodes: Uint32Array.from({ length: 64 }, (_, i) => (i * 7919) % nodes), values: new Float32Array(64).fill(1) };
      const graphs = setups.map((setup) => setup.engine.createGraph({ nodeCount: nodes, from, to, weight }));
      const spread = (i: number) => setups[i]!.engine.spreadActivation(graphs[i]!, { seeds, maxHops: 4, threshold: 0.001, backend: 'cpu' });
      await check('spreading', async (i) => [await spread(i)]);
      yield {
        operation: 'threads: spreading 4 hops', batch: nodes, batchUnit: 'nodes x seed sets', shape: `${nodes} nodes, ${edges} edges, 1 seed set`,
        routedAs: 'spreading', tasks: tasks((_, i) => spread(i)),
      };
      for (const graph of graphs) graph.dispose();

      // The split's crossover: the pool's threshold at 0, so every call is split.
      const split = setups[1]!.engine;
      cpuBackendOf(split).minWorkBytes = 0;
      const crossDim = 256;
      const q = fill(random, crossDim);
      for (let n = 256; n <= (context.quick ? 8192 : 32768); n *= 2) {
        const data = fill(random, n * crossDim);
        const [splitIndex, oneIndex] = [await split.createIndex(data, { dim: crossDim }), await setups[2]!.engine.createIndex(data, { dim: crossDim })];
        const [a, b] = [await splitIndex.scores(q), await oneIndex.scores(q)];
        if (!same(a, b)) throw new BenchCheckError(`crossover ${n} rows: split differs from one thread`);
        yield {
          operation: 'threads: crossover of the split (scores, threshold 0)', batch: n, batchUnit: 'rows (one query)',
          shape: `1 x ${n} x ${crossDim} (${(n * crossDim * 4) / 1024} KiB)`, routedAs: 'cosine',
          tasks: [
            { implementation: OURS, backend: 'cpu', note: 'split: this thread + workers', fn: () => splitIndex.scores(q) },
            { implementation: ONE_THREAD, fn: () => oneIndex.scores(q) },
          ],
        };
        splitIndex.dispose();
        oneIndex.dispose();
      }
    } finally {
      for (const setup of setups) await setup.engine.dispose();
    }
  },
};
