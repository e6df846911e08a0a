// Reading a call's sparse totals out of WASM memory (asm/spread.ts): listTotalsSets, every seed
// set in one pass, against a JS model and against listTotals one set at a time (which the K = 1
// calls and its fallback use), from a node list with duplicates (the `ever` list) and from every
// node, with K from 2 to 17 (padding columns), totals that are -0, NaN-free poison in the padding
// columns, and output room that is too small (it must then say -1). And the seed staging's entry
// order (src/spreading/seeds.ts, entryOrder): packed float64 keys and the comparator give the
// same order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine } from '../src/index.js';
import { entryOrder, stageSeeds } from '../src/spreading/seeds.js';
import { memoryOf, poisonFreeMemory } from '../src/testing.js';
import { rng } from './helpers.js';

let hs: HybridEngine;
beforeAll(async () => { hs = await createHybrid({ gpu: null, cpuThreads: 1 }); });
afterAll(async () => { await hs.dispose(); });

/** Set j's expected entries: the listed (or all) nodes once each, ascending, whose column j is not 0. */
function model(total: Float32Array, n: number, cols: number, j: number, list: Uint32Array | null) {
  const nodes = [...new Set(list ?? Array.from({ length: n }, (_, v) => v))].sort((a, b) => a - b)
    .filter((v) => total[v * cols + j] !== 0);
  return { nodes, bits: nodes.map((v) => new Uint32Array(Float32Array.of(total[v * cols + j]!).buffer)[0]!) };
}

describe('listTotalsSets: every seed set in one pass', () => {
  const cases = [
    { n: 1, k: 2, listed: 1 }, { n: 37, k: 3, listed: 50 }, { n: 500, k: 16, listed: 300 },
    { n: 1000, k: 17, listed: 0 }, { n: 3000, k: 5, listed: 2500 }, { n: 257, k: 8, listed: 0 },
  ];
  it.each(cases)('n $n, K $k, $listed listed (0: every node)', ({ n, k, listed }) => {
    const random = rng(n * 31 + k);
    const cols = Math.ceil(k / 4) * 4;
    const { arena, kernels } = memoryOf(hs);
    poisonFreeMemory(hs);
    const blocks: number[] = [];
    const alloc = (bytes: number) => { const p = arena.alloc(Math.max(16, bytes)); blocks.push(p); return p; };
    try {
      const total = alloc(n * cols * 4);
      const list = listed ? alloc(listed * 4) : 0;
      const [unique, nodes, values, tmp, sizes] = [n, n, n, n, 2 * k].map((len) => alloc(len * 4)) as [number, number, number, number, number];
      const marks = alloc(Math.ceil(n / 32) * 4);
      const counts = alloc(1024);
      const bits = Math.max(1, 32 - Math.clz32(n - 1));
      // Totals: a third of the entries 0, some -0 (not listed), the rest any non-zero f32; the
      // padding columns hold garbage that must never be listed.
      const t = new Float32Array(n * cols);
      for (let v = 0; v < n; v++) {
        for (let c = 0; c < cols; c++) {
          const r = random();
          t[v * cols + c] = c >= k ? 1e30 : r < 0.33 ? 0 : r < 0.4 ? -0 : (random() - 0.3) * 10;
        }
      }
      const ids = Uint32Array.from({ length: listed }, () => Math.floor(random() * n));
      const run = (room: number) => {
        arena.f32.set(t, total >>> 2);
        if (listed) arena.u32.set(ids, list >>> 2);
        arena.u32.fill(0, marks >>> 2, (marks >>> 2) + Math.ceil(n / 32));
        return kernels.listTotalsSets(total, list, listed || n, cols, k, unique, nodes, values, sizes, room, marks, tmp, counts, bits);
      };
      const want = Array.from({ length: k }, (_, j) => model(t, n, cols, j, listed ? ids : null));
      const pairs = want.reduce((sum, w) => sum + w.nodes.length, 0);
      expect(run(n)).toBe(pairs <= n ? pairs : -1);
      if (pairs <= n) {
        for (let j = 0; j < k; j++) {
          const size = arena.u32[(sizes >>> 2) + j]!;
          const start = arena.u32[(sizes >>> 2) + k + j]!;
          expect(size, `set ${j}: count`).toBe(want[j]!.nodes.length);
          expect(Array.from(arena.u32.subarray((nodes >>> 2) + start, (nodes >>> 2) + start + size)), `set ${j}: nodes`).toEqual(want[j]!.nodes);
          expect(Array.from(arena.u32.subarray((values >>> 2) + start, (values >>> 2) + start + size)), `set ${j}: value bits`).toEqual(want[j]!.bits);
        }
      }
      // Too little room: -1, and the marks are left zero for the next call.
      if (pairs > 0) {
        expect(run(pairs - 1)).toBe(-1);
        expect(arena.u32.subarray(marks >>> 2, (marks >>> 2) + Math.ceil(n / 32)).every((w) => w === 0)).toBe(true);
      }
      // listTotals, one set at a time, lists the same.
      for (let j = 0; j < k; j++) {
        arena.u32.fill(0, marks >>> 2, (marks >>> 2) + Math.ceil(n / 32));
        if (listed) arena.u32.set(ids, list >>> 2);
        const got = kernels.listTotals(total, list, listed || n, cols, j, nodes, values, marks, tmp, counts, bits);
        expect(Array.from(arena.u32.subarray(nodes >>> 2, (nodes >>> 2) + got)), `listTotals set ${j}`).toEqual(want[j]!.nodes);
      }
    } finally {
      for (const p of blocks) arena.free(p);
    }
  });

  it('through the public API: 16 sets whose entries overflow the room, and 16 that fit, match the dense result', async () => {
    // n = 4000: nodes 0-1999 a random graph (three out-edges each), 2000-3999 a chain. 16
    // identical seed sets in the random part light the same ~300 nodes (more entries than n: the per-set
    // fallback); 16 distinct sets along the chain light a few nodes each (one packed pass).
    const n = 4000;
    const from: number[] = [], to: number[] = [], weight: number[] = [];
    const random = rng(11);
    for (let u = 0; u < 2000; u++) for (let d = 0; d < 3; d++) { from.push(u); to.push(Math.floor(random() * 2000)); weight.push(0.5); }
    for (let u = 2000; u + 1 < n; u++) { from.push(u); to.push(u + 1); weight.push(0.9); }
    const graph = hs.createGraph({ nodeCount: n, from: Uint32Array.from(from), to: Uint32Array.from(to), weight: Float32Array.from(weight) });
    try {
      const seed = (u: number) => ({ nodes: Uint32Array.of(u), values: Float32Array.of(1) });
      const o = { maxHops: 5, threshold: 0.001, decay: 1 } as const;
      for (const seedSets of [Array.from({ length: 16 }, () => seed(5)), Array.from({ length: 16 }, (_, j) => seed(2000 + j * 120))]) {
        const dense = await hs.spreadActivationBatch(graph, { seedSets, ...o });
        const sparse = await hs.spreadActivationBatch(graph, { seedSets, ...o, output: 'sparse' });
        let entries = 0;
        dense.forEach((column, j) => {
          const nodes = [...column.keys()].filter((v) => column[v] !== 0);
          entries += nodes.length;
          expect(nodes.length, `set ${j}: some nodes active`).toBeGreaterThan(3);
          expect(Array.from(sparse[j]!.nodes), `set ${j}: nodes`).toEqual(nodes);
          expect(Array.from(sparse[j]!.values), `set ${j}: values`).toEqual(nodes.map((v) => column[v]));
        });
        const identical = seedSets[1]!.nodes[0] === 5;
        expect(identical ? entries > n : entries <= n, `${entries} entries: the identical sets overflow n, the distinct ones fit`).toBe(true);
      }
    } finally {
      graph.dispose();
    }
  });
});

