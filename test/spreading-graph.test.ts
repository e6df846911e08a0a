// The graph store of issue 16: both CSRs in the canonical order (checked against a sort written
// here), the canonical export and the rebuild from it (issue 15 saves and loads those), the
// radix passes and the frontier sort kernel against plain sorts, and the work estimate the router
// sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, HybridError, type HybridEngine } from '../src/index.js';
import { stableSortBy } from '../src/spreading/csr-build.js';
import { Graph, type CanonicalEdges } from '../src/spreading/graph.js';
import { estimatedWork } from '../src/spreading/strategy.js';
import { memoryOf } from '../src/testing.js';
import { engineFor, requireGpuInCi, runGpuTests } from './gpu-setup.js';
import { rng } from './helpers.js';
import { base, randomGraph, randomSeeds, type TestGraph } from './spreading-reference.js';

requireGpuInCi();

let hs: HybridEngine;
beforeAll(async () => { hs = await createHybrid({ gpu: null, cpuThreads: 1 }); });
afterAll(async () => { await hs.dispose(); });

/** The stored edges (directed, undirected ones doubled) in input order. */
function storedEdges(g: TestGraph): Array<{ u: number; v: number; w: number; i: number }> {
  const out: Array<{ u: number; v: number; w: number; i: number }> = [];
  for (let i = 0; i < g.from.length; i++) {
    out.push({ u: g.from[i]!, v: g.to[i]!, w: g.weight[i]!, i: out.length });
    if (g.undirected && g.from[i] !== g.to[i]) out.push({ u: g.to[i]!, v: g.from[i]!, w: g.weight[i]!, i: out.length });
  }
  return out;
}

/** A graph's blocks read back from WASM memory. */
function blocks(engine: HybridEngine, g: Graph) {
  const { u32, f32 } = memoryOf(engine).arena;
  const n = g.nodeCount, e = g.edgeCount;
  const read = (view: Uint32Array | Float32Array, ptr: number, count: number) => Array.from(view.subarray(ptr >>> 2, (ptr >>> 2) + count));
  return {
    inOffsets: read(u32, g.inOffsets, n + 1), inSources: read(u32, g.inSources, e), inWeights: read(f32, g.inWeights, e),
    outOffsets: read(u32, g.outOffsets, n + 1), outTargets: read(u32, g.outTargets, e), outWeights: read(f32, g.outWeights, e),
  };
}

describe('the two CSRs', () => {
  it.each([
    ['directed, power-law, parallel edges, self-loops', randomGraph(700, 4000, 3)],
    ['undirected', randomGraph(300, 1500, 4, true)],
    ['one node, one self-loop', { nodeCount: 1, from: Uint32Array.of(0), to: Uint32Array.of(0), weight: Float32Array.of(0.5), undirected: false }],
    ['no edges', { nodeCount: 5, from: new Uint32Array(0), to: new Uint32Array(0), weight: new Float32Array(0), undirected: false }],
    ['ids past one radix digit', { nodeCount: 70_000, from: Uint32Array.of(69_999, 3, 69_999, 256, 3), to: Uint32Array.of(2, 65_536, 2, 2, 65_536), weight: Float32Array.of(1, 2, 3, 4, 5), undirected: false }],
  ] as Array<[string, TestGraph]>)('%s: by target (ascending source, then input order) and by source (ascending target, then input order)', (_name, input) => {
    const g = hs.createGraph(input);
    const b = blocks(hs, g);
    const edges = storedEdges(input);
    const byTarget = [...edges].sort((x, y) => x.v - y.v || x.u - y.u || x.i - y.i);
    const bySource = [...edges].sort((x, y) => x.u - y.u || x.v - y.v || x.i - y.i);
    expect(b.inSources).toEqual(byTarget.map((x) => x.u));
    expect(b.inWeights).toEqual(byTarget.map((x) => x.w));
    expect(b.outTargets).toEqual(bySource.map((x) => x.v));
    expect(b.outWeights).toEqual(bySource.map((x) => x.w));
    const inDegree = new Array<number>(input.nodeCount).fill(0);
    const outDegree = new Array<number>(input.nodeCount).fill(0);
    for (const x of edges) { inDegree[x.v]!++; outDegree[x.u]!++; }
    expect(b.inOffsets.slice(1).map((o, v) => o - b.inOffsets[v]!)).toEqual(inDegree);
    expect(b.outOffsets.slice(1).map((o, v) => o - b.outOffsets[v]!)).toEqual(outDegree);
    expect(Array.from(g.outDegree)).toEqual(outDegree);
    g.dispose();
  });

  it('stableSortBy: sorted by the key, equal keys in their order, every digit pass', () => {
    const random = rng(8);
    for (const [n, e] of [[1, 3], [200, 1000], [5000, 20_000], [3_000_000, 2000]] as const) {
      const sources = Uint32Array.from({ length: e }, () => Math.floor(random() * n));
      const targets = Uint32Array.from({ length: e }, (_, i) => i); // the input position
      const weights = Float32Array.from({ length: e }, () => random());
      const copy = sources.slice();
      const sorted = stableSortBy({ sources, targets, weights }, 'sources', n);
      expect(Array.from(sources)).toEqual(Array.from(copy)); // the input is left alone
      const want = Array.from({ length: e }, (_, i) => i).sort((a, b) => sources[a]! - sources[b]! || a - b);
      expect(Array.from(sorted.targets)).toEqual(want);
      expect(Array.from(sorted.sources)).toEqual(want.map((i) => sources[i]!));
      expect(Array.from(sorted.weights)).toEqual(want.map((i) => weights[i]!));
    }
  });
});

