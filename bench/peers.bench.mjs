// Peers in the same run, on the same data (100k x 768 in [-1, 1], seeded), each checked against
// our results before timing: a naive JS loop, simsimd (per-pair cosine through N-API), usearch's
// exact search, TF.js's WASM backend (matMul on a pre-normalised [d, N] corpus, then topk), all
// single-threaded like our CPU path. faiss-node is reported as missing (its npm install downloads
// from GitHub, which this machine cannot reach). Usage: node bench/peers.bench.mjs [--quick]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createHybrid } from '../dist/index.js';
import { l2BlockRows } from '../dist/cpu/cpu-backend.js';
import { fill, normaliseRows, seededRandom } from './data.mjs';

const quick = process.argv.includes('--quick');
const N = 100_000, D = 768, M = 64, K = 10;
const benchOptions = quick ? { time: 400, warmupTime: 100, iterations: 3 } : { time: 3000, warmupTime: 500, iterations: 10 };
const round = (x) => Math.round(x * 1000) / 1000;

const random = seededRandom();
const corpus = fill(random, N * D), query = fill(random, D), queries = fill(random, M * D);
const normalised = normaliseRows(corpus, D);
const queryUnit = normaliseRows(query, D);
const queriesUnit = normaliseRows(queries, D);

// Ours.
const hs = await createHybrid({ gpu: null });
const index = await hs.createIndex(corpus, { dim: D });
const ours = await index.search(query, { k: K });
const want = Array.from(ours.indices).join();
const memory = hs['memory']; // internal: the resident matrix kernel, for the matMul comparison
const stagedQueries = memory.stageQueries(queries, D, 'queries');
const stagedRows = memory.stagePanels(corpus, D, 'vectors', true);
const matrixOut = memory.arena.alloc(M * N * 4);
const matrixKernel = () => memory.kernels.dotMatrix(stagedQueries.ptr, M, stagedRows.ptr, N, stagedRows.stride, matrixOut, N, l2BlockRows(stagedRows.stride));

const tasks = [
  { peer: 'hybrid-similarity', task: 'top-10', fn: () => index.search(query, { k: K }) },
  { peer: 'hybrid-similarity', task: 'scores', fn: () => index.scores(query) },
  { peer: 'hybrid-similarity', task: '64 x N all scores', fn: matrixKernel },
  { peer: 'hybrid-similarity', task: '64 x N top-10', fn: () => index.searchBatch(queries, { k: K }) },
];
const missing = [];
const topOf = (scores, k) => {
  const best = [];
  for (let r = 0; r < scores.length; r++) {
    const s = scores[r];
    if (best.length < k || s > best[best.length - 1][0]) {
      best.push([s, r]); best.sort((a, b) => b[0] - a[0] || a[1] - b[1]); if (best.length > k) best.pop();
    }
  }
  return best.map(([, r]) => r);
};

// Naive JS.
const naiveScores = () => {
  const out = new Float32Array(N);
  for (let r = 0; r < N; r++) { let d = 0; const o = r * D; for (let j = 0; j < D; j++) d += queryUnit[j] * normalised[o + j]; out[r] = d; }
  return out;
};
if (topOf(naiveScores(), K).join() !== want) throw new Error('naive JS top-10 differs');
tasks.push({ peer: 'naive JS', task: 'top-10', fn: () => topOf(naiveScores(), K) });
tasks.push({ peer: 'naive JS', task: 'scores', fn: naiveScores });

// simsimd: one N-API call per pair.
try {
  const simsimd = await import('simsimd');
  const rows = Array.from({ length: N }, (_, r) => normalised.subarray(r * D, (r + 1) * D));
  const scores = () => { const out = new Float32Array(N); for (let r = 0; r < N; r++) out[r] = 1 - simsimd.cosine(queryUnit, rows[r]); return out; };
  if (topOf(scores(), K).join() !== want) throw new Error('simsimd top-10 differs');
  tasks.push({ peer: 'simsimd', task: 'top-10', fn: () => topOf(scores(), K) });
  tasks.push({ peer: 'simsimd', task: 'scores', fn: scores });
} catch (error) {
  missing.push({ peer: 'simsimd', reason: String(error.message ?? error) });
}

