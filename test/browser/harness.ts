// The case table that runs inside a web page (test/browser.test.ts drives it in Chromium): the
// shared shapes and references of test/helpers.ts and test/spreading-reference.ts, at the sizes
// that suit SwiftShader's WebGPU on 2 cores (N up to 1000, dim up to 384, the 1k-node graphs).
// The library is passed in (the page imports it: the self-contained browser bundle from a plain
// <script type="module">, or `hybrid-similarity` through Vite), so this module imports none of
// it at run time and loads in Node too, where the test reads the case names.
import type * as Library from '../../src/index.js';
import type { HybridEngine, VectorIndex } from '../../src/index.js';
import {
  check, cosineReference, DIMS, expectSameValues, expectScoresClose, expectTopK, expectTopKWithin, MS, NS,
  randomMatrix, rng,
} from '../helpers.js';
import { runSpreadingCase, SPREADING_CASES } from '../spreading-reference.js';

type HybridLibrary = typeof Library;
/** 'auto' lets the router choose (the no-adapter page, where it must choose the CPU). */
export type PageBackend = 'cpu' | 'gpu' | 'auto';

interface CaseContext { lib: HybridLibrary; hs: HybridEngine; backend: PageBackend }
interface BrowserCase { name: string; run(context: CaseContext): Promise<void> }

/** The largest shapes run in the page. */
const PAGE_MAX_DIM = 384;
const PAGE_MAX_N = 1000;
const pageDims = DIMS.filter((dim) => dim <= PAGE_MAX_DIM);
const pageNs = NS.filter((n) => n <= PAGE_MAX_N);

async function expectHybridError(lib: HybridLibrary, call: () => unknown, code: string, label: string): Promise<void> {
  let caught: unknown;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  check(caught instanceof lib.HybridError, `${label}: expected a HybridError ${code}, got ${String(caught)}`);
  check(caught.code === code, `${label}: expected code ${code}, got ${caught.code} (${caught.message})`);
}

/** An index built in two steps (createIndex then add) when asked, to cover appends. */
async function buildIndex(hs: HybridEngine, vectors: Float32Array, dim: number, split: boolean): Promise<VectorIndex<number, true>> {
  if (!split) return hs.createIndex(vectors, { dim });
  const n = vectors.length / dim;
  const first = Math.floor(n / 3) + (n > 4 ? 1 : 0);
  const index = await hs.createIndex(vectors.subarray(0, first * dim), { dim });
  await index.add(vectors.subarray(first * dim));
  return index;
}

const cosineCases: BrowserCase[] = pageDims.flatMap((dim) => pageNs.map((n) => ({
  name: `cosineSimilarity dim ${dim} N ${n}`,
  async run({ hs, backend }: CaseContext) {
    const random = rng(dim * 7919 + n);
    const query = randomMatrix(1, dim, random);
    const vectors = randomMatrix(n, dim, random);
    const scores = await hs.cosineSimilarity(query, vectors, { backend });
    expectScoresClose(scores, cosineReference(query, vectors, dim), `dim ${dim} N ${n}`);
  },
})));

const matrixCases: BrowserCase[] = MS.flatMap((m) => [3, 17, 384].flatMap((dim) => [7, 1000].map((n) => ({
  name: `cosineSimilarityMatrix M ${m} dim ${dim} N ${n}`,
  async run({ hs, backend }: CaseContext) {
    const random = rng(m * 104729 + dim * 7919 + n);
    const queries = randomMatrix(m, dim, random);
    const vectors = randomMatrix(n, dim, random);
    const scores = await hs.cosineSimilarityMatrix(queries, vectors, { dim, backend });
    expectScoresClose(scores, cosineReference(queries, vectors, dim), `M ${m} dim ${dim} N ${n}`);
  },
}))));

const indexCases: BrowserCase[] = pageDims.flatMap((dim) => pageNs.map((n) => ({
  name: `index search and scores dim ${dim} N ${n}, k 1, 10, N, N + 5`,
  async run({ hs, backend }: CaseContext) {
    const random = rng(dim * 31 + n * 17 + 3);
    const vectors = randomMatrix(n, dim, random);
    const index = await buildIndex(hs, vectors, dim, (dim + n) % 2 === 0);
    try {
      check(index.size === n && index.dim === dim, `index is ${index.size} x ${index.dim}`);
      const query = randomMatrix(1, dim, random);
      const reference = cosineReference(query, vectors, dim);
      const scores = await index.scores(query, { backend });
      expectScoresClose(scores, reference, 'scores');
      for (const k of [1, 10, n, n + 5]) {
        const result = await index.search(query, { k, backend });
        check(result.indices.length === Math.min(k, n), `k ${k}: ${result.indices.length} results`);
        expectTopK(result, k, scores, reference, `k ${k}`);
      }
    } finally {
      index.dispose();
    }
  },
})));

