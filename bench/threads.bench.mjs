// Worker-pool benchmark (tinybench): the same calls on 1 thread, on this thread + 1 worker, and on
// 2 workers (offMainThread), 1 x 100k x 768 by default; results checked identical first. Then the
// split's own crossover: scores over growing corpora with the pool's threshold at 0, 1 vs 2 threads.
// Usage: node bench/threads.bench.mjs [--rows 100000 --dim 768 --quick]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createHybrid } from '../dist/index.js';
import { cpuOf } from '../dist/testing.js';
import { fill, seededRandom } from './data.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const quick = argv.includes('--quick');
const N = option('rows', quick ? 50_000 : 100_000);
const D = option('dim', 768);
const M = 64;
const benchOptions = quick ? { time: 300, warmupTime: 100, iterations: 3 } : { time: 2500, warmupTime: 500, iterations: 10 };

const random = seededRandom();
const corpus = fill(random, N * D);
const query = fill(random, D);
const queries = fill(random, M * D);
// A graph for spreading: 200k nodes, 1M edges with skewed degrees.
const nodes = quick ? 50_000 : 200_000;
const edges = nodes * 5;
const from = new Uint32Array(edges);
const to = new Uint32Array(edges);
const weight = new Float32Array(edges);
for (let e = 0; e < edges; e++) {
  from[e] = Math.floor(nodes * ((random() + 1) / 2) ** 2);
  to[e] = Math.floor(nodes * (random() + 1) / 2) % nodes;
  weight[e] = random();
}
const seeds = { nodes: Uint32Array.from({ length: 64 }, (_, i) => (i * 7919) % nodes), values: new Float32Array(64).fill(1) };

const setups = {
  '1 thread': { cpuThreads: 1, offMainThread: false },
  'this thread + 1 worker': { cpuThreads: 2, offMainThread: false },
  '2 workers (offMainThread)': { cpuThreads: 2, offMainThread: true },
};
const engines = {};
for (const [name, config] of Object.entries(setups)) {
  const hs = await createHybrid({ gpu: null, ...config });
  engines[name] = { hs, index: await hs.createIndex(corpus, { dim: D }), graph: hs.createGraph({ nodeCount: nodes, from, to, weight }) };
}

// Results first: every setup must give the one-thread answer, bit for bit.
const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
const reference = engines['1 thread'];
const want = {
  top: await reference.index.search(query, { k: 10 }),
  scores: await reference.index.scores(query),
  batch: await reference.index.searchBatch(queries, { k: 10 }),
  spread: await reference.hs.spreadActivation(reference.graph, { seeds, maxHops: 4, threshold: 0.001 }),
};
for (const [name, e] of Object.entries(engines)) {
  const top = await e.index.search(query, { k: 10 });
  const scores = await e.index.scores(query);
  const batch = await e.index.searchBatch(queries, { k: 10 });
  const spread = await e.hs.spreadActivation(e.graph, { seeds, maxHops: 4, threshold: 0.001 });
  const ok = same(top.indices, want.top.indices) && same(top.scores, want.top.scores) && same(scores, want.scores)
    && batch.every((r, q) => same(r.indices, want.batch[q].indices) && same(r.scores, want.batch[q].scores))
    && same(spread, want.spread);
  if (!ok) throw new Error(`${name}: results differ from one thread`);
}

const tasks = {
  [`top-10, 1 x ${N} x ${D}`]: (e) => e.index.search(query, { k: 10 }),
  [`scores, 1 x ${N} x ${D} (f32 scan)`]: (e) => e.index.scores(query),
  [`searchBatch top-10, ${M} x ${N} x ${D}`]: (e) => e.index.searchBatch(queries, { k: 10 }),
  [`spreading, ${nodes} nodes, ${edges} edges, 4 hops`]: (e) => e.hs.spreadActivation(e.graph, { seeds, maxHops: 4, threshold: 0.001 }),
};
const bench = new Bench(benchOptions);
for (const [task, run] of Object.entries(tasks)) {
  for (const [name, e] of Object.entries(engines)) bench.add(`${task} | ${name}`, () => run(e));
}
await bench.run();
const median = (task) => bench.getTask(task).result.latency.p50;
const rows = [];
for (const task of Object.keys(tasks)) {
  const one = median(`${task} | 1 thread`);
  for (const name of Object.keys(engines)) {
    const r = bench.getTask(`${task} | ${name}`).result.latency;
    rows.push({ task, setup: name, medianMs: +r.p50.toFixed(3), p99Ms: +r.p99.toFixed(3), speedup: +(one / r.p50).toFixed(2) });
  }
}
console.table(rows);

// The split's crossover: d 256 scores over 2^8 .. 2^16 rows (256 KiB .. 64 MiB read), 1 thread
// against the same call split in two (pool threshold 0).
const crossDim = 256;
const sweepEngine = engines['this thread + 1 worker'];
const sweep = [];
const sweepBench = new Bench(quick ? { time: 150, warmupTime: 50, iterations: 5 } : { time: 600, warmupTime: 100, iterations: 20 });
const sweepIndexes = [];
for (let rowsN = 256; rowsN <= 65536; rowsN *= 2) {
  const rowsData = fill(random, rowsN * crossDim);
  const q = fill(random, crossDim);
  const one = await reference.hs.createIndex(rowsData, { dim: crossDim });
  const two = await sweepEngine.hs.createIndex(rowsData, { dim: crossDim });
  sweepIndexes.push(one, two);
  sweepBench.add(`${rowsN} | 1`, () => one.scores(q));
  sweepBench.add(`${rowsN} | 2`, () => two.scores(q));
}
const threshold = cpuOf(sweepEngine.hs).minWorkBytes;
cpuOf(sweepEngine.hs).minWorkBytes = 0;
await sweepBench.run();
cpuOf(sweepEngine.hs).minWorkBytes = threshold;
let crossoverBytes = null;
for (let rowsN = 256; rowsN <= 65536; rowsN *= 2) {
  const one = sweepBench.getTask(`${rowsN} | 1`).result.latency.p50;
  const two = sweepBench.getTask(`${rowsN} | 2`).result.latency.p50;
  const bytes = rowsN * crossDim * 4;
  sweep.push({ rows: rowsN, readKiB: bytes / 1024, oneThreadUs: +(one * 1000).toFixed(1), twoThreadsUs: +(two * 1000).toFixed(1), speedup: +(one / two).toFixed(2) });
  if (crossoverBytes === null && one / two >= 1.1) crossoverBytes = bytes;
}
console.table(sweep);
console.log(`split pays off (>= 1.1x) from ${crossoverBytes === null ? 'no size measured' : `${crossoverBytes / 1024} KiB`} read; the pool's threshold is ${threshold / 1024} KiB`);

for (const e of Object.values(engines)) await e.hs.dispose();
const results = {
  machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version },
  command: `node bench/threads.bench.mjs ${argv.join(' ')}`.trim(),
  date: new Date().toISOString(), rows, sweep, crossoverBytes, poolThresholdBytes: threshold,
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'threads-quick.json' : 'threads.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(`wrote ${out}`);
