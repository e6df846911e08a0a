// Warm-up before serving (`await hs.warmup()`, or `warmup: true` at createHybrid): the costs a
// first call would otherwise pay, paid up front.
//
// Measured on a fresh process, CPU engine, 50,000 x 384 index (docs/PERFORMANCE.md, "Warm-up"):
// the first search took ~50-70 ms against ~1.6 ms for the next ones. Of that, ~45 ms is starting
// the worker threads (each instantiates the kernels module over the shared memory); the rest is
// the first run of each kernel (V8 runs WASM in its baseline tier until a function is hot) and
// the first touch of the per-call blocks a call of that size needs. Nothing of it is the index's
// own: its rows and int8 copy are written when it is built. On a GPU, a first call also compiles
// its pipelines (per kernel and row length), uploads the index, and the router has no speedup
// estimate yet (rule 6 sends every call to the GPU, which may be the slower one).
//
// So warm-up: starts the workers; runs every CPU kernel on a scratch corpus large enough to be
// split across them (and to take the int8 path) until V8 has compiled it fully; on a GPU runs
// every kernel family once (compiling its pipelines); then, for each live index, runs its calls
// on both backends (its GPU copy is uploaded, its row length's pipelines compiled, the per-call
// blocks of its size touched); and, where there is a GPU, times both backends over size classes
// so that the router starts with a speedup estimate. Warm-up calls go through the public API
// with a forced backend; while they run, telemetry takes their latencies for the speedup
// estimate only (stats' call counts, latency percentiles and success rate leave them out).
import type { BackendKind } from './backend.js';
import type { Log } from './logger.js';

/** The router's size class of a batch, as telemetry.ts computes it (floor(log2)); kept here so
 * that telemetry.ts can hold this file's report type without an import loop. */
const sizeClass = (batch: number): number => (batch <= 1 ? 0 : Math.floor(Math.log2(batch)));

/** One step of a warm-up. */
export interface WarmupStep {
  /** What was done: 'cpu workers', 'cpu kernels', 'gpu kernels', 'index 0 (50000 x 384)', 'router estimate'. */
  name: string;
  /** Its wall time, ms. */
  ms: number;
  /** Why the step did nothing, or failed (the warm-up goes on; calls still work). */
  note?: string;
}

/** What a warm-up did, and how long it took: `stats().warmup` (the last one). */
export interface WarmupReport {
  /** `createHybrid` (config.warmup) or `warmup()`. */
  trigger: 'createHybrid' | 'warmup()';
  /** Wall time of the whole warm-up, ms. */
  totalMs: number;
  steps: WarmupStep[];
  /** Worker threads running after it (0: large CPU calls run on one thread). */
  workers: number;
  /** Whether a GPU was warmed. */
  gpu: boolean;
  /** Live indexes warmed (every index the engine held when warm-up began). */
  indexes: number;
  /** Calls made, by backend (they are not in stats()' counts). */
  calls: Record<BackendKind, number>;
  /** Size classes (power of two of the batch) given a first GPU/CPU speedup estimate, per operation. */
  speedupClasses: { cosine: number[]; spreading: number[] };
}

/** What warm-up calls: the engine's own public calls (kept structural: no import of engine.ts). */
interface WarmIndex {
  readonly dim: number;
  readonly size: number;
  search(query: Float32Array, options: { k: number; backend: BackendKind }): Promise<unknown>;
  searchBatch(queries: Float32Array, options: { k: number; backend: BackendKind }): Promise<unknown>;
  scores(query: Float32Array, options: { backend: BackendKind }): Promise<unknown>;
  add(vectors: Float32Array): Promise<void>;
  dispose(): void;
}
interface WarmGraph { dispose(): void }
interface WarmEngine {
  createIndex(vectors: Float32Array, options: { dim: number; dtype?: 'f32' | 'f16' }): Promise<WarmIndex>;
  cosineSimilarity(query: Float32Array, vectors: Float32Array, options: { backend: BackendKind }): Promise<unknown>;
  cosineSimilarityMatrix(queries: Float32Array, vectors: Float32Array, options: { dim: number; backend: BackendKind }): Promise<unknown>;
  createGraph(input: { nodeCount: number; from: Uint32Array; to: Uint32Array; weight?: Float32Array }): WarmGraph;
  spreadActivation(graph: never, options: { seeds: { nodes: Uint32Array; values: Float32Array }; backend: BackendKind }): Promise<unknown>;
}

