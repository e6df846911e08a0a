// First call against a warm call, each in a new process: what warm-up buys. For each variant a
// child process builds a 50,000 x 384 index (seeded) and times its first top-10 search, then 30
// more (the warm median); the parent reports medians over the runs and first / warm.
//   none         warmup: false (the first call pays for everything)
//   create       warmup: true at createHybrid (before the index exists)
//   create+index warmup: true, then await hs.warmup() once the index is built (README's advice)
// `--gpu`: on the adapter webgpu finds (lavapipe here: checks the mechanism, not GPU speed),
// calls forced to the GPU, plus the router's first auto decision. `--runs N` (default 5);
// `--variants a,b` (default all three).
//   node bench/warmup.bench.mjs [--gpu] [--runs N] [--variants LIST] [--json FILE]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const gpu = argv.includes('--gpu');
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 5;
const jsonAt = argv.indexOf('--json');
const variantsAt = argv.indexOf('--variants');
const variants = variantsAt >= 0 ? argv[variantsAt + 1].split(',') : ['none', 'create', 'create+index'];

const CHILD = `
import { createHybrid } from './dist/index.js';
const [variant, onGpu] = [process.argv[1], process.argv[2] === 'gpu'];
const N = 50000, D = 384;
let seed = 7;
const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296 - 0.5; };
const vectors = new Float32Array(N * D).map(random);
const queries = Array.from({ length: 31 }, () => new Float32Array(D).map(random));
const gpuObject = onGpu ? (await import('webgpu')).create([]) : null;
let t = performance.now();
const hs = await createHybrid({ gpu: gpuObject, warmup: variant !== 'none' });
const createMs = performance.now() - t;
const index = await hs.createIndex(vectors, { dim: D });
let warmupMs = 0;
if (variant === 'create+index') { t = performance.now(); await hs.warmup(); warmupMs = performance.now() - t; }
const backend = onGpu ? 'gpu' : 'cpu';
const times = [];
for (const q of queries) { t = performance.now(); await index.search(q, { k: 10, backend }); times.push(performance.now() - t); }
let autoFirst = null;
if (onGpu) {
  await index.search(queries[0], { k: 10 });
  const d = hs.stats().operations.cosine.decisions;
  autoFirst = Object.keys(d).find((k) => k !== 'forced') ?? null;
}
const report = hs.stats().warmup;
console.log(JSON.stringify({ createMs, warmupMs, first: times[0], warm: times.slice(1).sort((a, b) => a - b)[15], autoFirst,
  steps: report ? report.steps.map((s) => [s.name, Math.round(s.ms * 10) / 10]) : null }));
await hs.dispose();
`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const variant of variants) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, variant, gpu ? 'gpu' : 'cpu'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    samples.push(JSON.parse(out.trim().split('\n').pop()));
  }
  const first = median(samples.map((s) => s.first));
  const warm = median(samples.map((s) => s.warm));
  results[variant] = {
    createMs: median(samples.map((s) => s.createMs)), warmupMs: median(samples.map((s) => s.warmupMs)),
    firstMs: first, warmMs: warm, ratio: first / warm, ratios: samples.map((s) => +(s.first / s.warm).toFixed(2)),
    autoFirst: samples.map((s) => s.autoFirst), steps: samples[0].steps,
  };
  const r = results[variant];
  console.log(`${variant.padEnd(13)} createHybrid ${r.createMs.toFixed(1).padStart(6)} ms, warmup() ${r.warmupMs.toFixed(1).padStart(6)} ms, ` +
    `first search ${r.firstMs.toFixed(2).padStart(6)} ms, warm ${r.warmMs.toFixed(2).padStart(5)} ms, first/warm ${r.ratio.toFixed(2)} ` +
    `(runs: ${r.ratios.join(' ')})${gpu ? `, first auto decision: ${r.autoFirst.join(' ')}` : ''}`);
}
console.log(`(${runs} new processes per variant, medians; ${gpu ? 'GPU: calls forced to the GPU' : 'CPU engine'}; 50,000 x 384, top-10)`);
if (jsonAt >= 0) writeFileSync(argv[jsonAt + 1], JSON.stringify({ gpu, runs, results }, null, 2) + '\n');
