// Probe: where a dense spreading call's time goes (issue 16's dense target), ours against an older
// build in one process. The 1M-node / 10M-edge random graph of spreading.bench.mjs, 100k seeds
// (every hop pulls), threshold 0, 4 hops; calls timed interleaved, and inside each call: every
// WASM kernel run on this thread (a timing wrapper over the engine's kernel table) and the time
// spent waiting for the worker pool (kernels run there; includes the messages). The rest of a call
// is JavaScript on this thread. Reads engine internals (memory, cpu), so it is a probe, not a bench.
// Usage: node bench/spreading-dense-pieces.mjs --baseline /path/to/older/dist/index.js
//        [--rounds 12] [--threads 2] [--strategy pull|auto] [--seeds 100000]
import { pathToFileURL } from 'node:url';
import { randomGraph, seededRandom } from '../dist/bench/data.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const baseline = option('--baseline');
if (!baseline) throw new Error('--baseline /path/to/older/dist/index.js is required');
const rounds = Number(option('--rounds', 12));
const threads = Number(option('--threads', 2));
const strategy = option('--strategy', 'pull');
const seedCount = Number(option('--seeds', 100_000));
const nodes = 1_000_000, edges = 10_000_000;
const input = randomGraph(seededRandom(12345), nodes, edges);
const random = seededRandom(777 + seedCount);
const seeds = { nodes: Uint32Array.from({ length: seedCount }, () => Math.floor(nodes * (random() + 1) / 2) % nodes), values: new Float32Array(seedCount).fill(1) };
const base = { maxHops: 4, threshold: 0, fan: 'outDegree', decay: { kind: 'exponential', rate: 0.7 } };
const median = (v) => { const s = [...v].sort((a, b) => a - b); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };

/** An engine whose kernel calls on this thread and waits on the pool are timed into `acc`. */
async function instrumented(name, path) {
  const hs = await (await import(pathToFileURL(path).href)).createHybrid({ gpu: null, cpuThreads: threads, offMainThread: threads > 1 });
  const acc = new Map();
  const add = (key, ms) => acc.set(key, (acc.get(key) ?? 0) + ms);
  const real = hs.memory.kernels;
  const timed = {};
  for (const key of Object.keys(real)) {
    const f = real[key];
    timed[key] = typeof f !== 'function' ? f : (...args) => { const s = performance.now(); const r = f(...args); add(key, performance.now() - s); return r; };
  }
  hs.memory.kernels = timed;
  if (hs.memory.regions) hs.memory.regions.region(0).kernels = timed; // this library: kernels per memory region
  // Pool runs: executeRegions here, execute in the older build.
  const key = typeof hs.cpu.executeRegions === 'function' ? 'executeRegions' : 'execute';
  const execute = hs.cpu[key].bind(hs.cpu);
  hs.cpu[key] = (...args) => {
    const s = performance.now();
    const r = execute(...args);
    if (!(r instanceof Promise)) return r; // ran here: its kernels are timed already
    return r.then((x) => { add('(waiting for workers)', performance.now() - s); return x; });
  };
  const graph = hs.createGraph(input);
  const opts = name === 'ours' && strategy !== 'auto' ? { ...base, strategy } : base;
  return { name, hs, graph, acc, opts, samples: [] };
}

const engines = [await instrumented('ours', new URL('../dist/index.js', import.meta.url).pathname), await instrumented('before', baseline)];
async function call(e) {
  e.acc.clear();
  const s = performance.now();
  const out = await e.hs.spreadActivation(e.graph, { seeds, ...e.opts });
  e.samples.push({ total: performance.now() - s, ...Object.fromEntries(e.acc) });
  return out;
}
const [a, b] = [await call(engines[0]), await call(engines[1])];
let worst = 0;
for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
console.log(`threads ${threads}, strategy ${strategy}, ${seedCount} seeds; worst |ours - before| ${worst}`);
for (const e of engines) { for (let i = 0; i < 3; i++) await call(e); e.samples.length = 0; }
const ratios = [];
for (let r = 0; r < rounds; r++) {
  const m = {};
  for (const e of r % 2 ? [...engines].reverse() : engines) {
    const start = e.samples.length;
    for (let i = 0; i < 3; i++) await call(e);
    m[e.name] = median(e.samples.slice(start).map((x) => x.total));
  }
  ratios.push(m.ours / m.before);
}
for (const e of engines) {
  const keys = [...new Set(e.samples.flatMap((x) => Object.keys(x)))];
  const row = Object.fromEntries(keys.map((k) => [k, Number(median(e.samples.map((x) => x[k] ?? 0)).toFixed(2))]));
  row['(JS on this thread)'] = Number(median(e.samples.map((x) => x.total - Object.entries(x).reduce((sum, [k, v]) => sum + (k === 'total' ? 0 : v), 0))).toFixed(2));
  console.log(e.name, JSON.stringify(row));
}
console.log(`per-round ratio ours / before: median ${median(ratios).toFixed(3)}; rounds ${ratios.map((x) => x.toFixed(3)).join(' ')}`);
for (const e of engines) await e.hs.dispose();
