// The index as a store: the stored precisions (f32, f16, i8) on one index of embedding-shaped
// rows (scan and top-10, memory), the metrics (cosine, dot, l2), filtered search at 50%, 1% and
// 0.01% of the rows passing (a Set of keys; at 50% an array too; a predicate at 1%), and search
// with 10% of the rows removed (before compaction). In the report, "<variant> / ours" is the cost against the plain
// f32 cosine index. Every result is checked first: scores against float64 within the dtype's
// tolerance, every top-10 equal (same keys, same bits) to the top 10 of the index's own scores.
import { createHybrid, type HybridEngine } from '../../engine.js';
import type { Metric } from '../../store/types.js';
import type { VectorIndex } from '../../store/vector-index.js';
import { embeddingLike, seededRandom } from '../data.js';
import { BenchCheckError, OURS, type BenchModule, type BenchTask } from '../types.js';

const TOLERANCE = { f32: 1e-5, f16: 2e-3, i8: 2e-2 } as const;

/** The 10 best positions of `scores` (l2: smallest), ties to the lower position, among `allowed`. */
function bestOf(scores: Float32Array, k: number, metric: Metric, allowed?: (i: number) => boolean): number[] {
  const sign = metric === 'l2' ? -1 : 1;
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (allowed && !allowed(i)) continue;
    const s = sign * scores[i]!;
    if (best.length === k && s <= sign * scores[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && sign * scores[best[at - 1]!]! < s) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

/** Check a search result equals the top of the index's own scores (keys are positions here). */
function checkExact(what: string, got: { keys: number[]; scores: Float32Array }, scores: Float32Array, keys: number[], metric: Metric,
  allowed?: (i: number) => boolean): void {
  const want = bestOf(scores, 10, metric, allowed);
  if (got.keys.length !== want.length) throw new BenchCheckError(`${what}: ${got.keys.length} results, want ${want.length}`);
  want.forEach((i, j) => {
    if (got.keys[j] !== keys[i] || !Object.is(got.scores[j], scores[i]!)) {
      throw new BenchCheckError(`${what}: result ${j} is key ${got.keys[j]} (${got.scores[j]}), the exact scan says ${keys[i]} (${scores[i]})`);
    }
  });
}

export const storeModule: BenchModule = {
  name: 'store',
  description: 'the index as a store: f32/f16/i8 scans and top-10, cosine/dot/l2, filtered search (50%, 1%, 0.01%), 10% removed',
  async *groups(context) {
    const rows = context.quick ? 100_000 : 1_000_000;
    const dim = 768;
    const random = seededRandom(0x5701e);
    const corpus = embeddingLike(random, rows, dim);
    const query = corpus.slice(12_345 * dim, 12_346 * dim).map((x) => x + 0.01 * random());
    const engines: HybridEngine[] = [];
    try {
      const engine = await createHybrid({ gpu: null });
      engines.push(engine);
      const cpu = 'cpu' as const;

      // Stored precisions.
      const byDtype: Array<{ dtype: 'f32' | 'f16' | 'i8'; index: VectorIndex<number, true>; scores: Float32Array }> = [];
      for (const dtype of ['f32', 'f16', 'i8'] as const) {
        const index = await engine.createIndex(corpus, { dim, dtype });
        const scores = await index.scores(query, { backend: cpu });
        byDtype.push({ dtype, index, scores });
      }
      const reference = new Float64Array(rows);
      {
        let qq = 0;
        for (let j = 0; j < dim; j++) qq += query[j]! ** 2;
        for (let r = 0; r < rows; r++) {
          let dot = 0, rr = 0;
          for (let j = 0; j < dim; j++) { const x = corpus[r * dim + j]!; dot += x * query[j]!; rr += x * x; }
          reference[r] = rr > 0 ? dot / Math.sqrt(qq * rr) : 0;
        }
      }
      const keys = Array.from({ length: rows }, (_, i) => i);
      for (const { dtype, index, scores } of byDtype) {
        let worst = 0;
        for (let r = 0; r < rows; r++) worst = Math.max(worst, Math.abs(scores[r]! - reference[r]!));
        if (!(worst <= TOLERANCE[dtype])) throw new BenchCheckError(`${dtype} scores: worst error ${worst} against float64`);
        checkExact(`${dtype} top-10`, await index.search(query, { k: 10, backend: cpu }), scores, keys, 'cosine');
      }
      const f32Bytes = byDtype[0]!.index.memoryBytes;
      const dtypeTasks = (call: (i: number) => Promise<unknown>): BenchTask[] => byDtype.map(({ dtype, index }, i) => ({
        implementation: dtype === 'f32' ? OURS : `${OURS} ${dtype}`,
        ...(dtype === 'f32' ? { backend: cpu } : {}),
        note: `memoryBytes ${(index.memoryBytes / 2 ** 20).toFixed(0)} MiB (${(index.memoryBytes / f32Bytes).toFixed(3)}x f32)`,
        fn: () => call(i),
      }));
      const shape = `1 x ${rows} x ${dim}`;
      yield { operation: 'store: scores by dtype', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine',
        tasks: dtypeTasks((i) => byDtype[i]!.index.scores(query, { backend: cpu })) };
      yield { operation: 'store: search top-10 by dtype', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine',
        tasks: dtypeTasks((i) => byDtype[i]!.index.search(query, { k: 10, backend: cpu })) };
      for (const { index } of byDtype.slice(1)) index.dispose();
      const index = byDtype[0]!.index;
      const own = byDtype[0]!.scores;

      // Filters: a Set of allowed keys (and a predicate at 1%).
      const filterTasks: BenchTask[] = [{ implementation: OURS, backend: cpu, note: 'no filter', fn: () => index.search(query, { k: 10, backend: cpu }) }];
      for (const share of [0.5, 0.01, 0.0001]) {
        const step = Math.round(1 / share);
        const allowed = new Set<number>();
        for (let r = 7; r < rows; r += step) allowed.add(r);
        checkExact(`filter ${share}`, await index.search(query, { k: 10, filter: allowed, backend: cpu }), own, keys, 'cosine', (i) => allowed.has(i));
        filterTasks.push({ implementation: `${OURS} filter ${share * 100}% (Set)`, fn: () => index.search(query, { k: 10, filter: allowed, backend: cpu }) });
        if (share === 0.5) {
          const list = [...allowed];
          checkExact(`filter ${share} (array)`, await index.search(query, { k: 10, filter: list, backend: cpu }), own, keys, 'cosine', (i) => allowed.has(i));
          filterTasks.push({ implementation: `${OURS} filter 50% (array)`, fn: () => index.search(query, { k: 10, filter: list, backend: cpu }) });
        }
        if (share === 0.01) {
          const test = (key: number) => key % step === 7 % step;
          checkExact('filter predicate', await index.search(query, { k: 10, filter: test, backend: cpu }), own, keys, 'cosine', (i) => test(i));
          filterTasks.push({ implementation: `${OURS} filter 1% (function)`, fn: () => index.search(query, { k: 10, filter: test, backend: cpu }) });
        }
      }
      yield { operation: 'store: filtered search top-10', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine', tasks: filterTasks };

      // 10% of the rows removed, before compaction (the automatic share is 25%).
      const removed = await engine.createIndex(corpus, { dim });
      const gone = Array.from({ length: rows / 10 }, (_, i) => i * 10 + 3);
      await removed.remove(gone);
      const goneSet = new Set(gone);
      checkExact('10% removed', await removed.search(query, { k: 10, backend: cpu }), own, keys, 'cosine', (i) => !goneSet.has(i));
      yield {
        operation: 'store: search top-10, 10% removed', batch: rows, batchUnit: 'rows (one query)', shape, routedAs: 'cosine', tasks: [
          { implementation: OURS, backend: cpu, note: 'nothing removed', fn: () => index.search(query, { k: 10, backend: cpu }) },
          { implementation: `${OURS} 10% removed`, fn: () => removed.search(query, { k: 10, backend: cpu }) },
        ],
      };
      removed.dispose();
      index.dispose();

      // Metrics at 100k x 768.
      const small = 100_000;
      const part = corpus.subarray(0, small * dim);
      const metricTasks: BenchTask[] = [];
      for (const metric of ['cosine', 'dot', 'l2'] as const) {
        const m = await engine.createIndex(part, { dim, metric });
        const scores = await m.scores(query, { backend: cpu });
        checkExact(`${metric} top-10`, await m.search(query, { k: 10, backend: cpu }), scores, keys, metric);
        metricTasks.push({ implementation: metric === 'cosine' ? OURS : `${OURS} ${metric}`, ...(metric === 'cosine' ? { backend: cpu } : {}),
          fn: () => m.search(query, { k: 10, backend: cpu }) });
      }
      yield { operation: 'store: search top-10 by metric', batch: small, batchUnit: 'rows (one query)', shape: `1 x ${small} x ${dim}`, routedAs: 'cosine', tasks: metricTasks };
    } finally {
      for (const engine of engines) await engine.dispose();
    }
  },
};
