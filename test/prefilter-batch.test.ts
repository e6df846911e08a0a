// Batched top-k (asm/prefilter-batch.ts, asm/batch-dots.ts): every batch path and every int8 bound
// kernel of the kernels module running here (baseline; the relaxed-SIMD module in the
// `relaxed-simd` test project, vitest.config.ts) must give each query of a batch exactly its single
// search's answer, bit for bit (prefilter.test.ts pins single searches to the exact scan), for every
// metric and dtype, across segments, removed rows and filters, at awkward batch sizes and on one
// thread or split; the bound kernels' integer dots must equal the exact dot products on extreme
// values and awkward lengths; and their bounds must hold row by row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefilterGamma } from '../src/cpu/store-calls.js';
import { boundKernelsOf, BOUND_KERNEL_CODE } from '../src/cpu/strategy.js';
import { createHybrid, type BoundKernel, type CpuStrategyConfig, type HybridEngine, type IndexDtype, type Metric, type VectorIndex } from '../src/index.js';
import type { Segment } from '../src/store/segment.js';
import { cpuOf, memoryOf, poisonFreeMemory, resetStoreLimits, setStoreLimits } from '../src/testing.js';
import { expectSameValues, MS, randomMatrix, rng } from './helpers.js';

/** The kernels module this process runs (the relaxed-simd project passes the flag). */
let module: 'relaxed' | 'baseline';

/** Each batch path of the strategy, forced, plus the int8 batch split across threads. */
function paths(): Array<{ name: string; strategy: Partial<CpuStrategyConfig>; split?: boolean }> {
  return [
    ...boundKernelsOf(module).map((kernel) => ({ name: `int8-batch/${kernel}`, strategy: { boundKernel: kernel, batchKernel: 'int8-batch' as const } })),
    { name: 'per-query', strategy: { batchKernel: 'per-query' } },
    { name: 'f32-matrix', strategy: { batchKernel: 'f32-matrix' } },
    { name: 'int8-batch/winograd, split', strategy: { boundKernel: 'winograd', batchKernel: 'int8-batch' }, split: true },
  ];
}

const engines = new Map<string, HybridEngine>();
let reference: HybridEngine;
beforeAll(async () => {
  // Segments of 8192 f32 rows at dim 64, so that several segments each keep a prefilter.
  setStoreLimits({ segmentBytes: 8192 * 64 * 4 });
  reference = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
  module = reference.info().cpu.kernels;
  for (const path of paths()) {
    const engine = await createHybrid({ gpu: null, cpuStrategy: path.strategy, ...(path.split ? {} : { cpuThreads: 1, offMainThread: false }) });
    if (path.split) cpuOf(engine).minWorkBytes = 0;
    engines.set(path.name, engine);
  }
});
afterAll(async () => {
  for (const engine of [reference, ...engines.values()]) await engine?.dispose();
  resetStoreLimits();
});

/** Rows that make the bounds work: clustered near-duplicates, exact duplicates, a zero row, spiky rows. */
function hardRows(n: number, dim: number, seed: number, spike: number): Float32Array {
  const random = rng(seed);
  const centres = randomMatrix(5, dim, random);
  const vectors = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) vectors[r * dim + j] = centres[(r % 5) * dim + j]! + 1e-3 * (random() * 2 - 1);
  }
  for (const r of [17, 4096, n - 1]) vectors.copyWithin(r * dim, 5000 * dim, 5001 * dim); // exact ties
  vectors.fill(0, 9 * dim, 10 * dim);
  for (let r = 3; r < n; r += 101) vectors[r * dim + (r % dim)] = spike;
  return vectors;
}

/** Queries near the centres (and one exactly a stored row), plus plain random ones. */
function queriesFor(vectors: Float32Array, m: number, dim: number, seed: number): Float32Array {
  const random = rng(seed);
  const queries = randomMatrix(m, dim, random);
  for (let q = 0; q < m; q += 2) {
    const row = (q * 37) % (vectors.length / dim);
    for (let j = 0; j < dim; j++) queries[q * dim + j] = vectors[row * dim + j]! + (q % 4 === 0 ? 0 : 1e-3 * (random() * 2 - 1));
  }
  return queries;
}