const batchCases: BrowserCase[] = MS.flatMap((m) => [
  { m, dim: 5, n: 1000, k: 10 },
  { m, dim: 128, n: 1000, k: 1 },
  { m, dim: 384, n: 7, k: 12 },
]).map(({ m, dim, n, k }) => ({
  name: `searchBatch M ${m} dim ${dim} N ${n} k ${k}`,
  async run({ hs, backend }: CaseContext) {
    const random = rng(m * 13 + dim * 7 + n + k);
    const vectors = randomMatrix(n, dim, random);
    const index = await hs.createIndex(vectors, { dim });
    try {
      const queries = randomMatrix(m, dim, random);
      const results = await index.searchBatch(queries, { k, backend });
      check(results.length === m, `${results.length} results for ${m} queries`);
      for (let q = 0; q < m; q++) {
        const query = queries.subarray(q * dim, (q + 1) * dim);
        const reference = cosineReference(query, vectors, dim);
        // The GPU's batch kernel sums in another order than its scan: within tolerance only.
        if (backend === 'gpu' && m > 1) expectTopKWithin(results[q]!, k, reference, `query ${q}`);
        else expectTopK(results[q]!, k, await index.scores(query, { backend }), reference, `query ${q}`);
      }
    } finally {
      index.dispose();
    }
  },
}));

const edgeCases: BrowserCase[] = [
  {
    name: 'exact ties go to the lower index',
    async run({ hs, backend }) {
      const dim = 6;
      const vectors = randomMatrix(50, dim, rng(99));
      const row = vectors.slice(7 * dim, 8 * dim);
      for (const r of [3, 19, 20, 41]) vectors.set(row, r * dim);
      const index = await hs.createIndex(vectors, { dim });
      try {
        const result = await index.search(row, { k: 5, backend });
        expectSameValues(result.indices, [3, 7, 19, 20, 41], 'tied rows');
        check(new Set(result.scores).size === 1, 'tied rows have one score');
        const batch = await index.searchBatch(new Float32Array([...row, ...row, ...row]), { k: 3, backend });
        for (const r of batch) expectSameValues(r.indices, [3, 7, 19], 'batch tied rows');
      } finally {
        index.dispose();
      }
    },
  },
  {
    name: 'zero rows and a zero query score 0',
    async run({ hs, backend }) {
      const dim = 9;
      const random = rng(100);
      const vectors = randomMatrix(20, dim, random);
      vectors.fill(0, 4 * dim, 6 * dim);
      const index = await hs.createIndex(vectors, { dim });
      try {
        const query = randomMatrix(1, dim, random);
        const scores = await index.scores(query, { backend });
        check(scores[4] === 0 && scores[5] === 0, `zero rows score ${scores[4]}, ${scores[5]}`);
        expectScoresClose(scores, cosineReference(query, vectors, dim));
        const zero = await index.search(new Float32Array(dim), { k: 4, backend });
        expectSameValues(zero.indices, [0, 1, 2, 3], 'zero query rows');
        expectSameValues(zero.scores, [0, 0, 0, 0], 'zero query scores');
      } finally {
        index.dispose();
      }
    },
  },
  {
    name: 'an empty index answers empty results and fills with add',
    async run({ hs, backend }) {
      const dim = 7;
      const index = await hs.createIndex(new Float32Array(0), { dim });
      try {
        const query = randomMatrix(1, dim, rng(1));
        const empty = await index.search(query, { k: 3, backend });
        check(empty.indices.length === 0 && empty.scores.length === 0, 'empty index, empty result');
        const vectors = randomMatrix(5, dim, rng(2));
        await index.add(vectors);
        expectScoresClose(await index.scores(query, { backend }), cosineReference(query, vectors, dim));
      } finally {
        index.dispose();
      }
    },
  },
  {
    name: 'bad input is rejected with typed errors (empty, wrong length, NaN)',
    async run({ lib, hs, backend }) {
      const vectors = randomMatrix(4, 3, rng(3));
      await expectHybridError(lib, () => hs.cosineSimilarity(new Float32Array(0), vectors, { backend }), 'EMPTY_INPUT', 'empty query');
      await expectHybridError(lib, () => hs.cosineSimilarity(new Float32Array(3), new Float32Array(0), { backend }), 'EMPTY_INPUT', 'empty vectors');
      await expectHybridError(lib, () => hs.cosineSimilarity(new Float32Array(3), new Float32Array(10), { backend }), 'DIMENSION_MISMATCH', 'ragged vectors');
      await expectHybridError(lib, () => hs.cosineSimilarity(new Float32Array([1, Number.NaN, 0]), vectors, { backend }), 'NON_FINITE', 'NaN query');
      const index = await hs.createIndex(vectors, { dim: 3 });
      try {
        await expectHybridError(lib, () => index.searchBatch(new Float32Array(0), { k: 1, backend }), 'EMPTY_INPUT', 'empty batch');
        await expectHybridError(lib, () => index.search(new Float32Array(3), { k: 0, backend }), 'INVALID_ARGUMENT', 'k 0');
      } finally {
        index.dispose();
      }
    },
  },
];