describe('seed staging: entry order', () => {
  it.each([0, 1, 2, 17, 300, 5000])('%i entries: packed keys and the comparator agree (ties by position)', (count) => {
    const random = rng(count + 3);
    const node = Uint32Array.from({ length: count }, () => (random() < 0.5 ? Math.floor(random() * 8) : Math.floor(random() * 2 ** 32)));
    const want = Array.from({ length: count }, (_, i) => i).sort((a, b) => (node[a]! - node[b]!) || (a - b));
    for (const limit of [2 ** 21, 1]) {
      const order = new Uint32Array(count + 4).fill(0xdeadbeef);
      entryOrder(node, count, new Float64Array(count + 4), order, limit);
      expect(Array.from(order.subarray(0, count)), `limit ${limit}`).toEqual(want);
    }
  });
});

describe('seed staging: a few seeds per set (sparse rows, working arrays kept between calls)', () => {
  /** Float64 sums per node in input order (set by set, then position), rounded once; all-zero rows left out. */
  function reference(sets: { nodes: Uint32Array; values: Float32Array }[], cols: number) {
    const rows = new Map<number, Float64Array>();
    sets.forEach(({ nodes, values }, j) => nodes.forEach((u, i) => {
      let row = rows.get(u);
      if (!row) rows.set(u, (row = new Float64Array(cols)));
      row[j] = row[j]! + values[i]!;
    }));
    const kept = [...rows].filter(([, r]) => r.some((x) => Math.fround(x) !== 0)).sort((a, b) => a[0] - b[0]);
    return { nodes: kept.map(([u]) => u), values: Float32Array.from(kept.flatMap(([, r]) => Array.from(r))) };
  }

  it('calls of growing and shrinking size and width give the reference, bit for bit', () => {
    const random = rng(19);
    const n = 1 << 21; // every call below has entries x 16 < n: the sparse rows
    const graph = { nodeCount: n, outDegree: Uint32Array.from({ length: n }, (_, u) => u % 7) } as Parameters<typeof stageSeeds>[0];
    // (sets, entries per set): K 1 to 64; entry counts around 64 and past the kept arrays' 65,536 floats.
    const shapes: Array<[number, number]> = [[1, 3], [16, 5], [1, 2000], [64, 30], [3, 1], [16, 300], [64, 1200], [1, 60_000], [4, 7], [16, 4100], [2, 0]];
    for (const [k, per] of shapes) {
      const cols = k === 1 ? 1 : Math.ceil(k / 4) * 4;
      const sets = Array.from({ length: k }, () => {
        // Nodes from a small range (duplicates within and across sets), values that cancel to 0 or are -0.
        const nodes = Uint32Array.from({ length: per }, () => Math.floor(random() * Math.max(8, per * 2)) * 7);
        const values = Float32Array.from({ length: per }, (_, i) => (i % 9 === 0 ? -0 : (random() - 0.5) * 4));
        if (per >= 2) { nodes[1] = nodes[0]!; values[1] = -values[0]!; }
        return { nodes, values };
      });
      const staged = stageSeeds(graph, sets, 'seedSets', cols);
      const want = reference(sets, cols);
      const label = `K ${k}, ${per} per set`;
      expect(Array.from(staged.nodes), `${label}: nodes`).toEqual(want.nodes);
      expect(Array.from(new Uint32Array(staged.values.buffer, staged.values.byteOffset, staged.values.length)), `${label}: value bits`)
        .toEqual(Array.from(new Uint32Array(want.values.buffer)));
      expect(staged.edges, `${label}: edges`).toBe(want.nodes.reduce((sum, u) => sum + (u % 7), 0));
    }
  });
});
