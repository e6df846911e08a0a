// Spreading benchmark (tinybench): 4 hops on random graphs (1k nodes / 5k edges, 100k / 1M,
// 1M / 10M where memory allows), K = 1 and K = 16 seed sets, CPU vs a straightforward JS CSR
// implementation in the same run, and the GPU when an adapter exists (lavapipe here: a harness
// check). Threshold 0, so every hop runs (no early stop): the worst case.
// Usage: node bench/spreading.bench.mjs [--quick] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createHybrid } from '../dist/index.js';
import { isSoftwareAdapterInfo } from '../dist/gpu/device.js';

const quick = process.argv.includes('--quick');
const outAt = process.argv.indexOf('--out');
const round = (x) => Math.round(x * 1000) / 1000;
const benchOptions = quick ? { time: 300, warmupTime: 100, iterations: 3 } : { time: 1500, warmupTime: 300, iterations: 8 };
const HOPS = 4;
const options = { maxHops: HOPS, threshold: 0, decay: { kind: 'exponential', rate: 0.7 }, fan: 'outDegree' };

let seed = 12345;
const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; };
function graphOf(nodes, edges) {
  const from = new Uint32Array(edges), to = new Uint32Array(edges), weight = new Float32Array(edges);
  for (let i = 0; i < edges; i++) {
    from[i] = Math.floor(nodes * random() ** 2); // skewed out-degrees
    to[i] = Math.floor(nodes * random());
    weight[i] = random();
  }
  return { nodeCount: nodes, from, to, weight };
}
function seedSets(nodes, k) {
  return Array.from({ length: k }, () => ({
    nodes: Uint32Array.from({ length: 10 }, () => Math.floor(nodes * random())), values: new Float32Array(10).fill(1),
  }));
}

/** The straightforward JS version: CSR by target, Float32Array state, one seed set at a time. */
function jsSpread(csr, seeds) {
  const { n, offsets, sources, weights, fanInverse } = csr;
  let f = new Float32Array(n);
  for (let i = 0; i < seeds.nodes.length; i++) f[seeds.nodes[i]] += seeds.values[i];
  const total = f.map((x) => Math.min(Math.max(x, 0), 1));
  for (let h = 1; h <= HOPS; h++) {
    const d = Math.exp(-0.7 * h);
    const next = new Float32Array(n);
    for (let v = 0; v < n; v++) {
      let sum = 0;
      for (let e = offsets[v]; e < offsets[v + 1]; e++) sum += f[sources[e]] * fanInverse[sources[e]] * weights[e];
      next[v] = d * sum;
      total[v] = Math.min(Math.max(total[v] + next[v], 0), 1);
    }
    f = next;
  }
  return total;
}
function jsCsr(g) {
  const n = g.nodeCount, e = g.from.length;
  const offsets = new Uint32Array(n + 1), out = new Uint32Array(n);
  for (let i = 0; i < e; i++) { offsets[g.to[i] + 1]++; out[g.from[i]]++; }
  for (let v = 0; v < n; v++) offsets[v + 1] += offsets[v];
  const fill = offsets.slice(0, n), sources = new Uint32Array(e), weights = new Float32Array(e);
  for (let i = 0; i < e; i++) { const at = fill[g.to[i]]++; sources[at] = g.from[i]; weights[at] = g.weight[i]; }
  const fanInverse = Float32Array.from(out, (d) => (d === 0 ? 1 : 1 / d));
  return { n, offsets, sources, weights, fanInverse };
}

let gpu = null;
try { gpu = (await import('webgpu')).create([]); } catch { gpu = null; }
const hs = await createHybrid({ gpu, operations: { spreading: { gpuMinBatchSize: 1 } } });
const hasGpu = hs.info().gpu !== null;
// A software adapter (lavapipe) only checks the harness: keep it to the smaller graphs.
const software = hasGpu && isSoftwareAdapterInfo(hs.info().gpu.adapter);
const gpuMaxNodes = software || quick ? 100_000 : 1_000_000;
const sizes = quick ? [[1000, 5000], [100_000, 1_000_000]] : [[1000, 5000], [100_000, 1_000_000], [1_000_000, 10_000_000]];
const rows = [];
for (const [nodes, edges] of sizes) {
  const input = graphOf(nodes, edges);
  const graph = hs.createGraph(input);
  const csr = jsCsr(input);
  for (const k of [1, 16]) {
    const sets = seedSets(nodes, k);
    // Check before timing: the CPU, the GPU and the JS version agree.
    const cpu = await hs.spreadActivationBatch(graph, { seedSets: sets, ...options, backend: 'cpu' });
    const js = jsSpread(csr, sets[0]);
    let worst = 0;
    for (let v = 0; v < nodes; v++) worst = Math.max(worst, Math.abs(cpu[0][v] - js[v]));
    if (worst > 1e-4) throw new Error(`CPU and JS differ by ${worst} on ${nodes} nodes`);
    if (hasGpu && nodes <= gpuMaxNodes) {
      const onGpu = await hs.spreadActivationBatch(graph, { seedSets: sets, ...options, backend: 'gpu' });
      for (let v = 0; v < nodes; v++) worst = Math.max(worst, Math.abs(cpu[0][v] - onGpu[0][v]));
      if (worst > 1e-4) throw new Error(`CPU and GPU differ by ${worst} on ${nodes} nodes`);
    }
    const bench = new Bench(benchOptions);
    bench.add('cpu', () => hs.spreadActivationBatch(graph, { seedSets: sets, ...options, backend: 'cpu' }));
    if (k === 1 || nodes <= 100_000) bench.add('js', () => { for (const s of sets) jsSpread(csr, s); });
    if (hasGpu && nodes <= gpuMaxNodes) bench.add('gpu', () => hs.spreadActivationBatch(graph, { seedSets: sets, ...options, backend: 'gpu' }));
    process.stderr.write(`${nodes} nodes / ${edges} edges, K ${k} ...\n`);
    await bench.run();
    const ms = Object.fromEntries(bench.tasks.map((t) => [t.name, t.result.latency.p50]));
    rows.push({
      graph: `${nodes} / ${edges}`, k, cpuMs: round(ms.cpu), jsMs: ms.js ? round(ms.js) : null,
      cpuVsJs: ms.js ? round(ms.js / ms.cpu) : null, gpuMs: ms.gpu ? round(ms.gpu) : null,
      gpuVsCpu: ms.gpu ? round(ms.cpu / ms.gpu) : null,
    });
  }
  graph.dispose();
}
console.table(rows);
console.log(`targets: CPU >= 5x JS; 1k / 5k / 4 hops (K 1) < 0.5 ms: ${rows[0].cpuMs} ms` + (hasGpu ? `; GPU: ${hs.info().gpu.adapter.description}` : ''));
await hs.dispose();
const out = outAt >= 0 ? process.argv[outAt + 1] : join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'spreading-quick.json' : 'spreading.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, hops: HOPS, options, results: rows }, null, 2) + '\n');
console.log(`wrote ${out}`);
