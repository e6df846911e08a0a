// v0.9 batch targets (docs/PERFORMANCE.md, "v0.9"): 64 x 100k x 768 top-10 on one thread against
// faiss-node (IndexFlatIP), two threads against one, each dtype (f32, f16, i8), and the
// single-query top-10 and f32 scan against earlier builds loaded in the same process (BEFORE:
// paths to other checkouts' dist/index.js, e.g. /work/main). Medians of interleaved rounds.
//   node bench/batch-v09.bench.mjs [--rounds N] [--before DIR[,DIR]] [--only batch|single]
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
const rounds = Number(option('rounds', '7'));
const before = (option('before', '') || '').split(',').filter(Boolean);
const only = option('only', 'all');
const ROWS = 100_000, DIM = 768, M = 64, K = 10;

function seeded(seed) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
const random = seeded(0x5eed);
const fill = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = random() * 2 - 1; return a; };
const corpus = fill(ROWS * DIM), queries = fill(M * DIM), query = queries.subarray(0, DIM);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const sameKeys = (a, b) => a.length === b.length && a.every((r, i) => r.keys.every((k, j) => k === b[i].keys[j]));

const ours = await import(new URL('../dist/index.js', import.meta.url).href);
const tasks = []; // { name, fn }
const add = (name, fn) => tasks.push({ name, fn, times: [] });
const engines = [];

if (only !== 'single') {
  for (const threads of [1, 2]) {
    const hs = await ours.createHybrid({ gpu: null, cpuThreads: threads, offMainThread: false });
    engines.push(hs);
    for (const dtype of ['f32', 'f16', 'i8']) {
      const index = await hs.createIndex(corpus, { dim: DIM, dtype });
      const first = await index.searchBatch(queries, { k: K, backend: 'cpu' });
      if (threads === 2) {
        const one = tasks.find((t) => t.name === `ours ${dtype} batch, 1 thread`);
        if (!sameKeys(first, one.first)) throw new Error(`${dtype}: 2 threads differ from 1`);
      }
      const task = { name: `ours ${dtype} batch, ${threads} thread${threads > 1 ? 's' : ''}`, fn: () => index.searchBatch(queries, { k: K, backend: 'cpu' }), times: [], first };
      tasks.push(task);
    }
    const s = hs.stats().cpuStrategy;
    console.log(`strategy (${threads} thread): ${JSON.stringify({ kernels: s.kernels, bound: s.boundKernel, batch: s.batchKernel, batches: s.batches })}`);
  }
  for (const d of before) {
    const lib = await import(`file://${d}/dist/index.js`);
    const hs = await lib.createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
    engines.push(hs);
    const index = await hs.createIndex(corpus, { dim: DIM });
    await index.searchBatch(queries, { k: K, backend: 'cpu' });
    add(`${d}: f32 batch, 1 thread`, () => index.searchBatch(queries, { k: K, backend: 'cpu' }));
  }
  const build = fileURLToPath(new URL('../.peers/faiss-node/', import.meta.url));
  if (existsSync(`${build}lib/index.js`)) {
    process.env.OMP_NUM_THREADS = '1';
    const faiss = createRequire(import.meta.url)(`${build}lib/index.js`);
    const unit = (x) => { const out = new Float32Array(x.length); for (let r = 0; r < x.length / DIM; r++) { let s = 0; for (let i = 0; i < DIM; i++) s += x[r * DIM + i] ** 2; s = 1 / Math.sqrt(s); for (let i = 0; i < DIM; i++) out[r * DIM + i] = x[r * DIM + i] * s; } return out; };
    const flat = new faiss.IndexFlatIP(DIM);
    flat.add(unit(corpus));
    const qm = Array.from(unit(queries));
    const got = flat.search(qm, K);
    const ref = tasks.find((t) => t.name === 'ours f32 batch, 1 thread').first;
    let agree = 0;
    for (let q = 0; q < M; q++) agree += got.labels.slice(q * K, q * K + K).filter((l) => ref[q].keys.includes(l)).length;
    console.log(`faiss-node agrees on ${agree} / ${M * K} neighbours (float32 order of sums differs)`);
    add('faiss-node batch (OMP 1 thread)', async () => flat.search(qm, K));
  } else console.log('faiss-node not built (npm run build:faiss)');
}
if (only !== 'batch') {
  for (const [label, href] of [['this', new URL('../dist/index.js', import.meta.url).href], ...before.map((d) => [d, `file://${d}/dist/index.js`])]) {
    const lib = label === 'this' ? ours : await import(href);
    const hs = await lib.createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
    engines.push(hs);
    const index = await hs.createIndex(corpus, { dim: DIM });
    await index.search(query, { k: K, backend: 'cpu' });
    add(`${label}: search top-10 (1 thread)`, () => index.search(query, { k: K, backend: 'cpu' }));
    add(`${label}: scores f32 scan (1 thread)`, () => index.scores(query, { backend: 'cpu' }));
  }
}

for (let r = 0; r < rounds; r++) {
  for (const task of tasks) {
    const reps = task.name.includes('batch') ? 1 : 8;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await task.fn();
    task.times.push((performance.now() - t0) / reps);
  }
}
const rows = tasks.map((t) => ({ name: t.name, median: median(t.times), min: Math.min(...t.times) }));
for (const row of rows) console.log(`${row.name.padEnd(44)} median ${row.median.toFixed(2).padStart(9)} ms   min ${row.min.toFixed(2).padStart(9)} ms`);
const m = (name) => rows.find((r) => r.name === name)?.median;
const ratio = (a, b, what) => { if (m(a) && m(b)) console.log(`${what}: ${(m(a) / m(b)).toFixed(3)}`); };
ratio('ours f32 batch, 1 thread', 'faiss-node batch (OMP 1 thread)', 'ours f32 / faiss-node (1 thread)');
for (const d of ['f32', 'f16', 'i8']) ratio(`ours ${d} batch, 1 thread`, `ours ${d} batch, 2 threads`, `${d}: 1 thread / 2 threads (speedup)`);
for (const d of before) {
  ratio('ours f32 batch, 1 thread', `${d}: f32 batch, 1 thread`, `f32 batch (1 thread) this / ${d}`);
  ratio('this: search top-10 (1 thread)', `${d}: search top-10 (1 thread)`, `search top-10 this / ${d}`);
  ratio('this: scores f32 scan (1 thread)', `${d}: scores f32 scan (1 thread)`, `scores this / ${d}`);
}
for (const hs of engines) await hs.dispose();
