// The pull hop kernel (asm/spread.ts, spreadHopPull) called directly, in each of its modes: 0
// (gNext zero on entry, g' stored where f' is not 0), GNEXT_DIRTY (gNext stale on entry: every row
// written), DROP_G (the last hop: g' not stored, gNext left zero) and both. Every mode must give the
// same totals, list and counts, bit for bit, as an f32 emulation in JS (Math.fround after every
// operation, each node's incoming edges added one after another in order from +0), over node ranges
// that start and end anywhere, in-degrees 0 to 40 (every remainder of the kernel's four-edge steps),
// K = 1 and K > 1 columns; stale gNext contents are poison (NaN and garbage) so that a row left
// unwritten shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine } from '../src/index.js';
import { memoryOf, poisonFreeMemory } from '../src/testing.js';
import { rng } from './helpers.js';

const GNEXT_DIRTY = 1;
const DROP_G = 2;

let hs: HybridEngine;
beforeAll(async () => { hs = await createHybrid({ gpu: null, cpuThreads: 1 }); });
afterAll(async () => { await hs.dispose(); });

/** A graph stored by target (sources ascending per target, parallel edges kept) and by source (degrees only). */
function pullGraph(n: number, seed: number) {
  const random = rng(seed);
  const offsets = new Uint32Array(n + 1);
  const sources: number[] = [];
  const weights: number[] = [];
  const outDegree = new Uint32Array(n);
  for (let v = 0; v < n; v++) {
    // In-degrees 0..40, most small; a few nodes with none.
    const degree = random() < 0.1 ? 0 : random() < 0.2 ? 20 + Math.floor(random() * 21) : Math.floor(random() * 12);
    const from = Array.from({ length: degree }, () => Math.floor(random() * n)).sort((a, b) => a - b);
    for (const u of from) {
      sources.push(u);
      weights.push(random() < 0.15 ? -0.3 : Math.fround(0.2 + random()));
      outDegree[u]!++;
    }
    offsets[v + 1] = sources.length;
  }
  const outOffsets = new Uint32Array(n + 1);
  for (let u = 0; u < n; u++) outOffsets[u + 1] = outOffsets[u]! + outDegree[u]!;
  const fanInverse = Float32Array.from(outDegree, (d) => (d ? 1 / d : 0));
  return { offsets, sources: Uint32Array.from(sources), weights: Float32Array.from(weights), outOffsets, fanInverse };
}

type PullGraph = ReturnType<typeof pullGraph>;

/** The hop in JS, f32 after every operation: totals, g' (0 where f' is 0), the listed nodes, counts. */
function emulate(graph: PullGraph, g: Float32Array, total: Float32Array, first: number, end: number, cols: number,
  decay: number, threshold: number, maxActivation: number, listCap: number) {
  const f = Math.fround;
  decay = f(decay); // the kernel takes f32 arguments
  threshold = f(threshold);
  const t = total.slice();
  const gNext = new Float32Array(g.length);
  const list: number[] = [];
  let kept = 0, edges = 0, setEdges = 0;
  for (let v = first; v < end; v++) {
    let sets = 0;
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let e = graph.offsets[v]!; e < graph.offsets[v + 1]!; e++) sum = f(sum + f(g[graph.sources[e]! * cols + c]! * graph.weights[e]!));
      const x = f(decay * sum);
      const next = Math.abs(x) >= threshold ? x : 0;
      if (next === 0) continue;
      sets++;
      t[v * cols + c] = Math.min(Math.max(f(t[v * cols + c]! + next), 0), maxActivation);
      gNext[v * cols + c] = f(next * graph.fanInverse[v]!);
    }
    if (sets === 0) continue;
    if (kept < listCap) list.push(v);
    kept++;
    const degree = graph.outOffsets[v + 1]! - graph.outOffsets[v]!;
    edges += degree;
    setEdges += degree * sets;
  }
  return { total: t, gNext, list, kept, edges, setEdges };
}

function expectSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect.fail(`${label}: element ${i} is ${actual[i]} (0x${a[i]!.toString(16)}), want ${expected[i]} (0x${b[i]!.toString(16)})`);
  }
}