describe('canonical edges: export and rebuild (for saving and loading graphs)', () => {
  it('a rebuilt graph has the same CSRs and gives the same bits', async () => {
    const input = randomGraph(2000, 12_000, 17, true);
    const g = hs.createGraph(input);
    const edges = g.canonicalEdges();
    expect(edges.nodeCount).toBe(2000);
    expect(edges.offsets.length).toBe(2001);
    expect(edges.sources.length).toBe(g.edgeCount);
    const rebuilt = Graph.fromCanonical(memoryOf(hs), edges, () => undefined);
    expect(blocks(hs, rebuilt)).toEqual(blocks(hs, g));
    expect(Array.from(rebuilt.outDegree)).toEqual(Array.from(g.outDegree));
    // Spread through the engine with a graph it made, and through the backend with the rebuilt one.
    const seeds = randomSeeds(2000, 6, 5);
    const o = { ...base, fan: 'outDegree' as const, threshold: 0.001 };
    const want = await hs.spreadActivation(g, { seeds, ...o });
    const cpu = (hs as unknown as { cpu: { spreadNow(job: unknown): { totals: Float32Array[] } } }).cpu;
    const decays = [1, 2, 3, 4].map((h) => Math.fround(Math.exp(-0.7 * h)));
    const { stageSeeds } = await import('../src/spreading/seeds.js');
    const job = (graph: Graph) => ({ graph, k: 1, cols: 1, seeds: stageSeeds(graph, [seeds], 'seeds', 1), decays,
      threshold: Math.fround(0.001), maxActivation: 1, fan: 'outDegree', strategy: 'auto' });
    const a = cpu.spreadNow(job(rebuilt)).totals[0]!;
    const b = cpu.spreadNow(job(g)).totals[0]!;
    expect(Array.from(new Uint32Array(a.buffer))).toEqual(Array.from(new Uint32Array(b.buffer)));
    expect(Array.from(new Uint32Array(b.buffer))).toEqual(Array.from(new Uint32Array(want.buffer)));
    rebuilt.dispose();
    g.dispose();
  });

  it.each([
    ['offsets of the wrong length', (e: CanonicalEdges) => ({ ...e, offsets: e.offsets.subarray(1) }), /offsets must be a Uint32Array of nodeCount \+ 1/],
    ['offsets going down', (e: CanonicalEdges) => { const o = e.offsets.slice(); o[2] = o[3]! + 1; return { ...e, offsets: o }; }, /offsets\[\d+\] < offsets\[\d+\]|must run from 0/],
    ['a source out of range', (e: CanonicalEdges) => { const s = e.sources.slice(); s[0] = 99; return { ...e, sources: s }; }, /sources\[0\] = 99 is not a node/],
    ['sources not ascending', (e: CanonicalEdges) => ({ ...e, sources: Uint32Array.of(0, 2, 1, 0) }), /sources are not ascending/],
    ['a NaN weight', (e: CanonicalEdges) => { const w = e.weights.slice(); w[1] = Number.NaN; return { ...e, weights: w }; }, /weights\[1\] is NaN/],
    ['weights of the wrong length', (e: CanonicalEdges) => ({ ...e, weights: e.weights.subarray(1) }), /weights must be a Float32Array of 4/],
  ])('rejects %s', (_name, corrupt, message) => {
    const g = hs.createGraph({ nodeCount: 4, from: Uint32Array.of(0, 1, 2, 3), to: Uint32Array.of(3, 3, 3, 3) });
    const good = g.canonicalEdges();
    expect(Array.from(good.sources)).toEqual([0, 1, 2, 3]);
    const call = () => Graph.fromCanonical(memoryOf(hs), corrupt(good), () => undefined);
    expect(call).toThrow(HybridError);
    expect(call).toThrow(message);
    g.dispose();
  });
});