/** The rows in two segments (built, then added), with some removed. */
async function indexOn(engine: HybridEngine, vectors: Float32Array, dim: number, dtype: IndexDtype, metric: Metric,
  removed: number[]): Promise<VectorIndex<number, true>> {
  const half = Math.floor(vectors.length / dim / 2) * dim;
  const index = await engine.createIndex(vectors.subarray(0, half), { dim, dtype, metric });
  await index.add(vectors.subarray(half));
  if (removed.length > 0) await index.remove(removed);
  return index;
}

/** (M, k, filtered) combinations: awkward batch sizes, k from 1 to 100, with and without a filter. */
const COMBOS: ReadonlyArray<readonly [m: number, k: number, filtered: boolean]> = [
  [MS[0]!, 10, false], [MS[1]!, 10, false], [MS[2]!, 10, true], [MS[3]!, 10, false], [MS[4]!, 1, false], [MS[4]!, 100, true],
];

const cases = (['f32', 'f16', 'i8'] as const).flatMap((dtype) => (['cosine', 'dot', 'l2'] as const).map((metric) => ({ dtype, metric })));

describe.each(cases)('$dtype rows, $metric: every batch path gives each query its single search', ({ dtype, metric }) => {
  it('batches of 1, 2, 5, 64, 70 queries; k 1, 10, 100; removed rows and a filter; two segments', async () => {
    const dim = 64;
    const n = 12000;
    const vectors = hardRows(n, dim, dim + n, dtype === 'f16' ? 300 : 1000);
    const removed = Array.from({ length: 1000 }, (_, i) => i * 11 + 4);
    const queries = queriesFor(vectors, Math.max(...MS), dim, 7);
    const filter = (key: number) => key % 3 !== 1;
    const want = await indexOn(reference, vectors, dim, dtype, metric, removed);
    if (dtype !== 'i8') expect(want.segmentList.filter((s) => (s as Segment).prefilter !== 0).length, 'segments with a prefilter').toBeGreaterThan(1);
    const singles = new Map<string, { keys: number[]; scores: Float32Array }>();
    const single = async (q: number, k: number, filtered: boolean) => {
      const key = `${q} ${k} ${filtered}`;
      if (!singles.has(key)) singles.set(key, await want.search(queries.subarray(q * dim, (q + 1) * dim), { k, ...(filtered ? { filter } : {}) }));
      return singles.get(key)!;
    };
    // The single searches against the exact scan, for a few queries (prefilter.test.ts covers more).
    const keys = want.keys();
    for (const q of [0, 3]) {
      const scores = await want.scores(queries.subarray(q * dim, (q + 1) * dim));
      const sign = metric === 'l2' ? -1 : 1;
      const order = Array.from(scores.keys()).sort((a, b) => (sign * (scores[b]! - scores[a]!)) || (a - b)).slice(0, 10);
      expect((await single(q, 10, false)).keys).toEqual(order.map((i) => keys[i]!));
    }
    for (const path of paths()) {
      if (path.name === 'f32-matrix' && dtype !== 'f32') continue;
      if (dtype === 'i8' && path.name.startsWith('int8-batch/relaxed')) continue; // i8 rows take the same Winograd kernel
      const engine = engines.get(path.name)!;
      const index = await indexOn(engine, vectors, dim, dtype, metric, removed);
      for (const [m, k, filtered] of COMBOS) {
        poisonFreeMemory(engine);
        const batch = await index.searchBatch(queries.subarray(0, m * dim), { k, ...(filtered ? { filter } : {}) });
        expect(batch.length).toBe(m);
        for (let q = 0; q < m; q++) {
          const label = `${path.name}, M ${m}, k ${k}${filtered ? ', filtered' : ''}, query ${q}`;
          const one = await single(q, k, filtered);
          expect(batch[q]!.keys, label).toEqual(one.keys);
          expectSameValues(batch[q]!.scores, one.scores, label);
        }
      }
      const batches = engine.stats().cpuStrategy.batches;
      const took = dtype === 'i8' ? (path.name === 'per-query' ? 'i8/per-query' : 'i8/i8-batch/winograd') : `${dtype}/${path.name.replace(', split', '')}`;
      expect(batches[took], `${path.name} ran as ${took}`).toBeGreaterThan(0);
      index.dispose();
    }
    want.dispose();
  });
});

