// Spreading benchmark (medians of interleaved calls), the targets of issue 16, every figure in one run:
//   semantic  a generated graph shaped like a semantic network (118k nodes, 378k edges, power-law
//             out-degrees, hubs; src/bench/semantic-graph.ts), 1-5 seeds, 4 hops, threshold 0.01,
//             fan outDegree: ours (auto, push, pull), the library before (--baseline), and a plain
//             JS frontier loop (Maps, float64) as the peer; 32 seed sets taken in turn.
//   batch     the same with K = 16 seed sets in one spreadActivationBatch call, against one set,
//             with output 'sparse' (the non-zero totals) and 'dense' (an array over every node per set).
//   dense     threshold 0 on a random 1M-node / 10M-edge graph (quick: 200k / 2M): ours (auto, pull)
//             against the library before.
//   small     1k nodes / 5k edges, 4 hops, threshold 0: ours against the library before and JS.
//   crossover one hop from frontiers of growing out-edge share, push against pull, K 1 and 16,
//             on the semantic graph and the dense one: where pushing stops paying.
// Every result is checked first: our strategies against each other (bit for bit), ours against
// the JS loop (float64) and the library before.
// Usage: node bench/spreading.bench.mjs [--quick] [--only semantic,batch,dense,small,crossover]
//        [--baseline /path/to/older/dist/index.js] [--crossover-sets 1,4,16] [--crossover-on semantic,dense]
//        [--gpu] [--out FILE] [--dense-rounds N]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHybrid } from '../dist/index.js';
import { randomGraph, seededRandom } from '../dist/bench/data.js';
import { semanticGraph, semanticSeeds } from '../dist/bench/semantic-graph.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const only = new Set((option('--only') ?? 'semantic,batch,dense,small,crossover').split(','));
const baselinePath = option('--baseline');
const crossoverSets = (option('--crossover-sets') ?? '1,4,16').split(',').map(Number);
const crossoverOn = new Set((option('--crossover-on') ?? 'semantic,dense').split(','));
const denseRounds = Number(option('--dense-rounds') ?? (quick ? 3 : 8));
const benchOptions = quick ? { rounds: 6, slice: 40, warmup: 100 } : { rounds: 20, slice: 80, warmup: 300 };
const HOPS = 4;
const round = (x, digits = 4) => (x === undefined ? undefined : Number(x.toPrecision(digits)));
const say = (line) => process.stderr.write(`${line}\n`);

const hs = await createHybrid({ gpu: null });
// --gpu: the GPU's crossover too (on a software adapter such as lavapipe: a harness check only).
const gpuEngine = argv.includes('--gpu') ? await createHybrid({ gpu: (await import('webgpu')).create([]) }) : null;
const before = baselinePath ? await (await import(pathToFileURL(baselinePath).href)).createHybrid({ gpu: null }) : null;
say(`threads: ours ${hs.info().cpu.threads}${before ? `, before ${before.info().cpu.threads}` : ''}`);

/**
 * Medians (ms) of the tasks, timed interleaved: `rounds` rounds, each task in turn for about
 * `slice` ms per round (calls timed one by one), so that a slow spell of this shared machine falls
 * on every task alike; tinybench runs one task after another. Also each task's median per-round
 * ratio to the first task (`ratios`).
 */
async function time(tasks, settings = benchOptions) {
  const { rounds, slice, warmup } = settings;
  const names = Object.keys(tasks);
  for (const name of names) { const end = performance.now() + warmup; while (performance.now() < end) await tasks[name](); }
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const perRound = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const mine = [];
      const end = performance.now() + slice;
      do {
        const t = performance.now();
        await tasks[name]();
        mine.push(performance.now() - t);
      } while (performance.now() < end || mine.length < 3);
      samples[name].push(...mine);
      perRound[name].push(median(mine));
    }
  }
  const ms = Object.fromEntries(names.map((n) => [n, median(samples[n])]));
  const ratios = Object.fromEntries(names.map((n) => [n, median(perRound[n].map((x, r) => x / perRound[names[0]][r]))]));
  // The middle half of the per-round ratios: how well the run resolves them.
  const ratioQuartiles = Object.fromEntries(names.map((n) => [n, quartiles(perRound[n].map((x, r) => x / perRound[names[0]][r])).map((x) => round(x, 3))]));
  return { ...ms, ratios, ratioQuartiles };
}

