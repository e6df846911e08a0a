// Direction-optimizing spreading (issue 16): every case of the spreading table, and graphs shaped
// like a semantic network (power-law out-degrees, hubs, sparse seeds under a threshold) and dense
// ones, on every strategy (push, pull, auto), thread setup (one thread; this thread + workers with
// every pull hop split; workers only) and backend: the totals are the same bits everywhere, and
// within tolerance of the float64 reference (test/spreading-reference.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine, type SpreadStrategy } from '../src/index.js';
import { semanticGraph, semanticSeeds } from '../src/bench/semantic-graph.js';
import { cpuOf, gpuOf, poisonFreeMemory } from '../src/testing.js';
import { engineFor, requireGpuInCi, runGpuTests } from './gpu-setup.js';
import { rng } from './helpers.js';
import {
  base, caseSeedSets, expectTotalsClose, GRAPHS, randomGraph, randomSeeds, reference, settledOptions, SPREADING_CASES,
  type Options, type Seeds, type TestGraph,
} from './spreading-reference.js';

requireGpuInCi();

const STRATEGIES: SpreadStrategy[] = ['push', 'pull', 'auto'];

/** The engines every case runs on. */
interface Setup { name: string; engine: HybridEngine; gpu: boolean }
const setups: Setup[] = [];

beforeAll(async () => {
  setups.push({ name: 'cpu, 1 thread', engine: await createHybrid({ gpu: null, cpuThreads: 1 }), gpu: false });
  setups.push({ name: 'cpu, this thread + 2 workers, every hop split', engine: await engineFor('cpu-split'), gpu: false });
  const off = await createHybrid({ gpu: null, cpuThreads: 2, offMainThread: true });
  cpuOf(off).minWorkBytes = 0;
  setups.push({ name: 'cpu, 2 workers only', engine: off, gpu: false });
  if (runGpuTests) setups.push({ name: 'gpu', engine: await engineFor('gpu'), gpu: true });
});

afterAll(async () => {
  for (const s of setups.splice(0)) await s.engine.dispose();
});

/** The same bits (an f32 NaN or -0 would differ from its neighbours here too). */
function expectSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect.fail(`${label}: node ${i} is ${actual[i]}, want ${expected[i]} (the same bits)`);
  }
}

/** `sparse` lists exactly the non-zero entries of `dense`, ascending, with the same bits. */
function expectSparseOf(sparse: { nodes: Uint32Array; values: Float32Array }, dense: Float32Array, label: string): void {
  const nodes: number[] = [];
  dense.forEach((x, v) => { if (x !== 0) nodes.push(v); });
  expect(sparse.nodes).toBeInstanceOf(Uint32Array);
  expect(sparse.values).toBeInstanceOf(Float32Array);
  expect(Array.from(sparse.nodes), `${label}: nodes`).toEqual(nodes);
  expectSameBits(sparse.values, Float32Array.from(nodes, (v) => dense[v]!), `${label}: values`);
}

/**
 * Run K seed sets (and, for K = 1, the single call) on every setup and strategy (`gpuStrategies`
 * on the GPU); check the first against the float64 reference and every other against the first,
 * bit for bit. Returns the totals of the first run.
 */
async function runEverywhere(graph: TestGraph, seedSets: Seeds[], o: Options, label: string,
  gpuStrategies: SpreadStrategy[] = STRATEGIES, only?: (setup: Setup) => boolean): Promise<Float32Array[]> {
  let first: Float32Array[] | null = null;
  for (const setup of setups.filter(only ?? (() => true))) {
    const g = setup.engine.createGraph(graph);
    try {
      poisonFreeMemory(setup.engine);
      for (const strategy of setup.gpu ? gpuStrategies : STRATEGIES) {
        const backend = setup.gpu ? 'gpu' as const : 'cpu' as const;
        const where = `${label}, ${setup.name}, ${strategy}`;
        const totals = await setup.engine.spreadActivationBatch(g, { seedSets, ...o, strategy, backend });
        if (seedSets.length === 1) {
          expectSameBits(await setup.engine.spreadActivation(g, { seeds: seedSets[0]!, ...o, strategy, backend }), totals[0]!, `${where}, single call`);
        }
        // output 'sparse': exactly the non-zero entries of the dense result, nodes ascending.
        const sparse = await setup.engine.spreadActivationBatch(g, { seedSets, ...o, strategy, backend, output: 'sparse' });
        totals.forEach((t, j) => expectSparseOf(sparse[j]!, t, `${where}, seed set ${j}, sparse`));
        if (!first) {
          first = totals;
          seedSets.forEach((seeds, j) => expectTotalsClose(totals[j]!, reference(graph, seeds, o).total, `${where}, seed set ${j}`));
        } else {
          totals.forEach((t, j) => expectSameBits(t, first![j]!, `${where}, seed set ${j}`));
        }
      }
    } finally {
      g.dispose();
    }
  }
  return first!;
}