/** What the engine hands warm-up (engine.ts). */
export interface WarmupHost {
  engine: WarmEngine;
  /** The live indexes. */
  indexes(): WarmIndex[];
  /** Whether a GPU device is held (and not lost). */
  gpu(): boolean;
  /** Whether the GPU stores f16 rows (shader-f16). */
  f16(): boolean;
  /** Whether the router uses measurements (telemetry on, GPU not forced off). */
  routerMeasures(): boolean;
  /** Whether searches wait for a batch (config.batching): warm-up then searches through searchBatch. */
  batching(): boolean;
  /** Start the CPU worker threads; how many run (0 without a pool). */
  startWorkers(): Promise<number>;
  /** Telemetry takes calls as estimate samples only while this is on. */
  estimating(on: boolean): void;
  log: Log;
}

/** Row length of the scratch corpus: the kernels are the same for every length. */
const SCRATCH_DIM = 512;
/**
 * Rows of the scratch corpus: 4100 x 512 floats = 8.4 MB, past the pool's 8 MiB threshold (so
 * the workers run their parts too) and past the int8 copy's 4096 rows (so its kernels run).
 */
const SCRATCH_ROWS = 4100;
/** Runs per kernel on the CPU: V8 has compiled a WASM function fully after a few calls this size. */
const CPU_RUNS = 4;
/** Calls per backend and size class for the router's first estimate (medians are taken). */
const ESTIMATE_RUNS = 3;
/** Largest corpus of the estimate sweep (rows; dim 64): 65536 x 64 floats = 16 MB. */
const ESTIMATE_MAX_ROWS = 65536;
const ESTIMATE_DIM = 64;

/** Deterministic values in [-1, 1) from a 32-bit LCG: scratch data that costs ~2 ns a value. */
function scratch(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2147483648 - 1;
  }
  return out;
}

/** A graph of `nodes` nodes and 4 edges each (a ring with three chords). */
function scratchGraph(engine: WarmEngine, nodes: number): WarmGraph {
  const edges = nodes * 4;
  const from = new Uint32Array(edges);
  const to = new Uint32Array(edges);
  for (let e = 0; e < edges; e++) {
    from[e] = Math.floor(e / 4);
    to[e] = (from[e]! + [1, 7, 97, 1021][e % 4]!) % nodes;
  }
  return engine.createGraph({ nodeCount: nodes, from, to });
}

/** Run warm-up: the steps in the comment at the top of this file. Never throws for a GPU failure. */
export async function warmUp(host: WarmupHost, trigger: WarmupReport['trigger'],
  previous: WarmupReport | null): Promise<WarmupReport> {
  const started = performance.now();
  const report: WarmupReport = {
    trigger, totalMs: 0, steps: [], workers: 0, gpu: host.gpu(), indexes: 0,
    calls: { cpu: 0, gpu: 0 }, speedupClasses: { cosine: [], spreading: [] },
  };
  const { engine } = host;
  const count = async (backend: BackendKind, call: () => Promise<unknown>) => {
    report.calls[backend]++;
    await call();
  };
  const step = async (name: string, work: () => Promise<string | void>) => {
    const t = performance.now();
    let note: string | undefined;
    try {
      note = (await work()) ?? undefined;
    } catch (error) {
      note = `failed: ${error instanceof Error ? error.message : String(error)}`;
      host.log('warn', `warm-up: ${name} ${note}`);
    }
    report.steps.push({ name, ms: performance.now() - t, ...(note ? { note } : {}) });
  };

  host.estimating(true);
  try {
    // The workers start (threads spawn, each instantiates the kernels) while this thread makes
    // the scratch data; the step's time is until they are all ready.
    const workers = host.startWorkers();
    workers.catch(() => undefined); // awaited (and reported) in its step below
    const rows = scratch(SCRATCH_ROWS * SCRATCH_DIM, 1);
    const queries = scratch(8 * SCRATCH_DIM, 2);
    const one = queries.subarray(0, SCRATCH_DIM);
    const index = await engine.createIndex(rows, { dim: SCRATCH_DIM });
    const graph = scratchGraph(engine, 20_000);
    await step('cpu workers', async () => {
      report.workers = await workers;
      return report.workers === 0 ? 'one thread (no worker pool)' : undefined;
    });
    report.steps[report.steps.length - 1]!.ms = performance.now() - started;
    const seeds = { nodes: new Uint32Array([0, 5000]), values: new Float32Array([1, 0.5]) };
    /** Every kind of call once on `backend`: one-shot, matrix, top-k (int8 and f32 paths), batch, scores, spreading. */
    const everyKernel = async (backend: BackendKind) => {
      await count(backend, () => engine.cosineSimilarity(one, rows.subarray(0, 2000 * SCRATCH_DIM), { backend }));
      await count(backend, () => engine.cosineSimilarityMatrix(queries.subarray(0, 4 * SCRATCH_DIM), rows.subarray(0, 2000 * SCRATCH_DIM), { dim: SCRATCH_DIM, backend }));
      await count(backend, () => (host.batching() ? index.searchBatch(one, { k: 10, backend }) : index.search(one, { k: 10, backend })));
      await count(backend, () => index.searchBatch(one, { k: 100, backend }));
      await count(backend, () => index.searchBatch(queries, { k: 10, backend }));
      await count(backend, () => index.scores(one, { backend }));
      await count(backend, () => engine.spreadActivation(graph as never, { seeds, backend }));
    };
    try {
      await step('cpu kernels', async () => {
        for (let run = 0; run < CPU_RUNS; run++) await everyKernel('cpu');
      });
      if (host.gpu()) {
        await step('gpu kernels', async () => {
          await everyKernel('gpu');
          if (host.f16()) {
            const half = await engine.createIndex(rows.subarray(0, 1000 * SCRATCH_DIM), { dim: SCRATCH_DIM, dtype: 'f16' });
            try {
              await count('gpu', () => half.searchBatch(one, { k: 10, backend: 'gpu' }));
              await count('gpu', () => half.scores(one, { backend: 'gpu' }));
            } finally {
              half.dispose();
            }
          }
        });
      }
    } finally {
      index.dispose();
      graph.dispose();
    }

    const live = host.indexes().filter((i) => i.size > 0);
    for (const [i, target] of live.entries()) {
      await step(`index ${i} (${target.size} x ${target.dim})`, async () => {
        const query = scratch(target.dim, 3 + i);
        const batch = scratch(8 * target.dim, 4 + i);
        // The GPU first (its copy uploaded), the CPU last, and on each searches last: scores reads
        // the f32 rows, which evicts the smaller int8 copy that single searches read from cache.
        for (const backend of host.gpu() ? ['gpu', 'cpu'] as const : ['cpu'] as const) {
          await count(backend, () => target.scores(query, { backend }));
          await count(backend, () => target.searchBatch(batch, { k: 10, backend }));
          // search itself (its own JS path), unless it would wait for a batch; searchBatch of one
          // query is the same kernel call.
          for (let run = 0; run < ESTIMATE_RUNS; run++) {
            await count(backend, () => (host.batching() ? target.searchBatch(query, { k: 10, backend }) : target.search(query, { k: 10, backend })));
          }
        }
      });
    }
    report.indexes = live.length;

    if (host.gpu() && host.routerMeasures()) {
      if (previous?.speedupClasses.cosine.length) {
        report.steps.push({ name: 'router estimate', ms: 0, note: `done by the warm-up at ${previous.trigger}` });
        report.speedupClasses = previous.speedupClasses;
      } else {
        await step('router estimate', () => estimate(host, report, count));
      }
    }
  } finally {
    host.estimating(false);
  }
  report.totalMs = performance.now() - started;
  host.log('info', `warm-up (${trigger}) took ${report.totalMs.toFixed(0)} ms: ` +
    report.steps.map((s) => `${s.name} ${s.ms.toFixed(0)} ms${s.note ? ` (${s.note})` : ''}`).join(', '));
  return report;
}