/** The first and third quartiles (nearest rank). */
function quartiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [at(0.25), at(0.75)];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Medians and the median per-round ratio to the first task. */
function table(ms, label) {
  console.table(Object.fromEntries(Object.entries(ms).filter(([k]) => k !== 'ratios' && k !== 'ratioQuartiles')
    .map(([k, v]) => [k, { 'median ms': round(v), [label]: round(ms.ratios[k], 3), 'middle half': ms.ratioQuartiles[k].join('..') }])));
}

/** The graph by source in input order: what a plain JS loop would build. */
function outCsr({ nodeCount: n, from, to, weight }) {
  const offsets = new Uint32Array(n + 1);
  for (const u of from) offsets[u + 1]++;
  for (let u = 0; u < n; u++) offsets[u + 1] += offsets[u];
  const fill = offsets.slice(0, n), targets = new Uint32Array(from.length), weights = new Float64Array(from.length);
  for (let i = 0; i < from.length; i++) { const at = fill[from[i]]++; targets[at] = to[i]; weights[at] = weight[i]; }
  return { n, offsets, targets, weights };
}

/**
 * The peer: a plain JavaScript frontier loop (the rule of DESIGN.md in float64, fan outDegree,
 * exponential decay 0.7, maxActivation 1): follows only the active nodes' out-edges.
 */
function jsFrontier(g, seeds, threshold, hops = HOPS) {
  const { n, offsets, targets, weights } = g;
  const total = new Float32Array(n);
  let frontier = new Map();
  for (let i = 0; i < seeds.nodes.length; i++) frontier.set(seeds.nodes[i], (frontier.get(seeds.nodes[i]) ?? 0) + seeds.values[i]);
  for (const [u, x] of frontier) total[u] = Math.min(Math.max(x, 0), 1);
  for (let h = 1; h <= hops && frontier.size > 0; h++) {
    const decay = Math.fround(Math.exp(-0.7 * h));
    const sums = new Map();
    for (const [u, x] of frontier) {
      const share = x / (offsets[u + 1] - offsets[u]);
      for (let e = offsets[u]; e < offsets[u + 1]; e++) sums.set(targets[e], (sums.get(targets[e]) ?? 0) + share * weights[e]);
    }
    frontier = new Map();
    for (const [v, sum] of sums) {
      const c = decay * sum;
      if (c !== 0 && Math.abs(c) >= threshold) {
        frontier.set(v, c);
        total[v] = Math.min(Math.max(total[v] + c, 0), 1);
      }
    }
  }
  return total;
}

function difference(a, b) {
  let worst = 0, at = -1, over = 0;
  for (let v = 0; v < b.length; v++) {
    const e = Math.abs(a[v] - b[v]);
    if (e > 1e-5) over++;
    if (!(e <= worst)) { worst = e; at = v; }
  }
  return { worst, at, over };
}

function sameBits(a, b, what) {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) throw new Error(`${what}: node ${i} is ${a[i]} vs ${b[i]}`);
}

const results = { date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, quick, baseline: baselinePath ?? null };
const opts = (threshold, strategy) => ({ maxHops: HOPS, threshold, fan: 'outDegree', decay: { kind: 'exponential', rate: 0.7 }, ...(strategy ? { strategy } : {}) });