describe('every strategy, thread setup and backend: the same bits', () => {
  it.each(SPREADING_CASES.filter((c) => c.graph !== 'large'))('$name', async (c) => {
    const graph = GRAPHS[c.graph]();
    const seedSets = caseSeedSets(graph, c.k);
    await runEverywhere(graph, seedSets, settledOptions(graph, seedSets, c.options), c.name);
  });

  // The large-graph cases (seconds each; auto on every backend is in spreading.test.ts): one set on
  // one thread, split, and the GPU; more sets on one thread.
  it.each(SPREADING_CASES.filter((c) => c.graph === 'large'))('$name', async (c) => {
    const graph = GRAPHS[c.graph]();
    const seedSets = caseSeedSets(graph, c.k);
    await runEverywhere(graph, seedSets, settledOptions(graph, seedSets, c.options), c.name, STRATEGIES,
      (setup) => setup.name === 'cpu, 1 thread' || (c.k === 1 && setup.name !== 'cpu, 2 workers only'));
  }, 60_000);

  it('a semantic-network-shaped graph: sparse seeds under a threshold, K 1 and 16', async () => {
    const sg = semanticGraph(20_000, 64_000, 7);
    const graph: TestGraph = { ...sg.input, undirected: false };
    const sets = semanticSeeds(sg, 16, 3);
    const o = settledOptions(graph, sets, { ...base, fan: 'outDegree' });
    const one = await runEverywhere(graph, [sets[0]!], o, 'semantic K 1');
    const batch = await runEverywhere(graph, sets, o, 'semantic K 16', ['push', 'pull']);
    expectSameBits(batch[0]!, one[0]!, 'semantic: set 0 alone and in the batch');
    // Sparse: a few nodes active, most untouched.
    const active = one[0]!.filter((x) => x > 0).length;
    expect(active).toBeGreaterThan(0);
    expect(active).toBeLessThan(graph.nodeCount / 20);
  });

  it('hubs whose shares are below the threshold, parallel edges and many light sources into one node', async () => {
    // Push hops leave the targets of light edge runs alone (asm/spread.ts, pushColumn): hubs with
    // tiny shares (fan outDegree) whose parallel edges into one node add up past the threshold, a
    // node fed by many light sources, inhibitory edges among them; pull sums every node.
    const random = rng(77);
    const n = 4000;
    const from: number[] = [], to: number[] = [], weight: number[] = [];
    for (let hub = 0; hub < 6; hub++) {
      for (let e = 0; e < 1500; e++) { from.push(hub); to.push(100 + Math.floor(random() * (n - 100))); weight.push(random() < 0.1 ? -0.3 : 0.3 + random() * 0.5); }
      for (let e = 0; e < 40 + hub * 20; e++) { from.push(hub); to.push(50); weight.push(0.8); } // parallel: adds up
      from.push(hub); to.push(51); weight.push(0.7); // one light edge each into node 51
    }
    for (let u = 6; u < 60; u++) { from.push(u); to.push(52); weight.push(0.5); } // many small sources into 52
    for (let u = 100; u < n; u++) for (let e = 0; e < 3; e++) { from.push(u); to.push(Math.floor(random() * n)); weight.push(0.3 + random() * 0.5); }
    const graph: TestGraph = { nodeCount: n, from: Uint32Array.from(from), to: Uint32Array.from(to), weight: Float32Array.from(weight), undirected: false };
    const hubs = { nodes: Uint32Array.from([0, 1, 2, 3, 4, 5]), values: new Float32Array(6).fill(1) };
    const many = { nodes: Uint32Array.from({ length: 54 }, (_, i) => 6 + i), values: new Float32Array(54).fill(0.02) };
    const mixed = { nodes: Uint32Array.from([0, 3, 7, 200, 201]), values: Float32Array.from([1, 0.5, 1, 0.9, 0.2]) };
    for (const threshold of [0.01, 0.003, 0.03]) {
      const o = settledOptions(graph, [hubs, many, mixed], { ...base, fan: 'outDegree', threshold });
      await runEverywhere(graph, [hubs], o, `light, threshold ${o.threshold}, hubs`);
      await runEverywhere(graph, [hubs, many, mixed], o, `light, threshold ${o.threshold}, 3 sets`, STRATEGIES,
        (setup) => setup.name === 'cpu, 1 thread' || setup.gpu);
    }
  });

  it('a large pull, a pull over its uncleared blocks, a push after them, a last pull (each way a block is left and cleared)', async () => {
    // Layers: A (every node seeded) -> B (most nodes: a frontier too large to list or clear by
    // rows) -> C (10 nodes fed by 100 B nodes each; B's other edges are too light to pass the
    // threshold) -> P (sinks) and back into A. Auto: hop 1 pulls (A has many out-edges) and leaves its input block
    // to the next pull, hop 2 pulls over it (stale on entry), hop 3 pushes from C (the stale block
    // is cleared first), hop 4 pushes; with maxHops 1 and 2 the last hop is a pull (its g' dropped,
    // on a clean and on a stale block). Every strategy, setup and backend the same bits; calls in
    // turn on one graph, so a block left dirty would show in the next call.
    const random = rng(91);
    const [a, b, c] = [2000, 1500, 10];
    const n = 4000;
    const from: number[] = [], to: number[] = [], weight: number[] = [];
    const edge = (u: number, v: number, w: number) => { from.push(u); to.push(v); weight.push(w); };
    for (let v = a; v < a + b; v++) for (let e = 0; e < 3; e++) edge(Math.floor(random() * a), v, 0.4 + random() * 0.2);
    for (let v = a + b; v < a + b + c; v++) for (let e = 0; e < 100; e++) edge(a + Math.floor(random() * b), v, random() < 0.1 ? -0.2 : 0.4 + random() * 0.2);
    for (let u = a; u < a + b; u++) for (let e = 0; e < 5; e++) edge(u, a + b + c + Math.floor(random() * (n - a - b - c)), 0.001 * random());
    for (let u = a + b; u < a + b + c; u++) for (let e = 0; e < 20; e++) edge(u, a + b + c + Math.floor(random() * (n - a - b - c)), 0.5 + random() * 0.4);
    for (let u = a + b; u < a + b + c; u++) for (let e = 0; e < 5; e++) edge(u, Math.floor(random() * a), 0.5); // back into A: the push adds where a stale g lay
    const graph: TestGraph = { nodeCount: n, from: Uint32Array.from(from), to: Uint32Array.from(to), weight: Float32Array.from(weight), undirected: false };
    const all = { nodes: Uint32Array.from({ length: a }, (_, i) => i), values: Float32Array.from({ length: a }, () => 0.5 + random()) };
    const half = { nodes: Uint32Array.from({ length: a / 2 }, (_, i) => 2 * i), values: new Float32Array(a / 2).fill(1) };
    const few = { nodes: Uint32Array.from([a + b, a + b + 3]), values: Float32Array.from([1, 0.5]) };
    const one = setups[0]!.engine; // one thread: the hops it took
    for (const maxHops of [1, 2, 4]) {
      const o = settledOptions(graph, [all, half, few], { ...base, maxHops, threshold: 0.01 });
      const g = one.createGraph(graph);
      const before = { ...one.stats().spreading.hops.cpu };
      await one.spreadActivation(g, { seeds: all, ...o });
      const after = one.stats().spreading.hops.cpu;
      expect([after.pull - before.pull, after.push - before.push], `maxHops ${maxHops}: pull and push hops`)
        .toEqual(maxHops === 4 ? [2, 2] : [maxHops, 0]);
      g.dispose();
      await runEverywhere(graph, [all], o, `layers, maxHops ${maxHops}`);
      await runEverywhere(graph, [all, half, few], o, `layers, maxHops ${maxHops}, 3 sets`, STRATEGIES,
        (setup) => setup.name !== 'cpu, 2 workers only');
    }
  });

  it('dense frontiers (threshold 0, many seeds, hubs with thousands of in-edges)', async () => {
    const graph = randomGraph(3000, 40_000, 21);
    const seedSets = [randomSeeds(3000, 400, 22), randomSeeds(3000, 3, 23)];
    await runEverywhere(graph, seedSets, { ...base, threshold: 0, decay: 0.5, fan: 'sqrtOutDegree', maxHops: 5 }, 'dense');
  });
});

