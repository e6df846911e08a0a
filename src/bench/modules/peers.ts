// Peers in the same run, on the same data (100k x 768 in [-1, 1], seeded; fewer rows under
// --max-rows), every one checked against the float64 reference before it is timed: a naive JS
// loop, simsimd (one N-API call per pair, as its API goes), usearch's exact search, faiss-node's
// IndexFlatIP (built by scripts/build-faiss-node.sh against Debian's libfaiss), TF.js's WASM
// backend (matMul on a pre-normalised [d, N] corpus, then topk). All single-threaded, like our
// CPU path. A peer that cannot be loaded, or answers wrongly, is reported missing with the reason.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { l2BlockRows } from '../../cpu/cpu-backend.js';
import { createHybrid } from '../../engine.js';
import type { CpuMemory } from '../../cpu/cpu-memory.js';
import { checkScores, checkTopK, fill, normaliseRows, referenceCosines, seededRandom, topOf } from '../data.js';
import { OURS, type BenchContext, type BenchGroup, type BenchModule, type BenchTask } from '../types.js';
import { batchPathOf } from '../strategy-note.js';

const ROWS = 100_000;
const DIM = 768;
const K = 10;
/** Peers' scores: float32 sums in another order than ours. */
const PEER_TOLERANCE = 1e-4;

export const PEER_NAMES = ['naive JS', 'simsimd', 'usearch', 'faiss-node', 'TF.js WASM'] as const;

/** Where scripts/build-faiss-node.sh puts its build, from dist/bench/modules/. */
export const FAISS_BUILD = fileURLToPath(new URL('../../../.peers/faiss-node/', import.meta.url));

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
const load = (specifier: string): Promise<unknown> => import(specifier);

interface FaissIndex { add(x: number[]): void; search(x: number[], k: number): { labels: number[]; distances: number[] } }
interface FaissModule { IndexFlatIP: new (dim: number) => FaissIndex }

/** faiss-node: an installed package if there is one, else the local build; or why not. */
function loadFaiss(): { faiss: FaissModule; origin: string } | { reason: string } {
  const require = createRequire(import.meta.url);
  try {
    return { faiss: require('faiss-node') as FaissModule, origin: 'faiss-node (npm)' };
  } catch {
    // Its npm install downloads from GitHub; the local build is the way here.
  }
  if (!existsSync(`${FAISS_BUILD}build/Release/faiss-node.node`)) {
    // `npm run build:faiss` exists in this package's repository only, not where it is installed.
    const inRepository = existsSync(fileURLToPath(new URL('../../../scripts/build-faiss-node.sh', import.meta.url)));
    return { reason: inRepository
      ? 'not built: `npm run build:faiss` builds it from its npm tarball against Debian libfaiss-dev (its own install downloads from GitHub)'
      : 'not installed (`npm install faiss-node` in your project measures it too)' };
  }
  try {
    const faiss = require(`${FAISS_BUILD}lib/index.js`) as FaissModule;
    const info = JSON.parse(readFileSync(`${FAISS_BUILD}build-info.json`, 'utf8')) as { version: string; faiss: string; blas: string };
    return { faiss, origin: `faiss-node ${info.version}, libfaiss ${info.faiss} (Debian), ${info.blas}` };
  } catch (error) {
    return { reason: `local build in .peers/faiss-node does not load: ${message(error)}` };
  }
}

interface TfTensor { dataSync(): Float32Array | Int32Array; dispose(): void }
interface TfModule {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  topk(x: TfTensor, k: number): { values: TfTensor; indices: TfTensor };
  tidy<T>(fn: () => T): T;
  dispose(tensors: TfTensor[]): void;
}

/** The groups of the module: one query top-10, one query all scores, 64 x N all scores, 64 x N top-10. */
type GroupKey = 'top' | 'scores' | 'matrix' | 'batchTop';
type PeerTasks = Partial<Record<GroupKey, BenchTask>>;

/** Set a peer up (load, check) and return its tasks, or record it missing with the reason. */
async function peer(context: BenchContext, name: string, setUp: () => Promise<PeerTasks> | PeerTasks): Promise<PeerTasks> {
  try {
    return await setUp();
  } catch (error) {
    context.missing(name, message(error));
    return {};
  }
}

