// GPU benchmark (tinybench): the device's copy bandwidth and empty submit-and-wait time (the two
// ceilings), upload time of a resident index, then 1 x N scans (scores, top-10) for N = 1k .. 1M
// as memory allows, 64 x 100k, each against the CPU in the same run on the same data.
// Usage: node bench/gpu.bench.mjs [--quick] [--max-rows N] [--dim D] [--out FILE]
// On a machine without a GPU adapter it says so and exits 0. lavapipe (software Vulkan) numbers
// only check the harness; GPU speed is measured on a real GPU (docs/PERFORMANCE.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { create } from 'webgpu';
import { createHybrid } from '../dist/index.js';
import { isSoftwareAdapterInfo } from '../dist/gpu/device.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const quick = argv.includes('--quick');
const D = Number(option('dim', 768));
const benchOptions = quick ? { time: 300, warmupTime: 100, iterations: 3 } : { time: 2000, warmupTime: 300, iterations: 10 };
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const gpuObject = create([]);
const hs = await createHybrid({ gpu: gpuObject, gpuMinBatchSize: 1 });
const info = hs.info().gpu;
if (!info) {
  console.log('gpu bench: no WebGPU adapter on this machine; nothing to measure.');
  await hs.dispose();
  process.exit(0);
}
const device = hs['gpu'].device; // internal: the engine's device, for the two ceilings below
const software = isSoftwareAdapterInfo(info.adapter);
// A software adapter only checks the harness: keep its run short unless told otherwise.
const maxRows = Number(option('max-rows', quick || software ? 100_000 : 1_000_000));
console.log(`adapter: ${info.adapter.description || info.adapter.device} (${info.adapter.vendor}, ${info.adapter.architecture})` +
  (software ? ' - a software rasteriser: these numbers check the harness, not GPU speed' : ''));

let seed = 0x2545f491;
const random = () => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return ((seed >>> 0) / 4294967296) * 2 - 1;
};
const fill = (length) => { const a = new Float32Array(length); for (let i = 0; i < length; i++) a[i] = random(); return a; };
const round = (x) => Math.round(x * 1000) / 1000;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

// Ceiling 1: an empty submit-and-wait.
async function emptySubmitMs(reps) {
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    device.queue.submit([device.createCommandEncoder().finish()]);
    await device.queue.onSubmittedWorkDone();
    times.push(performance.now() - t);
  }
  return median(times);
}
// Ceiling 2: device-to-device copy bandwidth (bytes read + written per second).
async function copyBandwidth(bytes, reps) {
  const a = device.createBuffer({ size: bytes, usage: 0x4 | 0x8 });
  const b = device.createBuffer({ size: bytes, usage: 0x4 | 0x8 });
  const times = [];
  for (let i = 0; i < reps; i++) {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(a, 0, b, 0, bytes);
    const t = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    times.push(performance.now() - t);
  }
  a.destroy();
  b.destroy();
  return (2 * bytes) / (median(times) / 1000);
}

const submitMs = await emptySubmitMs(quick ? 20 : 200);
const copyBytes = Math.min(256 << 20, Math.floor(info.limits.maxBufferSize / 2));
const copyBytesPerSecond = await copyBandwidth(copyBytes, quick ? 3 : 20);
console.log(`empty submit-and-wait: ${submitMs.toFixed(3)} ms; copy bandwidth (read + write): ${(copyBytesPerSecond / 1e9).toFixed(1)} GB/s`);

const rows = [];
const sizes = [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= maxRows && n * D * 4 <= info.memoryBudgetBytes);
const cpuEngine = await createHybrid({ gpu: null });
for (const n of sizes) {
  const corpus = fill(n * D);
  const query = fill(D);
  const gpuIndex = await hs.createIndex(corpus, { dim: D });
  const cpuIndex = await cpuEngine.createIndex(corpus, { dim: D });
  let t = performance.now();
  await gpuIndex.search(query, { k: 10, backend: 'gpu' }); // first GPU use: uploads the rows
  const firstSearchMs = performance.now() - t;
  t = performance.now();
  await gpuIndex.search(query, { k: 10, backend: 'gpu' });
  const secondSearchMs = performance.now() - t;
  // Check before timing: the GPU answers what the CPU answers.
  const a = await gpuIndex.search(query, { k: 10, backend: 'gpu' });
  const b = await cpuIndex.search(query, { k: 10, backend: 'cpu' });
  if (Array.from(a.indices).join() !== Array.from(b.indices).join()) throw new Error(`top-10 differs at N=${n}`);

  const bench = new Bench(benchOptions);
  bench.add(`gpu top-10 1 x ${n}`, () => gpuIndex.search(query, { k: 10, backend: 'gpu' }));
  bench.add(`cpu top-10 1 x ${n}`, () => cpuIndex.search(query, { k: 10, backend: 'cpu' }));
  bench.add(`gpu scores 1 x ${n}`, () => gpuIndex.scores(query, { backend: 'gpu' }));
  bench.add(`cpu scores 1 x ${n}`, () => cpuIndex.scores(query, { backend: 'cpu' }));
  if (n === 100_000) {
    const queries = fill(64 * D);
    bench.add(`gpu searchBatch top-10 64 x ${n}`, () => gpuIndex.searchBatch(queries, { k: 10, backend: 'gpu' }));
    bench.add(`cpu searchBatch top-10 64 x ${n}`, () => cpuIndex.searchBatch(queries, { k: 10, backend: 'cpu' }));
  }
  process.stderr.write(`N = ${n}: ${bench.tasks.length} tasks ...\n`);
  await bench.run();
  const bytes = n * D * 4;
  for (const task of bench.tasks) {
    const ms = task.result.latency.p50;
    const row = { task: task.name, rows: n, medianMs: round(ms), p99Ms: round(task.result.latency.p99) };
    if (task.name.startsWith('gpu top-10')) {
      // Scan bandwidth: corpus bytes over the time beyond one empty submit-and-wait.
      const scanGBs = bytes / (Math.max(ms - submitMs, 1e-3) / 1000) / 1e9;
      row.scanGBs = round(scanGBs);
      row.shareOfCopyBandwidth = round(scanGBs * 1e9 / copyBytesPerSecond);
      row.uploadAndFirstSearchMs = round(firstSearchMs);
      row.secondSearchMs = round(secondSearchMs);
      // Upload time: the first search minus a warm one (both also compile nothing new by then).
      row.uploadMs = round(Math.max(0, firstSearchMs - ms));
    }
    rows.push(row);
  }
  gpuIndex.dispose();
  cpuIndex.dispose();
}
for (const row of rows) {
  if (!row.task.startsWith('gpu')) continue;
  const cpu = rows.find((r) => r.task === row.task.replace(/^gpu/, 'cpu'));
  if (cpu) row.speedupVsCpu = round(cpu.medianMs / row.medianMs);
}
console.table(rows);

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version,
  adapter: info.adapter, limits: info.limits, features: info.features,
};
const result = {
  date: new Date().toISOString(), machine, dim: D, emptySubmitMs: round(submitMs),
  copyBandwidthGBs: round(copyBytesPerSecond / 1e9), copyBytes, results: rows,
};
const out = option('out', join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'gpu-quick.json' : 'gpu.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
await cpuEngine.dispose();
await hs.dispose();
