// Activation spreading on both backends against a float64 reference of DESIGN.md's rule written
// from the raw edge list (not the library's CSR; test/spreading-reference.ts, shared with the
// browser page), on random graphs with power-law degrees, isolated nodes, self-loops, cycles,
// negative weights and parallel edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, HybridError, type HybridEngine } from '../src/index.js';
import { poisonFreeMemory } from '../src/testing.js';
import { BACKENDS, requireGpuInCi, useEngine } from './gpu-setup.js';
import { rng } from './helpers.js';
import {
  base, expectTotalsClose, reference, runSpreadingCase, settledOptions, SPREADING_CASES, type TestGraph,
} from './spreading-reference.js';

requireGpuInCi();

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  let hs!: HybridEngine;
  useEngine(name, skip, (engine) => { hs = engine; });

  describe.skipIf(skip)('spreading against the float64 rule', () => {
    it.each(SPREADING_CASES)('$name', async (c) => {
      await runSpreadingCase(c, hs, backend, () => poisonFreeMemory(hs));
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
