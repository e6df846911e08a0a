// Router benchmark (tinybench): the router's cost per call, and auto against both fixed
// backends over a sweep of batch sizes once the rolling window is warm.
// Usage: node bench/router.bench.mjs [--quick] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createHybrid } from '../dist/index.js';
import { defaultConfig } from '../dist/config.js';
import { routeCall } from '../dist/router.js';
import { Telemetry } from '../dist/telemetry.js';

const quick = process.argv.includes('--quick');
const outAt = process.argv.indexOf('--out');
const round = (x) => Math.round(x * 1000) / 1000;
const benchOptions = quick ? { time: 300, warmupTime: 100, iterations: 5 } : { time: 1500, warmupTime: 300, iterations: 20 };

// 1. Cost per call: routeCall on a warm window, and with the bookkeeping of a real call.
const config = defaultConfig();
const telemetry = new Telemetry(config.performanceWindowSize, true);
for (let i = 0; i < 200; i++) {
  telemetry.recordCall('cosine', 'cpu', 1 + (i % 7) * 0.01, 4096);
  telemetry.recordCall('cosine', 'gpu', 0.4 + (i % 5) * 0.01, 4096);
}
const view = telemetry.view('cosine');
const call = { operation: 'cosine', batchSize: 4096, requested: 'auto', gpuAvailable: true };
const CALLS = 1000;
let sink = 0;
const overhead = new Bench(benchOptions);
overhead.add(`routeCall x ${CALLS}`, () => {
  for (let i = 0; i < CALLS; i++) sink += routeCall(config, view, call, i, (i % 100) / 100).backend === 'gpu' ? 1 : 0;
});
overhead.add(`routeCall + recordDecision + recordCall x ${CALLS}`, () => {
  for (let i = 0; i < CALLS; i++) {
    const d = routeCall(config, view, call, i, (i % 100) / 100);
    telemetry.recordDecision('cosine', 'search', d.backend, d.reason, 4096);
    telemetry.recordCall('cosine', d.backend, d.backend === 'gpu' ? 0.4 : 1, 4096);
  }
});
await overhead.run();
const overheadRows = overhead.tasks.map((t) => ({
  task: t.name.replace(` x ${CALLS}`, ''), usPerCall: round((t.result.latency.p50 * 1000) / CALLS), target: '<= 2 us',
  met: (t.result.latency.p50 * 1000) / CALLS <= 2,
}));
console.table(overheadRows);

// 2. Auto against the fixed backends, per batch size, after warming the window.
let gpu = null;
try {
  const { create } = await import('webgpu');
  gpu = create([]);
} catch {
  gpu = null;
}
const hs = await createHybrid({ gpu, gpuMinBatchSize: 1 });
const sweep = [];
if (!hs.info().gpu) {
  console.log('router bench: no GPU adapter; the auto-vs-fixed sweep needs one (lavapipe will do).');
} else {
  const dim = 64;
  let seed = 7;
  const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return (seed / 4294967296) * 2 - 1; };
  for (const n of quick ? [256, 16384] : [64, 1024, 16384, 65536]) {
    const vectors = new Float32Array(n * dim).map(random);
    const query = new Float32Array(dim).map(random);
    for (let i = 0; i < 60; i++) await hs.cosineSimilarity(query, vectors); // warm: both backends sampled
    const bench = new Bench(benchOptions);
    bench.add('cpu', () => hs.cosineSimilarity(query, vectors, { backend: 'cpu' }));
    bench.add('gpu', () => hs.cosineSimilarity(query, vectors, { backend: 'gpu' }));
    bench.add('auto', () => hs.cosineSimilarity(query, vectors));
    await bench.run();
    const [cpu, gpuMs, auto] = bench.tasks.map((t) => t.result.latency.p50);
    const best = Math.min(cpu, gpuMs);
    sweep.push({ batch: n, cpuMs: round(cpu), gpuMs: round(gpuMs), autoMs: round(auto), autoOverBest: round(auto / best),
      met: auto / best <= 1.05, autoMean: round(bench.tasks[2].result.latency.mean) });
  }
  console.table(sweep);
  console.log('adapter:', hs.info().gpu.adapter.description);
}
await hs.dispose();

const result = { date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
  overhead: overheadRows, sweep, sink };
const out = outAt >= 0 ? process.argv[outAt + 1] : join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'router-quick.json' : 'router.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