// usearch exact search, one thread.
try {
  const usearch = (await import('usearch')).default;
  const search = (q, k) => usearch.exactSearch(normalised, q, D, k, usearch.MetricKind.Cos, 1);
  const got = Array.from(search(queryUnit, K).keys, Number).join();
  if (got !== want) throw new Error(`usearch top-10 differs: ${got} vs ${want}`);
  tasks.push({ peer: 'usearch', task: 'top-10', fn: () => search(queryUnit, K) });
  tasks.push({ peer: 'usearch', task: '64 x N top-10', fn: () => search(queriesUnit, K) });
} catch (error) {
  missing.push({ peer: 'usearch', reason: String(error.message ?? error) });
}

// TF.js WASM backend, one thread: the corpus pre-normalised and transposed to [d, N] (its fast path).
try {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const transposed = new Float32Array(N * D);
  for (let r = 0; r < N; r++) for (let j = 0; j < D; j++) transposed[j * N + r] = normalised[r * D + j];
  const corpusT = tf.tensor2d(transposed, [D, N]);
  const q1 = tf.tensor2d(queryUnit, [1, D]);
  const qm = tf.tensor2d(queriesUnit, [M, D]);
  const topk = () => tf.tidy(() => { const { indices } = tf.topk(tf.matMul(q1, corpusT), K); return indices.dataSync(); });
  const got = Array.from(topk()).join();
  if (got !== want) throw new Error(`TF.js top-10 differs: ${got} vs ${want}`);
  tasks.push({ peer: 'TF.js WASM', task: 'top-10', fn: topk });
  tasks.push({ peer: 'TF.js WASM', task: 'scores', fn: () => tf.tidy(() => tf.matMul(q1, corpusT).dataSync()) });
  // Like our kernel row, the scores are computed (eagerly, by the WASM backend) but not copied out.
  tasks.push({ peer: 'TF.js WASM', task: '64 x N all scores', fn: () => tf.tidy(() => { tf.matMul(qm, corpusT); }) });
  tasks.push({ peer: 'TF.js WASM', task: '64 x N top-10', fn: () => tf.tidy(() => tf.topk(tf.matMul(qm, corpusT), K).indices.dataSync()) });
} catch (error) {
  missing.push({ peer: 'TF.js WASM', reason: String(error.message ?? error) });
}
missing.push({ peer: 'faiss-node', reason: 'not installed: its npm install downloads a build from GitHub, unreachable here (a build against Debian libfaiss-dev 1.7.3 is still to do)' });

const bench = new Bench(benchOptions);
for (const t of tasks) bench.add(`${t.peer} | ${t.task}`, t.fn);
process.stderr.write(`benchmarking ${tasks.length} tasks on ${N} x ${D} ...\n`);
await bench.run();
const medians = new Map(bench.tasks.map((t) => [t.name, t.result.latency.p50]));
const rows = tasks.map((t) => {
  const ms = medians.get(`${t.peer} | ${t.task}`);
  const ourMs = medians.get(`hybrid-similarity | ${t.task}`);
  return { task: t.task, peer: t.peer, medianMs: round(ms), oursFasterBy: t.peer === 'hybrid-similarity' ? null : round(ms / ourMs) };
});
console.table(rows);
if (missing.length) console.table(missing);
stagedQueries.release(); stagedRows.release(); memory.arena.free(matrixOut);
await hs.dispose();
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'peers-quick.json' : 'peers.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, rows: N, dim: D, queries: M, k: K, results: rows, missing }, null, 2) + '\n');
console.log(`wrote ${out}`);
