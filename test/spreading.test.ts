// Activation spreading on both backends against a float64 reference of DESIGN.md's rule written
// here from the raw edge list (not the library's CSR), on random graphs with power-law degrees,
// isolated nodes, self-loops, cycles, negative weights and parallel edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, HybridError, type Decay, type FanMode, type HybridEngine } from '../src/index.js';
import { poisonFreeMemory } from '../src/testing.js';
import { BACKENDS, requireGpuInCi, useEngine } from './gpu-setup.js';
import { rng } from './helpers.js';

requireGpuInCi();

interface TestGraph { nodeCount: number; from: Uint32Array; to: Uint32Array; weight: Float32Array; undirected: boolean }
interface Seeds { nodes: Uint32Array; values: Float32Array }
interface Options { maxHops: number; decay: Decay; threshold: number; fan: FanMode; maxActivation: number }

/** Power-law-ish degrees (node ids skewed towards 0), isolated tail, self-loops, a cycle, parallel edges. */
function randomGraph(nodeCount: number, edges: number, seed: number, undirected = false): TestGraph {
  const random = rng(seed);
  const from: number[] = [];
  const to: number[] = [];
  const weight: number[] = [];
  const live = Math.max(1, Math.floor(nodeCount * 0.95)); // the last 5% stay isolated
  const skewed = () => Math.min(live - 1, Math.floor(live * random() ** 3));
  for (let i = 0; i < edges; i++) {
    const u = random() < 0.5 ? skewed() : Math.floor(random() * live);
    const v = random() < 0.05 ? u : random() < 0.5 ? skewed() : Math.floor(random() * live);
    from.push(u); to.push(v); weight.push(random() * 2 - 1);
    if (random() < 0.03) { from.push(u); to.push(v); weight.push(random()); } // a parallel edge
  }
  for (let i = 0; i < Math.min(10, live); i++) { from.push(i); to.push((i + 1) % Math.min(10, live)); weight.push(0.9); } // a cycle
  return { nodeCount, from: Uint32Array.from(from), to: Uint32Array.from(to), weight: Float32Array.from(weight), undirected };
}

function randomSeeds(nodeCount: number, count: number, seed: number): Seeds {
  const random = rng(seed);
  const nodes = new Uint32Array(count).map(() => Math.floor(random() * nodeCount));
  if (count > 2) nodes[1] = nodes[0]!; // a duplicate: values add up
  const values = new Float32Array(count).map(() => random() * 1.6 - 0.3); // some negative, some > 1
  return { nodes, values };
}

function decayAt(decay: Decay, h: number): number {
  if (typeof decay === 'number') return decay;
  if (decay.kind === 'exponential') return Math.exp(-(decay.rate ?? 0.7) * h);
  if (decay.kind === 'power') return (h + 1) ** -decay.exponent;
  return Math.max(0, 1 - decay.slope * h);
}

/** The rule in float64; also the smallest distance of any |c| to the threshold (near ties). */
function reference(graph: TestGraph, seeds: Seeds, o: Options): { total: Float64Array; margin: number } {
  const n = graph.nodeCount;
  const src: number[] = [], dst: number[] = [], w: number[] = [];
  for (let i = 0; i < graph.from.length; i++) {
    src.push(graph.from[i]!); dst.push(graph.to[i]!); w.push(graph.weight[i]!);
    if (graph.undirected && graph.from[i] !== graph.to[i]) { src.push(graph.to[i]!); dst.push(graph.from[i]!); w.push(graph.weight[i]!); }
  }
  const out = new Float64Array(n);
  for (const u of src) out[u]!++;
  const fan = (u: number) => (o.fan === 'none' || out[u] === 0 ? 1 : o.fan === 'outDegree' ? out[u]! : Math.sqrt(out[u]!));
  let f = new Float64Array(n);
  for (let i = 0; i < seeds.nodes.length; i++) f[seeds.nodes[i]!]! += seeds.values[i]!;
  const clamp = (x: number) => Math.min(Math.max(x, 0), Math.fround(o.maxActivation));
  const total = f.map(clamp);
  const threshold = Math.fround(o.threshold);
  let margin = Infinity;
  for (let h = 1; h <= o.maxHops; h++) {
    const c = new Float64Array(n);
    for (let e = 0; e < src.length; e++) c[dst[e]!]! += f[src[e]!]! * w[e]! / fan(src[e]!);
    const d = Math.fround(decayAt(o.decay, h));
    const next = new Float64Array(n);
    let any = false;
    for (let v = 0; v < n; v++) {
      const value = d * c[v]!;
      // With threshold 0 nothing is ambiguous: every non-zero c is kept.
      if (value !== 0 && threshold > 0) margin = Math.min(margin, Math.abs(Math.abs(value) - threshold));
      if (Math.abs(value) >= threshold && value !== 0) { next[v] = value; any = true; total[v] = clamp(total[v]! + value); }
    }
    if (!any) break;
    f = next;
  }
  return { total, margin };
}