/** Exact integer dot of int8 row r (panel layout) with integer query values y. */
function exactDot(rows: Int8Array, r: number, y: ArrayLike<number>, stride: number): number {
  let dot = 0;
  const chunks = stride / 16;
  const panel = (r >> 2) * chunks * 64 + (r & 3) * 16;
  for (let c = 0; c < chunks; c++) for (let i = 0; i < 16; i++) dot += rows[panel + c * 64 + i]! * y[c * 16 + i]!;
  return dot;
}

describe('bound kernels: integer dots', () => {
  it.each([16, 32, 80, 784])('every kernel of the module gives the exact integer dots, extreme values, stride %i', (stride) => {
    const memory = memoryOf(reference);
    const { arena, kernels } = memory;
    const n = 37; // not whole panels
    const random = rng(stride);
    const panelsBytes = Math.ceil(n / 4) * 4 * stride;
    const rows = arena.alloc(panelsBytes);
    const i8 = new Int8Array(arena.memory.buffer, rows, panelsBytes);
    for (let i = 0; i < panelsBytes; i++) i8[i] = i % 7 === 0 ? (i % 2 ? 127 : -127) : Math.round((random() * 2 - 1) * 127);
    const queries = arena.alloc(2 * stride * 4);
    const q16 = arena.alloc(2 * stride * 2);
    const forms = arena.alloc(2 * stride * 2);
    const info = arena.alloc(32);
    const terms = arena.alloc(8);
    const scratch = arena.alloc(kernels.batchScratchBytes(2));
    try {
      const f32 = arena.f32;
      for (let i = 0; i < 2 * stride; i++) f32[(queries >>> 2) + i] = random() * 2 - 1;
      f32[queries >>> 2] = 3; // the largest |value|: it quantises to the extreme level
      f32[(queries >>> 2) + stride + 5] = -3;
      for (const kernel of boundKernelsOf(module)) {
        const code = BOUND_KERNEL_CODE[kernel];
        let y: number[][];
        if (kernel === 'winograd') {
          // The 16-bit query at its extremes (asm/score-i8.ts queryLevels: |y| <= 32640, and the dot inside i32).
          const levels = Math.min(32640, Math.floor(2147483647 / (127 * stride)));
          const h = new Int16Array(arena.memory.buffer, q16, 2 * stride);
          for (let i = 0; i < 2 * stride; i++) h[i] = i % 5 === 0 ? (i % 2 ? levels : -levels) : Math.round((random() * 2 - 1) * levels);
          y = [Array.from(h.subarray(0, stride)), Array.from(h.subarray(stride))];
          kernels.winogradQueries(q16, 2, stride, forms, terms);
        } else {
          kernels.offsetQueries(code, queries, 2, stride, forms, stride, info);
          const u = new Uint8Array(arena.memory.buffer, forms, 2 * stride);
          const off = 32;
          for (let i = 0; i < 2 * stride; i++) expect(u[i]!).toBeLessThanOrEqual(2 * off - 1);
          expect(Math.max(...u.subarray(0, stride))).toBe(2 * off - 1); // the extreme level is used
          y = [Array.from(u.subarray(0, stride), (x) => x - off), Array.from(u.subarray(stride), (x) => x - off)];
          arena.u32.fill(0, terms >>> 2, (terms >>> 2) + 2);
        }
        const panels = Math.ceil(n / 4);
        const outA = scratch + 2048, outB = scratch + 4096;
        arena.u32.fill(0xdeadbeef, outA >>> 2, (outA >>> 2) + panels * 8);
        kernels.rowTerms(code, rows, 0, panels, stride / 16, scratch);
        kernels.blockDots(code, forms, forms + stride * (code === 0 ? 2 : 1), rows, 0, panels, stride / 16, 0, outA, outB);
        const i32 = new Int32Array(arena.memory.buffer);
        for (let r = 0; r < n; r++) {
          const term = i32[(scratch >>> 2) + r]!;
          for (const [q, out] of [[0, outA], [1, outB]] as const) {
            const got = (i32[(out >>> 2) + r]! - term - i32[(terms >>> 2) + q]!) | 0;
            expect(got, `${kernel} row ${r} query ${q}`).toBe(exactDot(i8, r, y[q]!, stride));
          }
        }
        // One query alone (the last of an odd batch) gives the same dots.
        kernels.blockDots(code, forms, 0, rows, 0, panels, stride / 16, 0, outA, 0);
        for (let r = 0; r < n; r++) {
          const got = (i32[(outA >>> 2) + r]! - i32[(scratch >>> 2) + r]! - i32[terms >>> 2]!) | 0;
          expect(got, `${kernel} alone, row ${r}`).toBe(exactDot(i8, r, y[0]!, stride));
        }
      }
    } finally {
      for (const ptr of [scratch, terms, info, forms, q16, queries, rows]) arena.free(ptr);
    }
  });
});

