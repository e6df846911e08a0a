// The cosine sweeps: one query against N rows for N = 16 .. maxRows (powers of 2; quick: of 4),
// one-shot (`cosineSimilarity`) and on a resident index (`scores`, `search` top-10), then 64
// queries against N rows (`cosineSimilarityMatrix` one-shot, `searchBatch` top-10). Each on the
// CPU, the GPU (when there is one and the call fits) and auto, every result checked against a
// float64 reference first.
import type { BackendChoice } from '../../backend.js';
import { checkScores, checkTopK, fill, referenceCosines, seededRandom } from '../data.js';
import { OURS, type BenchContext, type BenchGroup, type BenchModule, type BenchTask } from '../types.js';
import { batchPathOf } from '../strategy-note.js';

/** Largest error of our scores against the float64 reference (the tests' tolerance). */
export const SCORE_TOLERANCE = 1e-5;
const K = 10;
const QUERIES = 64;
/** Largest one-shot call (rows x dim x 4 bytes). */
const ONE_SHOT_MAX_BYTES = 2 ** 30;

/** Largest corpus of the sweeps by default: 1M rows (quick: 256k). */
export function defaultMaxRows(quick: boolean): number {
  return quick ? 262144 : 1048576;
}

/** The corpus sizes of the 1 x N sweep. */
export function sweepSizes(maxRows: number, quick: boolean): number[] {
  const sizes: number[] = [];
  for (let n = 16; n <= maxRows; n *= quick ? 4 : 2) sizes.push(n);
  return sizes;
}

/** The corpus sizes of the 64 x N groups. */
export function matrixSizes(maxRows: number, quick: boolean): number[] {
  const sizes = quick ? [16384] : [1024, 16384, 131072];
  const kept = sizes.filter((n) => n <= maxRows);
  return kept.length ? kept : [maxRows];
}

function backendsFor(context: BenchContext, bytes: number): BackendChoice[] {
  return context.timeOnGpu(bytes) ? ['cpu', 'gpu', 'auto'] : ['cpu', 'auto'];
}

function softwareNote(context: BenchContext, backend: BackendChoice): string | undefined {
  return context.gpu === 'software' && backend === 'gpu' ? 'software adapter: checks the harness, not GPU speed' : undefined;
}

/** 1 x N and 64 x N cosine calls over powers-of-two corpora, on the CPU, the GPU and auto. */
export const cosineModule: BenchModule = {
  name: 'cosine',
  description: 'cosine 1 x N (one-shot, resident scores, top-10) and 64 x N (matrix, top-10) on CPU, GPU and auto',
  async *groups(context) {
    const { engine, dim } = context;
    const random = seededRandom(0x51ed);
    const query = fill(random, dim);

    for (const n of sweepSizes(context.maxRows, context.quick)) {
      const shape = `1 x ${n} x ${dim}`;
      const vectors = fill(random, n * dim);
      const reference = referenceCosines(query, vectors, dim);
      const backends = backendsFor(context, n * dim * 4);
      const tasksOf = (call: (backend: BackendChoice) => Promise<unknown>): BenchTask[] =>
        backends.map((backend) => {
          const note = softwareNote(context, backend);
          return { implementation: OURS, backend, fn: () => call(backend), ...(note ? { note } : {}) };
        });
      const group = (operation: string, tasks: BenchTask[]): BenchGroup => ({ operation, batch: n, batchUnit: 'rows (one query)', shape, routedAs: 'cosine', tasks });

      // One-shot first, while no index holds the rows in WASM memory; up to ONE_SHOT_MAX_BYTES.
      if (n * dim * 4 <= ONE_SHOT_MAX_BYTES) {
        for (const backend of backends) {
          checkScores(`cosineSimilarity ${shape} on ${backend}`, await engine.cosineSimilarity(query, vectors, { backend }), reference, SCORE_TOLERANCE);
        }
        yield group('cosineSimilarity', tasksOf((backend) => engine.cosineSimilarity(query, vectors, { backend })));
      } else {
        context.missing(`${OURS} cosineSimilarity`, `one-shot calls not run above ${ONE_SHOT_MAX_BYTES / 2 ** 30} GiB of rows: each stages a copy in WASM memory (4 GiB at most) beside what the run already holds`);
      }

      const index = await engine.createIndex(vectors, { dim });
      try {
        for (const backend of backends) {
          checkScores(`scores ${shape} on ${backend}`, await index.scores(query, { backend }), reference, SCORE_TOLERANCE);
          const top = await index.search(query, { k: K, backend });
          checkTopK(`search top-${K} ${shape} on ${backend}`, top.indices!, top.scores, reference, K, SCORE_TOLERANCE);
        }
        yield group('scores', tasksOf((backend) => index.scores(query, { backend })));
        yield group(`search top-${K}`, tasksOf((backend) => index.search(query, { k: K, backend })));
      } finally {
        index.dispose();
      }
    }

    const queries = fill(random, QUERIES * dim);
    for (const n of matrixSizes(context.maxRows, context.quick)) {
      const shape = `${QUERIES} x ${n} x ${dim}`;
      const vectors = fill(random, n * dim);
      // Checked on the first and the last query (a float64 reference of all 64 costs seconds at 128k rows).
      const sampled = [0, QUERIES - 1].map((q) => ({ q, want: referenceCosines(queries, vectors, dim, q * dim) }));
      const backends = backendsFor(context, n * dim * 4 + QUERIES * n * 4);
      const tasksOf = (call: (backend: BackendChoice) => Promise<unknown>): BenchTask[] =>
        backends.map((backend) => {
          const note = softwareNote(context, backend);
          return { implementation: OURS, backend, fn: () => call(backend), ...(note ? { note } : {}) };
        });
      for (const backend of backends) {
        const matrix = await engine.cosineSimilarityMatrix(queries, vectors, { dim, backend });
        for (const { q, want } of sampled) {
          checkScores(`cosineSimilarityMatrix ${shape} on ${backend}, query ${q}`, matrix.subarray(q * n, (q + 1) * n), want, SCORE_TOLERANCE);
        }
      }
      yield { operation: 'cosineSimilarityMatrix', batch: QUERIES * n, batchUnit: 'queries x rows', shape, routedAs: 'cosine',
        tasks: tasksOf((backend) => engine.cosineSimilarityMatrix(queries, vectors, { dim, backend })) };

      const index = await engine.createIndex(vectors, { dim });
      try {
        for (const backend of backends) {
          const results = await index.searchBatch(queries, { k: K, backend });
          for (const { q, want } of sampled) {
            checkTopK(`searchBatch top-${K} ${shape} on ${backend}, query ${q}`, results[q]!.indices!, results[q]!.scores, want, K, SCORE_TOLERANCE);
          }
        }
        const tasks = tasksOf((backend) => index.searchBatch(queries, { k: K, backend }));
        const path = await batchPathOf(engine, () => index.searchBatch(queries, { k: K, backend: 'cpu' }));
        for (const task of tasks) if (task.backend === 'cpu' && path) task.note = task.note ? `${task.note}; ${path}` : path;
        yield { operation: `searchBatch top-${K}`, batch: QUERIES * n, batchUnit: 'queries x rows', shape, routedAs: 'cosine', tasks };
      } finally {
        index.dispose();
      }
    }
  },
};