describe('the frontier sort kernel', () => {
  it.each([0, 1, 2, 63, 64, 65, 1000, 50_000])('sorts %i node ids (insertion and radix paths)', (count) => {
    const { arena, kernels } = memoryOf(hs);
    const random = rng(count + 1);
    for (const bits of [1, 8, 9, 17, 31]) {
      const ids = Uint32Array.from({ length: count }, () => Math.floor(random() * 2 ** bits) >>> 0);
      const list = arena.alloc(Math.max(4, count * 4)), tmp = arena.alloc(Math.max(4, count * 4)), counts = arena.alloc(1024);
      arena.poisonFree(Number.NaN);
      arena.u32.set(ids, list >>> 2);
      kernels.sortNodes(list, count, tmp, counts, bits);
      expect(Array.from(arena.u32.subarray(list >>> 2, (list >>> 2) + count))).toEqual(Array.from(ids).sort((a, b) => a - b));
      for (const ptr of [counts, tmp, list]) arena.free(ptr);
    }
  });
});

describe('the router sees the estimated work', () => {
  it('estimatedWork: the seeds\' edges growing by the mean degree, each hop capped at a pull, times the sets', () => {
    const sizes = { nodeCount: 1000, edgeCount: 4000 };
    expect(estimatedWork(sizes, 10, 3, 1)).toBe(10 + 40 + 160);
    expect(estimatedWork(sizes, 10, 3, 4)).toBe(4 * 210);
    expect(estimatedWork(sizes, 3000, 2, 1)).toBe(3000 + 5000);
    expect(estimatedWork(sizes, 0, 4, 1)).toBe(1);
    expect(estimatedWork(sizes, 5, 0, 2)).toBe(1);
  });

  it.skipIf(!runGpuTests)('a call on many nodes whose frontier touches little goes to the CPU (below-min-batch)', async () => {
    const gpu = await engineFor('gpu');
    try {
      // 5000 nodes (nodes x sets >= 512), but the seed has 1 edge out and the mean degree is 1.
      const n = 5000;
      const g = gpu.createGraph({ nodeCount: n, from: Uint32Array.from({ length: n }, (_, i) => i), to: Uint32Array.from({ length: n }, (_, i) => (i + 1) % n) });
      await gpu.spreadActivation(g, { seeds: { nodes: Uint32Array.of(7), values: Float32Array.of(1) } });
      expect(gpu.stats().operations.spreading.decisions).toEqual({ 'below-min-batch': 1 });
      const all = { nodes: Uint32Array.from({ length: n }, (_, i) => i), values: new Float32Array(n).fill(1) };
      await gpu.spreadActivation(g, { seeds: all });
      expect(gpu.stats().operations.spreading.decisions['below-min-batch']).toBe(1);
      g.dispose();
    } finally {
      await gpu.dispose();
    }
  });
});

describe('the bench\'s semantic-network generator', () => {
  it('builds exactly the edges asked for, small graphs too (6000 / 20000 used to never return)', async () => {
    const { semanticGraph } = await import('../src/bench/semantic-graph.js');
    for (const [nodes, edges] of [[6000, 20_000], [1000, 1000], [1000, 500], [9, 5], [1, 5], [3, 0]] as const) {
      const { input, outDegree } = semanticGraph(nodes, edges);
      expect(input.from.length, `${nodes} / ${edges}`).toBe(edges);
      expect(outDegree.reduce((a, b) => a + b, 0)).toBe(edges);
      for (let e = 0; e < edges; e++) expect(input.from[e]! < nodes && input.to[e]! < nodes).toBe(true);
    }
  });
});