if (only.has('semantic') || only.has('batch') || (only.has('crossover') && crossoverOn.has('semantic'))) {
  const sg = semanticGraph();
  const graph = hs.createGraph(sg.input);
  const old = before?.createGraph(sg.input);
  const csr = outCsr(sg.input);
  const sets = semanticSeeds(sg, 32);
  // Checks: every strategy the same bits; ours against the float64 loop and the library before.
  let worst = 0, over = 0, worstBefore = 0;
  const touched = [];
  for (const seeds of sets) {
    const [auto, push, pull] = await Promise.all(['auto', 'push', 'pull'].map((s) => hs.spreadActivation(graph, { seeds, ...opts(0.01, s) })));
    sameBits(push, auto, 'semantic push vs auto');
    sameBits(pull, auto, 'semantic pull vs auto');
    const d = difference(auto, jsFrontier(csr, seeds, 0.01));
    worst = Math.max(worst, d.worst);
    over += d.over;
    if (old) worstBefore = Math.max(worstBefore, difference(auto, await before.spreadActivation(old, { seeds, ...opts(0.01) })).worst);
    touched.push(auto.reduce((a, x) => a + (x > 0 ? 1 : 0), 0));
  }
  say(`semantic: ${sg.input.nodeCount} nodes / ${sg.input.from.length} edges; vs float64 JS loop worst ${worst} (${over} entries > 1e-5), vs before ${worstBefore}; active nodes per set ${Math.min(...touched)}..${Math.max(...touched)}`);
  results.semanticCheck = { worstVsJs: worst, entriesOver1e5: over, worstVsBefore: worstBefore, activeNodes: touched };
  let turn = 0;
  const next = () => sets[turn++ % sets.length];
  if (only.has('semantic')) {
    const tasks = {
      'ours auto': () => hs.spreadActivation(graph, { seeds: next(), ...opts(0.01) }),
      'ours push': () => hs.spreadActivation(graph, { seeds: next(), ...opts(0.01, 'push') }),
      'ours pull': () => hs.spreadActivation(graph, { seeds: next(), ...opts(0.01, 'pull') }),
      'JS frontier loop': () => jsFrontier(csr, next(), 0.01),
      ...(old ? { before: () => before.spreadActivation(old, { seeds: next(), ...opts(0.01) }) } : {}),
    };
    const ms = await time(tasks);
    results.semantic = ms;
    table(ms, 'vs ours auto');
  }
  if (only.has('batch')) {
    const batchSets = () => { const first = turn; turn += 16; return Array.from({ length: 16 }, (_, j) => sets[(first + j) % sets.length]); };
    const sixteen = batchSets();
    const batch = await hs.spreadActivationBatch(graph, { seedSets: sixteen, ...opts(0.01) });
    for (let j = 0; j < 16; j++) sameBits(batch[j], await hs.spreadActivation(graph, { seeds: sixteen[j], ...opts(0.01) }), `batch column ${j}`);
    // output 'sparse': the non-zero entries of the dense result, bit for bit.
    const sparse = await hs.spreadActivationBatch(graph, { seedSets: sixteen, ...opts(0.01), output: 'sparse' });
    for (let j = 0; j < 16; j++) {
      const nodes = []; batch[j].forEach((x, v) => { if (x !== 0) nodes.push(v); });
      if (nodes.length !== sparse[j].nodes.length || nodes.some((v, i) => v !== sparse[j].nodes[i])) throw new Error(`sparse column ${j}: other nodes`);
      sameBits(sparse[j].values, Float32Array.from(nodes, (v) => batch[j][v]), `sparse column ${j}`);
    }
    const ms = await time({
      'ours, 1 set, sparse output': () => hs.spreadActivation(graph, { seeds: next(), ...opts(0.01), output: 'sparse' }),
      'ours, 16 sets in one call, sparse output': () => hs.spreadActivationBatch(graph, { seedSets: batchSets(), ...opts(0.01), output: 'sparse' }),
      'ours, 16 single calls, sparse output': async () => { for (const s of batchSets()) await hs.spreadActivation(graph, { seeds: s, ...opts(0.01), output: 'sparse' }); },
      'ours, 1 set': () => hs.spreadActivation(graph, { seeds: next(), ...opts(0.01) }),
      'ours, 16 sets in one call': () => hs.spreadActivationBatch(graph, { seedSets: batchSets(), ...opts(0.01) }),
      'ours, 16 single calls': async () => { for (const s of batchSets()) await hs.spreadActivation(graph, { seeds: s, ...opts(0.01) }); },
      'JS frontier loop, 16 sets': () => { for (const s of batchSets()) jsFrontier(csr, s, 0.01); },
      ...(old ? { 'before, 16 sets in one call': () => before.spreadActivationBatch(old, { seedSets: batchSets(), ...opts(0.01) }) } : {}),
    });
    results.batch = ms;
    table(ms, 'vs 1 set');
  }
  if (only.has('crossover') && crossoverOn.has('semantic')) results.crossoverSemantic = await crossover(graph, sg.input, 'semantic');
  if (only.has('crossover') && crossoverOn.has('semantic') && gpuEngine) {
    // The GPU's sparse (mark, compact, pull into the marked) against dense hops, one seed set.
    const onGpu = gpuEngine.createGraph(sg.input);
    results.crossoverGpu = await crossover(onGpu, sg.input, `semantic on the GPU (${gpuEngine.info().gpu.adapter.description})`, gpuEngine, 'gpu', [1]);
    onGpu.dispose();
  }
  graph.dispose();
  old?.dispose();
}