/**
 * Both backends over power-of-two size classes, so that the router's first calls of each size
 * already have a speedup (rule 5) instead of trying the GPU first (rule 6): top-k of one query
 * over 2^k rows (the batch of a search) up to ESTIMATE_MAX_ROWS, the corpus grown by add() so
 * that the GPU uploads only the new rows; and spreading over graphs of 4096 and 65536 nodes.
 */
async function estimate(host: WarmupHost, report: WarmupReport,
  count: (backend: BackendKind, call: () => Promise<unknown>) => Promise<void>): Promise<void> {
  const { engine } = host;
  const all = scratch(ESTIMATE_MAX_ROWS * ESTIMATE_DIM, 5);
  const query = scratch(ESTIMATE_DIM, 6);
  let held = 16;
  const index = await engine.createIndex(all.subarray(0, held * ESTIMATE_DIM), { dim: ESTIMATE_DIM });
  try {
    for (let rows = 16; rows <= ESTIMATE_MAX_ROWS; rows *= 2) {
      if (rows > held) {
        await index.add(all.subarray(held * ESTIMATE_DIM, rows * ESTIMATE_DIM));
        held = rows;
      }
      for (const backend of ['gpu', 'cpu'] as const) {
        for (let run = 0; run < ESTIMATE_RUNS; run++) await count(backend, () => index.searchBatch(query, { k: 10, backend }));
      }
      report.speedupClasses.cosine.push(sizeClass(rows));
    }
  } finally {
    index.dispose();
  }
  for (const nodes of [4096, 65536]) {
    const graph = scratchGraph(engine, nodes);
    try {
      const seeds = { nodes: new Uint32Array([0]), values: new Float32Array([1]) };
      for (const backend of ['gpu', 'cpu'] as const) {
        for (let run = 0; run < ESTIMATE_RUNS; run++) await count(backend, () => engine.spreadActivation(graph as never, { seeds, backend }));
      }
      report.speedupClasses.spreading.push(sizeClass(nodes));
    } finally {
      graph.dispose();
    }
  }
}