describe('spreadHopPull: every mode the same bits as an f32 emulation', () => {
  it.each([1, 4, 8])('cols %i', (cols) => {
    const n = 403;
    const graph = pullGraph(n, 5 + cols);
    const { arena, kernels } = memoryOf(hs);
    const random = rng(100 + cols);
    const k = cols === 1 ? 1 : cols - 1; // a padding column stays 0
    // g: about half the nodes active, some columns zero; the padding column zero.
    const g = new Float32Array(n * cols);
    for (let u = 0; u < n; u++) {
      if (random() < 0.5) continue;
      for (let c = 0; c < k; c++) if (random() < 0.8) g[u * cols + c] = Math.fround(random() * 2 - 0.5);
    }
    const total0 = Float32Array.from({ length: n * cols }, (_, i) => (i % cols < k && random() < 0.5 ? Math.fround(random()) : 0));
    const blocks: number[] = [];
    const put = (data: Uint32Array | Float32Array) => {
      const ptr = arena.alloc(Math.max(16, data.byteLength));
      blocks.push(ptr);
      (data instanceof Uint32Array ? arena.u32 : arena.f32).set(data, ptr >>> 2);
      return ptr;
    };
    try {
      const inOffsets = put(graph.offsets), inSources = put(graph.sources), inWeights = put(graph.weights);
      const outOffsets = put(graph.outOffsets), fanInverse = put(graph.fanInverse), gPtr = put(g);
      const gNext = put(new Float32Array(n * cols)), total = put(new Float32Array(n * cols));
      const list = put(new Uint32Array(n)), info = put(new Uint32Array(4));
      const stale = Float32Array.from({ length: n * cols }, (_, i) => (i % 3 === 0 ? Number.NaN : i % 3 === 1 ? -0 : Math.fround(random() * 9 - 3)));
      for (const [first, end] of [[0, n], [0, 1], [4, n - 3], [n - 1, n], [17, 17]] as const) {
        for (const threshold of [0, 0.05]) {
          const listCap = (first * 7 + 3) % 40; // lists cut short, and some not
          const want = emulate(graph, g, total0, first, end, cols, 0.6, threshold, 1, listCap);
          for (const mode of [0, GNEXT_DIRTY, DROP_G, GNEXT_DIRTY | DROP_G]) {
            const label = `cols ${cols}, nodes [${first}, ${end}), threshold ${threshold}, mode ${mode}`;
            arena.f32.set(mode & GNEXT_DIRTY ? stale : new Float32Array(n * cols), gNext >>> 2);
            arena.f32.set(total0, total >>> 2);
            arena.u32.fill(0xdeadbeef, list >>> 2, (list >>> 2) + n);
            const kept = kernels.spreadHopPull(inOffsets, inSources, inWeights, outOffsets, fanInverse, gPtr, gNext, total,
              first, end, cols, 0.6, threshold, 1, list + first * 4, listCap, info, mode);
            expect(kept, `${label}: kept`).toBe(want.kept);
            expect(Array.from(arena.u32.subarray((list >>> 2) + first, (list >>> 2) + first + Math.min(kept, listCap))), `${label}: list`).toEqual(want.list);
            if (cols > 1) expect([arena.u32[info >>> 2], arena.u32[(info >>> 2) + 1]], `${label}: info`).toEqual([want.edges, want.setEdges]);
            expectSameBits(arena.f32.slice(total >>> 2, (total >>> 2) + n * cols), want.total, `${label}: total`);
            // g' inside the range (or zeros when dropped); outside it, what was there before.
            const before = mode & GNEXT_DIRTY ? stale : new Float32Array(n * cols);
            const expected = before.slice();
            expected.set((mode & DROP_G ? new Float32Array(n * cols) : want.gNext).subarray(first * cols, end * cols), first * cols);
            expectSameBits(arena.f32.slice(gNext >>> 2, (gNext >>> 2) + n * cols), expected, `${label}: gNext`);
          }
        }
      }
    } finally {
      for (const ptr of blocks) arena.free(ptr);
    }
  });
});

describe('many seeds (one row per node, listed by compactSeedRows): the clamped sums, bit for bit', () => {
  it.each([1, 3, 6])('K %i', async (k) => {
    // maxHops 0 returns the seeds: float64 sums of each set's values per node, rounded to f32 once,
    // clamped to [0, maxActivation]. Duplicates, pairs that cancel to exactly 0, zero values, nodes
    // in some sets only; free memory poisoned (the sums block is not zeroed: rows are, as first seen).
    const n = 5000;
    const graph = hs.createGraph({ nodeCount: n, from: Uint32Array.from([0, 1, 2]), to: Uint32Array.from([1, 2, 3]) });
    try {
      for (let call = 0; call < 3; call++) {
        const random = rng(300 + 10 * k + call);
        const sets = Array.from({ length: k }, (_, j) => {
          const nodes: number[] = [], values: number[] = [];
          for (let i = 0; i < 1200 + 200 * j; i++) {
            const u = Math.floor(random() * n) % (n - 7 * j);
            const x = Math.fround(random() * 3 - 1);
            nodes.push(u); values.push(x);
            if (i % 17 === 0) { nodes.push(u); values.push(-x); } // cancels exactly
            if (i % 29 === 0) { nodes.push(u); values.push(0); }
          }
          return { nodes: Uint32Array.from(nodes), values: Float32Array.from(values) };
        });
        poisonFreeMemory(hs);
        const got = await hs.spreadActivationBatch(graph, { seedSets: sets, maxHops: 0, maxActivation: 1.5 });
        sets.forEach((set, j) => {
          const sums = new Float64Array(n);
          for (let i = 0; i < set.nodes.length; i++) sums[set.nodes[i]!]! += set.values[i]!;
          const want = Float32Array.from(sums, (x) => Math.min(Math.max(Math.fround(x), 0), Math.fround(1.5)));
          expectSameBits(got[j]!, want, `K ${k}, call ${call}, set ${j}`);
        });
      }
    } finally {
      graph.dispose();
    }
  });
});