describe('bound kernels: bounds hold row by row', () => {
  it.each(cases.filter((c) => c.dtype !== 'i8'))('$dtype rows, $metric: lower <= exact <= upper for every kernel, and tight', async ({ dtype, metric }) => {
    const dim = 77;
    const n = 8192;
    const random = rng(9);
    const vectors = randomMatrix(n, dim, random);
    for (let r = 0; r < n; r += 5) vectors[r * dim] = 30 * vectors[r * dim]!;
    const index = await reference.createIndex(vectors, { dim, dtype, metric });
    const segment = index.segmentList[0] as Segment;
    expect(segment.prefilter).not.toBe(0);
    const rows = segment.rows;
    const memory = memoryOf(reference);
    const { arena, kernels } = segment.memoryRegion;
    const stride4 = Math.ceil(dim / 4) * 4;
    const pstride = Math.ceil(dim / 16) * 16;
    const codes = { cosine: 0, dot: 1, l2: 2 } as const;
    for (let t = 0; t < 3; t++) {
      const query = randomMatrix(1, dim, random);
      if (t === 1) query[4] = 40; // a spiky query
      const exact = await index.scores(query);
      const staged = memory.stageQueries(query, dim, 'query', metric === 'cosine');
      const local = arena.alloc(stride4 * 4), q16 = arena.alloc(pstride * 2), form = arena.alloc(pstride * 2);
      const info = arena.alloc(16), terms = arena.alloc(4), scratch = arena.alloc(kernels.batchScratchBytes(1));
      const lower = arena.alloc(rows * 4 + 16), upper = arena.alloc(rows * 4 + 16);
      new Uint8Array(segment.memoryRegion.memory.buffer, local, stride4 * 4).set(new Uint8Array(memory.arena.memory.buffer, staged.ptr, stride4 * 4));
      for (const kernel of boundKernelsOf(module) as BoundKernel[]) {
        const code = BOUND_KERNEL_CODE[kernel];
        if (kernel === 'winograd') {
          kernels.quantizeQuery16(local, stride4, q16, pstride, info);
          kernels.winogradQueries(q16, 1, pstride, form, terms);
        } else {
          kernels.offsetQueries(code, local, 1, stride4, form, pstride, info);
          arena.u32[terms >>> 2] = 0;
        }
        kernels.prefilterBoundsBatch(codes[metric], code, form, arena.u32[terms >>> 2]! | 0, info, prefilterGamma(stride4),
          dtype === 'f16' ? Math.ceil(dim / 8) * 8 : stride4, segment.prefilter, segment.prefilterMeta, pstride, rows, lower, upper, scratch);
        const widths: number[] = [];
        let low = Infinity;
        let high = -Infinity;
        for (let r = 0; r < rows; r++) {
          const lo = arena.f32[(lower >>> 2) + r]!;
          const hi = arena.f32[(upper >>> 2) + r]!;
          const internal = metric === 'l2' ? -exact[r]! : exact[r]!;
          if (!(lo <= internal && internal <= hi)) throw new Error(`${kernel} query ${t} row ${r}: ${internal} outside [${lo}, ${hi}]`);
          widths.push(hi - lo);
          low = Math.min(low, internal);
          high = Math.max(high, internal);
        }
        widths.sort((a, b) => a - b);
        // The 6-bit (relaxed-pairs) queries are coarser than the 16-bit one:
        // looser bounds (most of all for a spiky query), still far from vacuous.
        const limit = { winograd: 0.1, 'relaxed-pairs': 0.5 }[kernel];
        expect(widths[widths.length >> 1]! / (high - low), `${kernel}: bounds are useful, not vacuous`).toBeLessThan(limit);
      }
      for (const ptr of [upper, lower, scratch, terms, info, form, q16, local]) arena.free(ptr);
      staged.release();
    }
    index.dispose();
  });
});