if (only.has('dense') || (only.has('crossover') && crossoverOn.has('dense'))) {
  const [nodes, edges] = quick ? [200_000, 2_000_000] : [1_000_000, 10_000_000];
  const input = randomGraph(seededRandom(12345), nodes, edges);
  const graph = hs.createGraph(input);
  if (only.has('dense')) {
    const old = before?.createGraph(input);
    results.dense = [];
    // 10 seeds (the frontier grows from a few nodes) and 100k (every hop pulls from the first).
    for (const count of [10, nodes / 10]) {
      const random = seededRandom(777 + count);
      const seeds = { nodes: Uint32Array.from({ length: count }, () => Math.floor(nodes * (random() + 1) / 2) % nodes), values: new Float32Array(count).fill(1) };
      const auto = await hs.spreadActivation(graph, { seeds, ...opts(0) });
      sameBits(await hs.spreadActivation(graph, { seeds, ...opts(0, 'pull') }), auto, 'dense pull vs auto');
      if (count <= 10) sameBits(await hs.spreadActivation(graph, { seeds, ...opts(0, 'push') }), auto, 'dense push vs auto');
      if (old) say(`dense, ${count} seeds: ours vs before, worst ${difference(auto, await before.spreadActivation(old, { seeds, ...opts(0) })).worst}`);
      const hopsBefore = { ...hs.stats().spreading.hops.cpu };
      await hs.spreadActivation(graph, { seeds, ...opts(0) });
      const hopsAfter = hs.stats().spreading.hops.cpu;
      const hops = `${hopsAfter.push - hopsBefore.push} push + ${hopsAfter.pull - hopsBefore.pull} pull hops`;
      say(`dense, ${count} seeds, auto: ${hops}`);
      const denseSettings = quick ? { rounds: denseRounds, slice: 300, warmup: 300 } : { rounds: denseRounds, slice: 600, warmup: 1000 };
      const ms = await time({
        ...(old ? { before: () => before.spreadActivation(old, { seeds, ...opts(0) }) } : {}),
        'ours auto': () => hs.spreadActivation(graph, { seeds, ...opts(0) }),
        'ours pull': () => hs.spreadActivation(graph, { seeds, ...opts(0, 'pull') }),
      }, denseSettings);
      results.dense.push({ graph: `${nodes} / ${edges}`, seeds: count, autoHops: hops, ms });
      say(`dense, ${nodes} / ${edges}, ${count} seeds:`);
      table(ms, old ? 'vs before' : 'vs ours auto');
    }
    old?.dispose();
  }
  if (only.has('crossover') && crossoverOn.has('dense')) results.crossoverDense = await crossover(graph, input, `random ${nodes} / ${edges}`);
  graph.dispose();
}