/**
 * A threshold with no |c| within 1e-5 of it in the reference, so that the f32 kernels and the
 * float64 reference cut the same nodes (a node on the edge would otherwise differ by the whole
 * threshold, and its neighbours after it). Nudged up a little until that holds.
 */
function settledOptions(graph: TestGraph, seedSets: Seeds[], o: Options): Options {
  let options = o;
  for (let attempt = 0; attempt < 40; attempt++) {
    if (seedSets.every((s) => reference(graph, s, options).margin >= 1e-5)) return options;
    options = { ...options, threshold: options.threshold * 1.0173 + 1e-6 };
  }
  throw new Error('no threshold without near ties');
}

function expectTotalsClose(actual: Float32Array, expected: Float64Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  let worst = 0, at = -1;
  for (let v = 0; v < expected.length; v++) {
    if (!Number.isFinite(actual[v]!)) throw new Error(`${label}: node ${v} is ${actual[v]}`);
    const error = Math.abs(actual[v]! - expected[v]!);
    if (error > worst) { worst = error; at = v; }
  }
  expect(worst, `${label}: worst at node ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThan(2e-5);
}

const base: Options = { maxHops: 4, decay: { kind: 'exponential', rate: 0.7 }, threshold: 0.01, fan: 'none', maxActivation: 1 };
const small = randomGraph(1000, 5000, 11);
const smallUndirected = randomGraph(1000, 3000, 12, true);
const large = randomGraph(200_000, 1_000_000, 13);

const cases: Array<{ name: string; graph: TestGraph; k: number; options: Options }> = [
  { name: '1k defaults, K 1', graph: small, k: 1, options: base },
  { name: '1k outDegree fan, K 3', graph: small, k: 3, options: { ...base, fan: 'outDegree' } },
  { name: '1k sqrtOutDegree fan, K 8', graph: small, k: 8, options: { ...base, fan: 'sqrtOutDegree' } },
  { name: '1k power decay, K 33, no threshold', graph: small, k: 33, options: { ...base, decay: { kind: 'power', exponent: 1.5 }, threshold: 0 } },
  { name: '1k linear decay, K 1', graph: small, k: 1, options: { ...base, decay: { kind: 'linear', slope: 0.2 } } },
  { name: '1k constant decay 0.8, K 3', graph: small, k: 3, options: { ...base, decay: 0.8, threshold: 0.05 } },
  { name: '1k exponential rate 0.3, no threshold, 6 hops', graph: small, k: 1, options: { ...base, decay: { kind: 'exponential', rate: 0.3 }, threshold: 0, maxHops: 6 } },
  { name: '1k threshold cuts everything', graph: small, k: 3, options: { ...base, threshold: 1e6 } },
  { name: '1k maxHops 0', graph: small, k: 3, options: { ...base, maxHops: 0 } },
  { name: '1k maxHops 1', graph: small, k: 8, options: { ...base, maxHops: 1 } },
  { name: '1k maxActivation 0.5, 50 hops (early stop)', graph: small, k: 1, options: { ...base, maxActivation: 0.5, maxHops: 50 } },
  { name: '1k undirected, outDegree, K 8', graph: smallUndirected, k: 8, options: { ...base, fan: 'outDegree' } },
  { name: '200k / 1M edges, K 1', graph: large, k: 1, options: { ...base, fan: 'sqrtOutDegree' } },
  // 200k nodes have too many activations near any threshold for f32 and f64 to cut the same
  // ones: these run with the cut off (threshold 0) and with one far above every activation.
  { name: '200k / 1M edges, K 8, no threshold', graph: large, k: 8, options: { ...base, decay: { kind: 'power', exponent: 1 }, threshold: 0 } },
  { name: '200k / 1M edges, K 3, threshold above all', graph: large, k: 3, options: { ...base, fan: 'outDegree', threshold: 50 } },
];

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  let hs!: HybridEngine;
  useEngine(name, skip, (engine) => { hs = engine; });

  describe.skipIf(skip)('spreading against the float64 rule', () => {
    it.each(cases)('$name', async ({ graph, k, options }) => {
      const seedSets = Array.from({ length: k }, (_, j) => randomSeeds(graph.nodeCount, 5 + j, 100 + j + graph.nodeCount));
      const o = settledOptions(graph, seedSets, options);
      const g = hs.createGraph(graph);
      poisonFreeMemory(hs);
      if (k === 1) {
        const totals = await hs.spreadActivation(g, { seeds: seedSets[0]!, ...o, backend });
        expectTotalsClose(totals, reference(graph, seedSets[0]!, o).total, 'K 1');
      }
      const batch = await hs.spreadActivationBatch(g, { seedSets, ...o, backend });
      expect(batch.length).toBe(k);
      batch.forEach((totals, j) => expectTotalsClose(totals, reference(graph, seedSets[j]!, o).total, `seed set ${j}`));
      g.dispose();
    });

    it('high in-degree nodes (the cooperative path) and isolated nodes', async () => {
      const n = 3000;
      const from: number[] = [], to: number[] = [], weight: number[] = [];
      const random = rng(5);
      for (let i = 0; i < 2000; i++) { from.push(1 + Math.floor(random() * 2000)); to.push(0); weight.push(random() * 0.2); } // node 0: in-degree 2000
      for (let i = 0; i < 300; i++) { from.push(i); to.push(2500); weight.push(0.5); } // node 2500: in-degree 300
      const graph: TestGraph = { nodeCount: n, from: Uint32Array.from(from), to: Uint32Array.from(to), weight: Float32Array.from(weight), undirected: false };
      const seeds = { nodes: Uint32Array.from({ length: 400 }, (_, i) => i + 1), values: new Float32Array(400).fill(0.3) };
      const o = settledOptions(graph, [seeds], { ...base, maxHops: 2, threshold: 0.001 });
      const g = hs.createGraph(graph);
      const totals = await hs.spreadActivation(g, { seeds, ...o, backend });
      expectTotalsClose(totals, reference(graph, seeds, o).total, 'heavy');
      expect(totals[2999]).toBe(0); // isolated, not seeded
      g.dispose();
    });
  });
});

describe('graph and spreading inputs', () => {
  let hs: HybridEngine;
  beforeAll(async () => { hs = await createHybrid({ gpu: null }); });
  afterAll(async () => { await hs.dispose(); });
  const edges = { nodeCount: 4, from: new Uint32Array([0, 1, 1]), to: new Uint32Array([1, 2, 1]) };

  it('counts stored edges: undirected doubles u-v and keeps self-loops once', () => {
    expect(hs.createGraph(edges).edgeCount).toBe(3);
    const g = hs.createGraph({ ...edges, undirected: true });
    expect(g.edgeCount).toBe(5);
    expect(g.nodeCount).toBe(4);
    expect(Array.from(g.outDegree)).toEqual([1, 3, 1, 0]);
  });

  it.each([
    ['node id out of range', () => hs.createGraph({ ...edges, to: new Uint32Array([1, 2, 4]) }), 'UNKNOWN_NODE', /edge 2: to\[2\] = 4/],
    ['lengths differ', () => hs.createGraph({ ...edges, to: new Uint32Array([1, 2]) }), 'DIMENSION_MISMATCH', /from has 3 edges, to has 2/],
    ['NaN weight', () => hs.createGraph({ ...edges, weight: new Float32Array([1, NaN, 1]) }), 'NON_FINITE', /edge 1: weight\[1\] is NaN/],
    ['weight length', () => hs.createGraph({ ...edges, weight: new Float32Array(2) }), 'DIMENSION_MISMATCH', /weight has 2 values for 3 edges/],
    ['nodeCount 0', () => hs.createGraph({ ...edges, nodeCount: 0 }), 'INVALID_ARGUMENT', /nodeCount must be an integer >= 1/],
    ['from as an array', () => hs.createGraph({ ...edges, from: [0, 1, 1] as unknown as Uint32Array }), 'INVALID_ARGUMENT', /from must be a Uint32Array/],
    ['unknown field', () => hs.createGraph({ ...edges, directed: true } as never), 'INVALID_ARGUMENT', /graph.directed is not a known field/],
  ])('%s', (_name, call, code, message) => {
    expect(call).toThrow(message);
    try { call(); } catch (error) { expect((error as HybridError).code).toBe(code); }
  });

  it.each([
    ['an unknown seed node', { seeds: { nodes: new Uint32Array([9]), values: new Float32Array([1]) } }, 'UNKNOWN_NODE', /seeds.nodes\[0\] = 9 is not a node/],
    ['a non-finite seed value', { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([Infinity]) } }, 'NON_FINITE', /seeds.values\[0\] is Infinity/],
    ['seed lengths differ', { seeds: { nodes: new Uint32Array([1, 2]), values: new Float32Array([1]) } }, 'DIMENSION_MISMATCH', /2 nodes but 1 values/],
    ['no seeds', {}, 'INVALID_ARGUMENT', /options.seeds is required/],
    ['maxHops -1', { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, maxHops: -1 }, 'INVALID_ARGUMENT', /maxHops must be an integer/],
    ['bad decay kind', { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, decay: { kind: 'cubic' } }, 'INVALID_ARGUMENT', /decay.kind must be/],
    ['power without exponent', { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, decay: { kind: 'power' } }, 'INVALID_ARGUMENT', /decay.exponent must be a finite number/],
    ['bad fan', { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, fan: 'inDegree' }, 'INVALID_ARGUMENT', /fan must be/],
    ['negative threshold', { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, threshold: -1 }, 'INVALID_ARGUMENT', /threshold must be/],
  ])('spreadActivation with %s', async (_name, options, code, message) => {
    const g = hs.createGraph(edges);
    await expect(hs.spreadActivation(g, options as never)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    g.dispose();
  });

  it('an empty batch, a disposed graph and another engine\'s graph are errors', async () => {
    const g = hs.createGraph(edges);
    await expect(hs.spreadActivationBatch(g, { seedSets: [] })).rejects.toMatchObject({ code: 'EMPTY_INPUT' });
    g.dispose();
    await expect(hs.spreadActivation(g, { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) } }))
      .rejects.toMatchObject({ code: 'DISPOSED' });
    const other = await createHybrid({ gpu: null });
    const foreign = other.createGraph(edges);
    await expect(hs.spreadActivation(foreign, { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) } }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await other.dispose();
  });

  it('spreading is routed as `spreading` (batch = nodes x seed sets, minimum 512)', async () => {
    const g = hs.createGraph(edges);
    await hs.spreadActivationBatch(g, { seedSets: [{ nodes: new Uint32Array([1]), values: new Float32Array([1]) }] });
    expect(hs.stats().operations.spreading.decisions).toEqual({ 'no-gpu': 1 });
    expect(hs.stats().operations.spreading.cpu.calls).toBe(1);
    g.dispose();
  });
});
