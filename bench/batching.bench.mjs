// Dynamic batching benchmark: the suite's `batching` module (1000 concurrent searches with each
// preset and without, CPU) and, with --gpu, the same module on the GPU (the `webgpu` package's
// adapter, forced; lavapipe here: its figures check the harness, not GPU speed) on a 10k x 128
// index; then latency under a steady load: 64 closed-loop clients with presets.batching.lowLatency,
// whose p99 is compared with maxWaitMs + the compute time of one batch of the mean size.
// Usage: node bench/batching.bench.mjs [--quick] [--gpu]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createHybrid, presets } from '../dist/index.js';
import { batchingModule, batchingModuleFor, defaultTiming, formatReport, runSuite } from '../dist/bench/index.js';
import { fill, seededRandom } from './data.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const modules = [batchingModule];
if (argv.includes('--gpu')) {
  const { create } = await import('webgpu');
  const gpu = create([]);
  modules.push(batchingModuleFor({
    // Unbatched, 1000 forced GPU calls queue ~10 s of work on lavapipe: a readback limit above that.
    name: 'batching-gpu', backend: 'gpu', engine: (batching) => createHybrid({ gpu, batching, gpuTimeoutMs: 120_000 }),
    shapes: () => [{ n: 10_000, dim: 128 }],
  }));
}
const engine = await createHybrid({ gpu: null });
const report = await runSuite(engine, { quick, modules, onProgress: (line) => console.error(line) });
await engine.dispose();
console.log(formatReport(report));

// Latency under a steady load: 64 clients, each sending its next search when the last returns.
const random = seededRandom();
const n = quick ? 20_000 : 100_000;
const dim = quick ? 384 : 768;
const lowLatency = presets.batching.lowLatency.batching;
const hs = await createHybrid({ gpu: null, batching: lowLatency });
const index = await hs.createIndex(fill(random, n * dim), { dim });
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
const percentile = (q) => steady[Math.min(steady.length - 1, Math.floor(q * steady.length))];
const mean = hs.stats().batching.meanSize;
const batchQueries = fill(random, Math.round(mean) * dim);
const { timeMs, warmupTimeMs, minIterations } = defaultTiming(quick);
const compute = new Bench({ time: timeMs, warmupTime: warmupTimeMs, iterations: minIterations })
  .add('batch', () => index.searchBatch(batchQueries, { k: 10 }));
await compute.run();
const batchMs = compute.getTask('batch').result.latency.p50;
const steadyRow = {
  index: `${n} x ${dim}`, preset: 'lowLatency 5 ms / 64', clients: 64, calls: steady.length,
  callP50Ms: +percentile(0.5).toFixed(2), callP99Ms: +percentile(0.99).toFixed(2),
  meanBatch: +mean.toFixed(1), batchComputeMs: +batchMs.toFixed(2),
  maxWaitPlusComputeMs: +(lowLatency.maxWaitMs + batchMs).toFixed(2),
};
console.table([steadyRow]);
await hs.dispose();

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'batching-quick.json' : 'batching.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ command: `node bench/batching.bench.mjs ${argv.join(' ')}`.trim(), report, steady: steadyRow }, null, 2) + '\n');
console.log(`wrote ${out}`);