if (only.has('small')) {
  const input = randomGraph(seededRandom(99), 1000, 5000);
  const graph = hs.createGraph(input);
  const old = before?.createGraph(input);
  const csr = outCsr(input);
  const random = seededRandom(5);
  const seeds = { nodes: Uint32Array.from({ length: 10 }, () => Math.floor(1000 * (random() + 1) / 2) % 1000), values: new Float32Array(10).fill(1) };
  const ours = await hs.spreadActivation(graph, { seeds, ...opts(0) });
  say(`small: vs JS worst ${difference(ours, jsFrontier(csr, seeds, 0)).worst}`);
  const ms = await time({
    'ours auto': () => hs.spreadActivation(graph, { seeds, ...opts(0) }),
    'JS frontier loop': () => jsFrontier(csr, seeds, 0),
    ...(old ? { before: () => before.spreadActivation(old, { seeds, ...opts(0) }) } : {}),
  });
  results.small = ms;
  table(ms, 'vs ours auto');
  graph.dispose();
  old?.dispose();
}

/**
 * One hop (maxHops 1, threshold 0) from frontiers whose out-edges are a growing share of the
 * graph's edges + nodes, timed pushing and pulling, for 1 and 16 seed sets (the 16 sets share the
 * frontier). Returns the rows and the share where push and pull cost the same (log-interpolated).
 */
async function crossover(graph, input, name, engine = hs, backend = 'cpu', sets = crossoverSets) {
  const n = input.nodeCount, e = input.from.length;
  const degree = new Uint32Array(n);
  for (const u of input.from) degree[u]++;
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(4242);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(((random() + 1) / 2) * (i + 1)) % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  const shares = quick ? [0.003, 0.01, 0.03, 0.1, 0.3] : [0.001, 0.003, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3];
  const out = { graph: name, rows: [], crossover: {} };
  for (const k of sets) {
    let previous = null;
    for (const share of shares) {
      const nodes = [];
      let edges = 0;
      for (let i = 0; i < n && edges < share * (e + n); i++) { nodes.push(order[i]); edges += degree[order[i]]; }
      const seeds = { nodes: Uint32Array.from(nodes), values: new Float32Array(nodes.length).fill(0.5) };
      const seedSets = Array.from({ length: k }, () => seeds);
      const call = (strategy) => (k === 1
        ? engine.spreadActivation(graph, { seeds, ...opts(0, strategy), maxHops: 1, backend })
        : engine.spreadActivationBatch(graph, { seedSets, ...opts(0, strategy), maxHops: 1, backend }));
      const [a, b] = [await call('push'), await call('pull')];
      sameBits(k === 1 ? a : a[k - 1], k === 1 ? b : b[k - 1], `crossover ${name} share ${share}`);
      const ms = await time({ push: () => call('push'), pull: () => call('pull') }, quick ? { rounds: 4, slice: 40, warmup: 50 } : { rounds: 10, slice: 60, warmup: 100 });
      const ratio = ms.ratios.pull;
      out.rows.push({ k, share: round(edges / (e + n), 3), seeds: nodes.length, pushMs: round(ms.push), pullMs: round(ms.pull), 'pull / push': round(ratio, 3) });
      if (previous && previous.ratio >= 1 && ratio < 1 && out.crossover[k] === undefined) {
        const t = Math.log(previous.ratio) / (Math.log(previous.ratio) - Math.log(ratio));
        out.crossover[k] = round(Math.exp(Math.log(previous.share) + t * (Math.log(edges / (e + n)) - Math.log(previous.share))), 3);
      }
      previous = { ratio, share: edges / (e + n) };
    }
  }
  console.table(out.rows);
  say(`crossover on ${name}: push pays below a frontier out-edge share of ${JSON.stringify(out.crossover)}`);
  return out;
}

await hs.dispose();
await before?.dispose();
await gpuEngine?.dispose();
const file = option('--out') ?? join(dirname(fileURLToPath(import.meta.url)), 'results', quick ? 'spreading-quick.json' : 'spreading.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
say(`wrote ${file}`);
