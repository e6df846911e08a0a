// Dynamic batching benchmark (tinybench): 1000 concurrent single searches on one index, batching
// off and on (the guide's three presets), throughput and each call's latency; then a steady load of
// 64 closed-loop clients with presets.batching.lowLatency, whose p99 is compared with
// maxWaitMs + the compute time of one batch of the mean size. Results are checked against the
// unbatched engine first. --gpu: also the (software, here) GPU, forced, on a smaller index.
// Usage: node bench/batching.bench.mjs [--quick] [--gpu]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createHybrid, presets } from '../dist/index.js';
import { fill, seededRandom } from './data.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const withGpu = argv.includes('--gpu');
const CALLS = 1000;
const benchOptions = quick ? { time: 200, warmupTime: 0, iterations: 2 } : { time: 1000, warmupTime: 200, iterations: 5 };
const random = seededRandom();

const shapes = quick
  ? [{ n: 20_000, dim: 384 }, { n: 2_000, dim: 128 }]
  : [{ n: 100_000, dim: 768 }, { n: 20_000, dim: 384 }, { n: 2_000, dim: 128 }];
const modes = {
  'batching off': false,
  'lowLatency 5 ms / 64': presets.batching.lowLatency.batching,
  'balanced 10 ms / 128': presets.batching.balanced.batching,
  'highThroughput 20 ms / 256': presets.batching.highThroughput.batching,
};

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

async function measure(label, makeEngine, n, dim, backend) {
  const corpus = fill(random, n * dim);
  const queries = Array.from({ length: CALLS }, () => fill(random, dim));
  const ks = queries.map((_, i) => 1 + (i % 20));
  const engines = {};
  for (const [mode, batching] of Object.entries(modes)) {
    const hs = await makeEngine(batching);
    engines[mode] = { hs, index: await hs.createIndex(corpus, { dim }) };
  }
  // Check: every batched answer equals the unbatched engine's (CPU: same bits; GPU: same rows).
  const off = engines['batching off'];
  const want = await Promise.all(queries.map((q, i) => off.index.search(q, { k: ks[i], backend })));
  for (const [mode, e] of Object.entries(engines)) {
    const got = await Promise.all(queries.map((q, i) => e.index.search(q, { k: ks[i], backend })));
    const bad = got.findIndex((r, i) => backend === 'gpu'
      ? !same([...r.indices].sort(), [...want[i].indices].sort())
      : !(same(r.indices, want[i].indices) && same(r.scores, want[i].scores)));
    if (bad >= 0) throw new Error(`${label} ${mode}: call ${bad} differs from the unbatched answer`);
  }
  const latencies = {};
  const bench = new Bench(benchOptions);
  for (const [mode, e] of Object.entries(engines)) {
    latencies[mode] = [];
    bench.add(mode, async () => {
      await Promise.all(queries.map(async (q, i) => {
        const start = performance.now();
        await e.index.search(q, { k: ks[i], backend });
        latencies[mode].push(performance.now() - start);
      }));
    });
  }
  await bench.run();
  const offMedian = bench.getTask('batching off').result.latency.p50;
  const rows = Object.keys(engines).map((mode) => {
    const wall = bench.getTask(mode).result.latency.p50;
    const sorted = latencies[mode].sort((a, b) => a - b);
    const { batching } = engines[mode].hs.stats();
    return {
      shape: label, mode, wallMs: +wall.toFixed(1), queriesPerS: Math.round(CALLS / (wall / 1000)),
      throughputVsOff: +(offMedian / wall).toFixed(2),
      callP50Ms: +percentile(sorted, 0.5).toFixed(2), callP99Ms: +percentile(sorted, 0.99).toFixed(2),
      meanBatch: Number.isNaN(batching.meanSize) ? null : +batching.meanSize.toFixed(1),
    };
  });
  for (const e of Object.values(engines)) await e.hs.dispose();
  return rows;
}

const rows = [];
for (const { n, dim } of shapes) {
  rows.push(...await measure(`CPU, ${n} x ${dim}`, (batching) => createHybrid({ gpu: null, batching }), n, dim, 'auto'));
  console.error(`done: CPU ${n} x ${dim}`);
}
if (withGpu) {
  const { create } = await import('webgpu');
  const gpu = create([]);
  rows.push(...await measure('GPU (forced), 10000 x 128', (batching) => createHybrid({ gpu, batching }), 10_000, 128, 'gpu'));
}
console.table(rows);

// Latency under a steady load: 64 clients, each sending its next search when the last returns.
const n = quick ? 20_000 : 100_000;
const dim = quick ? 384 : 768;
const corpus = fill(random, n * dim);
const lowLatency = presets.batching.lowLatency.batching;
const hs = await createHybrid({ gpu: null, batching: lowLatency });
const index = await hs.createIndex(corpus, { dim });
const clientQueries = Array.from({ length: 64 }, () => fill(random, dim));
const steady = [];
const until = performance.now() + (quick ? 1000 : 4000);
await Promise.all(clientQueries.map(async (q) => {
  while (performance.now() < until) {
    const start = performance.now();
    await index.search(q, { k: 10 });
    steady.push(performance.now() - start);
  }
}));
steady.sort((a, b) => a - b);
const mean = hs.stats().batching.meanSize;
const batchQueries = fill(random, Math.round(mean) * dim);
const compute = new Bench(benchOptions).add('batch', () => index.searchBatch(batchQueries, { k: 10 }));
await compute.run();
const batchMs = compute.getTask('batch').result.latency.p50;
const steadyRow = {
  index: `${n} x ${dim}`, preset: 'lowLatency 5 ms / 64', clients: 64, calls: steady.length,
  callP50Ms: +percentile(steady, 0.5).toFixed(2), callP99Ms: +percentile(steady, 0.99).toFixed(2),
  meanBatch: +mean.toFixed(1), batchComputeMs: +batchMs.toFixed(2),
  maxWaitPlusComputeMs: +(lowLatency.maxWaitMs + batchMs).toFixed(2),
};
console.table([steadyRow]);
await hs.dispose();

const results = {
  machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version },
  command: `node bench/batching.bench.mjs ${argv.join(' ')}`.trim(), date: new Date().toISOString(), rows, steady: steadyRow,
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'batching-quick.json' : 'batching.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(`wrote ${out}`);