const spreadingCases: BrowserCase[] = SPREADING_CASES.filter((c) => c.graph !== 'large').map((c) => ({
  name: `spreading ${c.name}`,
  run: ({ hs, backend }) => runSpreadingCase(c, hs, backend),
}));

/** Every case the page runs, in order. */
export const BROWSER_CASES: readonly BrowserCase[] = [
  ...cosineCases, ...matrixCases, ...indexCases, ...batchCases, ...edgeCases, ...spreadingCases,
];

/** What the page reports about the engine it made. */
export interface PageEngineInfo {
  platform: string;
  wasmSource: string;
  gpu: { architecture: string; vendor: string; description: string } | null;
  navigatorGpu: boolean;
  adapter: boolean;
}

/** A case's outcome: null error when it passed. */
export interface CaseOutcome { error: string | null; ms: number }

/** How the page's engine gets its GPU: navigator.gpu passed in (software adapters too), or createHybrid()'s own choice. */
export type GpuChoice = 'navigator' | 'default';

/** The page's side: make an engine, then run cases by name on a backend. */
export interface Harness {
  info: PageEngineInfo;
  run(name: string, backend: PageBackend): Promise<CaseOutcome>;
  stats(): ReturnType<HybridEngine['stats']>;
  /** A forced GPU call: null when it answered, else the error's code. */
  forcedGpuCall(): Promise<string | null>;
  dispose(): Promise<void>;
}

/** Create the page's engine with `lib` (the library as the page imported it). */
export async function startHarness(lib: HybridLibrary, gpuChoice: GpuChoice): Promise<Harness> {
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = navigatorGpu ? (await navigatorGpu.requestAdapter()) !== null : false;
  // Warm-up off, as in the Node tests (vitest.config.ts): the case table is under test, and on
  // SwiftShader warming every GPU pipeline and timing both backends costs seconds per page. The
  // demo page (browser.test.ts) keeps createHybrid's default warm-up.
  const hs = await lib.createHybrid(gpuChoice === 'navigator' ? { gpu: navigatorGpu ?? null, warmup: false } : { warmup: false });
  const engineInfo = hs.info();
  const byName = new Map(BROWSER_CASES.map((c) => [c.name, c]));
  return {
    info: {
      platform: engineInfo.platform,
      wasmSource: engineInfo.cpu.wasmSource,
      gpu: engineInfo.gpu ? {
        architecture: engineInfo.gpu.adapter.architecture,
        vendor: engineInfo.gpu.adapter.vendor,
        description: engineInfo.gpu.adapter.description,
      } : null,
      navigatorGpu: navigatorGpu !== undefined,
      adapter,
    },
    async run(name, backend) {
      const c = byName.get(name);
      if (!c) return { error: `no case named ${name}`, ms: 0 };
      const started = performance.now();
      try {
        await c.run({ lib, hs, backend });
        return { error: null, ms: performance.now() - started };
      } catch (error) {
        return { error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error), ms: performance.now() - started };
      }
    },
    stats: () => hs.stats(),
    async forcedGpuCall() {
      try {
        await hs.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 0, 0, 1]), { backend: 'gpu' });
        return null;
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    },
    dispose: () => hs.dispose(),
  };
}