describe('strategy: how hops go, and what stats() tells', () => {
  let hs: HybridEngine;
  beforeAll(async () => { hs = await createHybrid({ gpu: null, cpuThreads: 1 }); });
  afterAll(async () => { await hs.dispose(); });

  it('auto pushes sparse hops and pulls dense ones; stats() counts them and names the crossover', async () => {
    const sg = semanticGraph(20_000, 64_000, 7);
    const graph = hs.createGraph(sg.input);
    const hops = () => ({ ...hs.stats().spreading.hops.cpu });
    let before = hops();
    await hs.spreadActivation(graph, { seeds: semanticSeeds(sg, 1, 3)[0]!, fan: 'outDegree' });
    let after = hops();
    expect(after.push - before.push).toBeGreaterThan(0);
    expect(after.pull - before.pull).toBe(0);
    // Every node seeded: the first hop pushes along every edge, which is a pull's work.
    const all = { nodes: Uint32Array.from({ length: 20_000 }, (_, i) => i), values: new Float32Array(20_000).fill(0.5) };
    before = hops();
    await hs.spreadActivation(graph, { seeds: all, threshold: 0, maxHops: 2 });
    after = hops();
    expect(after.pull - before.pull).toBe(2);
    before = hops();
    await hs.spreadActivation(graph, { seeds: all, threshold: 0, maxHops: 2, strategy: 'push' });
    expect(hops().push - before.push).toBe(2);
    const { crossover } = hs.stats().spreading;
    for (const share of [crossover.cpu.small, crossover.cpu.large, crossover.gpu]) {
      expect(share).toBeGreaterThan(0);
      expect(share).toBeLessThan(1);
    }
    expect(crossover.cpu.smallNodes).toBeGreaterThan(0);
    expect(hs.metrics()).toMatch(/hybrid_similarity_spread_hops_total\{backend="cpu",direction="push"\} [1-9]/);
    graph.dispose();
  });

  it('output: sparse for an empty result, one node, a node with no edges, and K sets; bad values are rejected', async () => {
    const graph = hs.createGraph({ nodeCount: 5, from: new Uint32Array([0, 1, 1]), to: new Uint32Array([1, 2, 4]), weight: Float32Array.from([0.5, 1, -1]) });
    const zero = { nodes: new Uint32Array([0]), values: new Float32Array([0]) };
    const empty = await hs.spreadActivation(graph, { seeds: zero, output: 'sparse' });
    expect(empty.nodes).toEqual(new Uint32Array(0));
    expect(empty.values).toEqual(new Float32Array(0));
    const none = await hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array(0), values: new Float32Array(0) }, output: 'sparse' });
    expect(none.nodes.length).toBe(0);
    // Node 3 has no edges: only itself, clamped.
    const alone = await hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([3]), values: new Float32Array([2]) }, output: 'sparse' });
    expect(Array.from(alone.nodes)).toEqual([3]);
    expect(Array.from(alone.values)).toEqual([1]);
    // 0 -> 1 -> 2 and 1 -> 4 (inhibitory: clamped to 0, so left out); duplicate seeds add up.
    const chain = await hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([0, 0]), values: Float32Array.from([0.25, 0.25]) }, decay: 1, output: 'sparse' });
    expect(Array.from(chain.nodes)).toEqual([0, 1, 2]);
    expect(Array.from(chain.values)).toEqual([0.5, 0.25, 0.25]);
    const sets = await hs.spreadActivationBatch(graph, { seedSets: [zero, { nodes: new Uint32Array([1]), values: new Float32Array([1]) }], decay: 1, output: 'sparse' });
    expect(sets.map((t) => Array.from(t.nodes))).toEqual([[], [1, 2]]);
    const dense = await hs.spreadActivation(graph, { seeds: zero, output: 'dense' });
    expect(dense).toBeInstanceOf(Float32Array);
    for (const output of ['Sparse', 'list', 1, {}]) {
      await expect(hs.spreadActivation(graph, { seeds: zero, output: output as never }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/output must be 'dense' or 'sparse'/) });
      await expect(hs.spreadActivationBatch(graph, { seedSets: [zero], output: output as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    graph.dispose();
  });

  it('rejects an unknown strategy', async () => {
    const graph = hs.createGraph({ nodeCount: 3, from: new Uint32Array([0, 1]), to: new Uint32Array([1, 2]) });
    await expect(hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([0]), values: new Float32Array([1]) }, strategy: 'sideways' as never }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/strategy must be 'auto', 'push' or 'pull'/) });
    graph.dispose();
  });

  it('keeps its working blocks between calls (no block per call) and frees them with the graph', async () => {
    const arena = (hs as unknown as { memory: { arena: { liveBlocks: number } } }).memory.arena;
    const start = arena.liveBlocks;
    const graph = randomGraph(5000, 20_000, 4);
    const g = hs.createGraph(graph);
    const seeds = randomSeeds(5000, 5, 9);
    const o = settledOptions(graph, [seeds], base);
    const want = reference(graph, seeds, o).total;
    await hs.spreadActivation(g, { seeds, ...o });
    const held = arena.liveBlocks;
    for (let i = 0; i < 20; i++) {
      // Calls with other seeds in between: the blocks they leave must be clean for the next.
      await hs.spreadActivation(g, { seeds: randomSeeds(5000, 1 + i, 100 + i), ...o, threshold: 0 });
      expectTotalsClose(await hs.spreadActivation(g, { seeds, ...o }), want, `call ${i}`);
    }
    expect(arena.liveBlocks).toBe(held);
    g.dispose();
    expect(arena.liveBlocks).toBe(start);
  });

  it('overlapping calls on one graph (each with its own blocks) give each its own answer', async () => {
    const graph = randomGraph(4000, 30_000, 31);
    const split = await engineFor('cpu-split');
    try {
      const g = split.createGraph(graph);
      const sets = Array.from({ length: 6 }, (_, i) => randomSeeds(4000, 2 + i, 40 + i));
      const o = { ...base, threshold: 0, maxHops: 3 };
      const results = await Promise.all(sets.map((seeds, i) => split.spreadActivation(g, { seeds, ...o, strategy: STRATEGIES[i % 3]! })));
      results.forEach((totals, i) => expectTotalsClose(totals, reference(graph, sets[i]!, o).total, `call ${i}`));
    } finally {
      await split.dispose();
    }
  });
});

describe.skipIf(!runGpuTests)('the GPU: marked hops and dense hops in one submission', () => {
  it('auto marks sparse hops and pulls dense ones on the device; stats() counts them', async () => {
    const hs = await engineFor('gpu');
    try {
      const graph = randomGraph(3000, 20_000, 41);
      const g = hs.createGraph(graph);
      gpuOf(hs)!.poisonOutputs = true;
      const hops = () => ({ ...hs.stats().spreading.hops.gpu });
      const before = hops();
      const seeds = randomSeeds(3000, 2, 42);
      const o = settledOptions(graph, [seeds], { ...base, threshold: 0, maxHops: 6, decay: 0.9 });
      expectTotalsClose(await hs.spreadActivation(g, { seeds, ...o, backend: 'gpu' }), reference(graph, seeds, o).total, 'gpu auto');
      const after = hops();
      expect(after.push - before.push, 'sparse first hops').toBeGreaterThan(0);
      expect(after.pull - before.pull, 'dense later hops').toBeGreaterThan(0);
      g.dispose();
    } finally {
      await hs.dispose();
    }
  });
});