/** Ours against the peers (naive JS, simsimd, usearch, faiss-node, TF.js WASM) on 100k x 768. */
export const peersModule: BenchModule = {
  name: 'peers',
  description: 'ours (CPU) against naive JS, simsimd, usearch, faiss-node and TF.js WASM on the same 100k x 768 data (64 queries; quick: 16), one thread each',
  async *groups(context) {
    // One thread for every peer: OpenMP (faiss) and OpenBLAS read these when they load.
    process.env.OMP_NUM_THREADS = '1';
    process.env.OPENBLAS_NUM_THREADS = '1';
    const n = Math.min(ROWS, context.maxRows);
    // Quick runs batch 16 queries instead of 64 (the batch rows cost most of the module's time).
    const batchQueries = context.quick ? 16 : 64;
    const random = seededRandom();
    const corpus = fill(random, n * DIM), query = fill(random, DIM), queries = fill(random, batchQueries * DIM);
    const normalised = normaliseRows(corpus, DIM);
    const queryUnit = normaliseRows(query, DIM), queriesUnit = normaliseRows(queries, DIM);
    const want = referenceCosines(query, corpus, DIM);
    const wantBatch = [0, batchQueries - 1].map((q) => ({ q, want: referenceCosines(queries, corpus, DIM, q * DIM) }));
    const checkBatchTopK = (what: string, indicesOf: (q: number) => ArrayLike<number>) => {
      for (const { q, want: w } of wantBatch) checkTopK(`${what}, query ${q}`, indicesOf(q), null, w, K, PEER_TOLERANCE);
    };
    // Ours on one thread (cpuThreads 1), as every peer runs here; the threads module measures
    // what the other cores add.
    const engine = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });

    // Ours, on the CPU. The matrix kernel on rows already resident (what TF.js's matMul timing measures).
    const index = await engine.createIndex(corpus, { dim: DIM });
    const memory = (engine as unknown as { memory: CpuMemory }).memory;
    const stagedQueries = memory.stageQueries(queries, DIM, 'queries');
    const stagedRows = memory.stagePanels(corpus, DIM, 'vectors', true);
    const matrixOut = memory.arena.alloc(batchQueries * n * 4);
    const matrixKernel = () => memory.kernels.dotMatrix(stagedQueries.ptr, batchQueries, stagedRows.ptr, n, stagedRows.stride,
      matrixOut, n, l2BlockRows(stagedRows.stride));
    let tf: TfModule | null = null;
    const tensors: TfTensor[] = [];
    try {
      const top = await index.search(query, { k: K, backend: 'cpu' });
      checkTopK('ours: search top-10', top.indices!, top.scores, want, K, 1e-5);
      checkScores('ours: scores', await index.scores(query, { backend: 'cpu' }), want, 1e-5);
      const batch = await index.searchBatch(queries, { k: K, backend: 'cpu' });
      const batchPath = await batchPathOf(engine, () => index.searchBatch(queries, { k: K, backend: 'cpu' }));
      checkBatchTopK('ours: searchBatch top-10', (q) => batch[q]!.indices!);
      matrixKernel();
      for (const { q, want: w } of wantBatch) checkScores(`ours: matrix kernel, query ${q}`, memory.arena.f32.subarray((matrixOut >>> 2) + q * n, (matrixOut >>> 2) + (q + 1) * n), w, 1e-5);

      const tasks: Record<GroupKey, BenchTask[]> = {
        top: [{ implementation: OURS, backend: 'cpu', fn: () => index.search(query, { k: K, backend: 'cpu' }) }],
        scores: [{ implementation: OURS, backend: 'cpu', fn: () => index.scores(query, { backend: 'cpu' }) }],
        matrix: [{ implementation: OURS, backend: 'cpu', fn: matrixKernel, note: 'dotMatrix kernel on rows resident in WASM memory' }],
        batchTop: [{ implementation: OURS, backend: 'cpu', fn: () => index.searchBatch(queries, { k: K, backend: 'cpu' }), note: batchPath }],
      };
      const add = (found: PeerTasks) => {
        for (const key of Object.keys(found) as GroupKey[]) tasks[key].push(found[key]!);
      };

      // Naive JS: pre-normalised rows in a Float32Array, a plain loop.
      const naiveScores = (): Float32Array => {
        const out = new Float32Array(n);
        for (let r = 0; r < n; r++) { let d = 0; const o = r * DIM; for (let j = 0; j < DIM; j++) d += queryUnit[j]! * normalised[o + j]!; out[r] = d; }
        return out;
      };
      add(await peer(context, 'naive JS', () => {
        checkScores('naive JS scores', naiveScores(), want, PEER_TOLERANCE);
        checkTopK('naive JS top-10', topOf(naiveScores(), K), null, want, K, PEER_TOLERANCE);
        return { top: { implementation: 'naive JS', fn: () => topOf(naiveScores(), K) }, scores: { implementation: 'naive JS', fn: naiveScores } };
      }));

      // simsimd: one N-API call per row pair.
      add(await peer(context, 'simsimd', async () => {
        const simsimd = await load('simsimd') as { cosine(a: Float32Array, b: Float32Array): number };
        const rows = Array.from({ length: n }, (_, r) => normalised.subarray(r * DIM, (r + 1) * DIM));
        const scores = () => { const out = new Float32Array(n); for (let r = 0; r < n; r++) out[r] = 1 - simsimd.cosine(queryUnit, rows[r]!); return out; };
        checkScores('simsimd scores', scores(), want, PEER_TOLERANCE);
        checkTopK('simsimd top-10', topOf(scores(), K), null, want, K, PEER_TOLERANCE);
        return { top: { implementation: 'simsimd', fn: () => topOf(scores(), K) }, scores: { implementation: 'simsimd', fn: scores } };
      }));

      // usearch: exact (brute-force) search, one thread.
      add(await peer(context, 'usearch', async () => {
        const usearch = (await load('usearch') as { default: {
          exactSearch(data: Float32Array, queries: Float32Array, dim: number, k: number, metric: unknown, threads: number): { keys: ArrayLike<bigint | number> };
          MetricKind: { Cos: unknown };
        } }).default;
        const search = (q: Float32Array) => usearch.exactSearch(normalised, q, DIM, K, usearch.MetricKind.Cos, 1);
        checkTopK('usearch top-10', Array.from(search(queryUnit).keys, Number), null, want, K, PEER_TOLERANCE);
        const keys = Array.from(search(queriesUnit).keys, Number);
        checkBatchTopK('usearch 64 x N top-10', (q) => keys.slice(q * K, (q + 1) * K));
        return { top: { implementation: 'usearch', fn: () => search(queryUnit) }, batchTop: { implementation: 'usearch', fn: () => search(queriesUnit) } };
      }));

      // faiss-node: IndexFlatIP over the normalised rows (its API takes plain arrays).
      add(await peer(context, 'faiss-node', () => {
        const loaded = loadFaiss();
        if ('reason' in loaded) throw new Error(loaded.reason);
        const flat = new loaded.faiss.IndexFlatIP(DIM);
        try {
          flat.add(normalised as unknown as number[]); // the local build's add() takes a Float32Array
        } catch {
          const step = 8192; // faiss-node as published: plain arrays only
          for (let r = 0; r < n; r += step) flat.add(Array.from(normalised.subarray(r * DIM, Math.min(n, r + step) * DIM)));
        }
        const q1 = Array.from(queryUnit), qm = Array.from(queriesUnit);
        checkTopK('faiss-node top-10', flat.search(q1, K).labels, null, want, K, PEER_TOLERANCE);
        const labels = flat.search(qm, K).labels;
        checkBatchTopK('faiss-node 64 x N top-10', (q) => labels.slice(q * K, (q + 1) * K));
        const note = `${loaded.origin}, 1 thread`;
        return { top: { implementation: 'faiss-node', fn: () => flat.search(q1, K), note }, batchTop: { implementation: 'faiss-node', fn: () => flat.search(qm, K), note } };
      }));

      // TF.js, WASM backend, one thread: the corpus pre-normalised and transposed to [d, N] (its fast path).
      add(await peer(context, 'TF.js WASM', async () => {
        const core = await load('@tensorflow/tfjs-core') as TfModule;
        const wasm = await load('@tensorflow/tfjs-backend-wasm') as { setThreadsCount(n: number): void };
        wasm.setThreadsCount(1);
        if (!(await core.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
        await core.ready();
        tf = core;
        const transposed = new Float32Array(n * DIM);
        for (let r = 0; r < n; r++) for (let j = 0; j < DIM; j++) transposed[j * n + r] = normalised[r * DIM + j]!;
        const corpusT = core.tensor2d(transposed, [DIM, n]);
        const q1 = core.tensor2d(queryUnit, [1, DIM]);
        const qm = core.tensor2d(queriesUnit, [batchQueries, DIM]);
        tensors.push(corpusT, q1, qm);
        const scores = () => core.tidy(() => core.matMul(q1, corpusT).dataSync());
        const topk = () => core.tidy(() => core.topk(core.matMul(q1, corpusT), K).indices.dataSync());
        const batchTopK = () => core.tidy(() => core.topk(core.matMul(qm, corpusT), K).indices.dataSync());
        checkScores('TF.js scores', scores(), want, PEER_TOLERANCE);
        checkTopK('TF.js top-10', topk(), null, want, K, PEER_TOLERANCE);
        const all = batchTopK();
        checkBatchTopK('TF.js 64 x N top-10', (q) => all.subarray(q * K, (q + 1) * K));
        return {
          top: { implementation: 'TF.js WASM', fn: topk },
          scores: { implementation: 'TF.js WASM', fn: scores },
          // Like our kernel row: the scores are computed (eagerly) but not copied out.
          matrix: { implementation: 'TF.js WASM', fn: () => core.tidy(() => { core.matMul(qm, corpusT); }), note: 'matMul, scores not read back' },
          batchTop: { implementation: 'TF.js WASM', fn: batchTopK },
        };
      }));

      const group = (operation: string, batch: number, shape: string, list: BenchTask[]): BenchGroup =>
        ({ operation, batch, batchUnit: batch === n ? 'rows (one query)' : 'queries x rows', shape, routedAs: 'cosine', tasks: list });
      yield group('peers: search top-10', n, `1 x ${n} x ${DIM}`, tasks.top);
      yield group('peers: scores', n, `1 x ${n} x ${DIM}`, tasks.scores);
      yield group('peers: all scores, rows resident', batchQueries * n, `${batchQueries} x ${n} x ${DIM}`, tasks.matrix);
      yield group('peers: searchBatch top-10', batchQueries * n, `${batchQueries} x ${n} x ${DIM}`, tasks.batchTop);
    } finally {
      if (tf) (tf as TfModule).dispose(tensors);
      stagedQueries.release();
      stagedRows.release();
      memory.arena.free(matrixOut);
      index.dispose();
      await engine.dispose();
    }
  },
};
