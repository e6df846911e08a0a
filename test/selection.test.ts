// A key filter turned into row bitmaps (src/store/selection.ts). Default keys are marked either
// through the key table (one read per key) or through a bitmap of keys that each segment's runs
// of consecutive keys (NumberColumn.run*) copy a word at a time; both must select exactly the
// live rows whose key passes, as the function form does, through removals, upserts, compaction
// and every segment boundary.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine, type VectorIndex } from '../src/index.js';
import { NumberColumn } from '../src/store/keys/key-column.js';
import { checkFilter, selectRows } from '../src/store/selection.js';
import type { IndexKeys } from '../src/store/keys/index-keys.js';
import type { Segment } from '../src/store/segment.js';
import type { Selection } from '../src/store/types.js';
import { forceKeyMarking, resetStoreLimits, setStoreLimits } from '../src/testing.js';
import { randomMatrix, rng } from './helpers.js';

/** Every run's rows hold its keys; the runs tile rows 0 .. runsEnd-1 in order. */
function expectRunsHold(column: NumberColumn, written: number, label: string): void {
  expect(column.runsEnd, `${label}: runs end within the rows written`).toBeLessThanOrEqual(written);
  expect(column.runCount, `${label}: at most capacity / 256 + 1 runs`).toBeLessThanOrEqual(Math.floor(column.values.length / 256) + 1);
  if (column.runCount > 0) expect(column.runRows[0], `${label}: the first run starts at row 0`).toBe(0);
  for (let i = 0; i < column.runCount; i++) {
    const start = column.runRows[i]!;
    const stop = i + 1 < column.runCount ? column.runRows[i + 1]! : column.runsEnd;
    expect(stop, `${label}: run ${i} is not empty`).toBeGreaterThan(start);
    for (let r = start; r < stop; r++) {
      if (column.values[r] !== column.runKeys[i]! + (r - start)) throw new Error(`${label}: row ${r} holds ${column.values[r]}, run ${i} says ${column.runKeys[i]! + (r - start)}`);
    }
  }
}

describe('NumberColumn runs', () => {
  it('default keys in order make one run over every row', () => {
    const column = new NumberColumn(1000);
    for (let r = 0; r < 1000; r++) column.set(r, 77 + r);
    expect([column.runCount, column.runsEnd, column.runKeys[0]]).toEqual([1, 1000, 77]);
    expectRunsHold(column, 1000, 'in order');
  });

  it('jumps start runs, rewrites end them, and past the limit rows stay outside', () => {
    const random = rng(404);
    for (let t = 0; t < 100; t++) {
      const capacity = [32, 256, 300, 600, 2000][t % 5]!;
      const column = new NumberColumn(capacity);
      let written = 0;
      let key = Math.floor(random() * 100);
      const steps = 1 + Math.floor(random() * 3 * capacity);
      for (let s = 0; s < steps; s++) {
        const u = random();
        if (u < 0.05 && written > 0) {
          // Rolled back: rows from some earlier row are written again.
          written = Math.floor(random() * written);
          key = Math.floor(random() * 1000);
          continue;
        }
        if (written === capacity) break;
        if (u < 0.05) continue;
        key = u < 0.1 ? key + 2 + Math.floor(random() * 50) : u < 0.13 ? Math.floor(random() * 1000) : key + 1;
        column.set(written++, key);
        if (s % 16 === 0 || written === capacity) expectRunsHold(column, written, `case ${t}, step ${s}`);
      }
    }
  });

  it('a row written again ends the run before it; writing on in order resumes', () => {
    const column = new NumberColumn(256);
    for (let r = 0; r < 100; r++) column.set(r, r);
    column.set(40, 999);
    expect([column.runCount, column.runsEnd]).toEqual([2, 41]);
    for (let r = 41; r < 100; r++) column.set(r, 999 + r - 40);
    expect([column.runCount, column.runsEnd]).toEqual([2, 100]);
    column.set(0, 5);
    expect([column.runCount, column.runsEnd, column.runKeys[0]]).toEqual([1, 1, 5]);
    expectRunsHold(column, 100, 'rewritten');
  });
});

/** Segments of 32-128 rows: runs of every length, cut at every boundary. */
const SMALL = { segmentBytes: 2048, segmentRowsUnit: 32, regions: { regionBytes: 1024 * 1024, firstRegionStoreBytes: 4 * 1024, headroomBytes: 960 * 1024 } };

/** A selection's bitmaps as plain values (none, or each segment's words). */
function bitsOf(selection: Selection): unknown[] {
  return selection.segments.map((s) => (s instanceof Uint32Array ? Array.from(s) : s));
}

describe('a default-key filter through the key table and through a bitmap of keys', () => {
  let engine!: HybridEngine;
  beforeAll(async () => {
    setStoreLimits(SMALL);
    engine = await createHybrid({ gpu: null, cpuThreads: 1 });
  });
  afterEach(() => forceKeyMarking(undefined));
  afterAll(async () => {
    await engine.dispose();
    resetStoreLimits();
  });

  function expectSameSelections(index: VectorIndex<number>, label: string, random: () => number): void {
    const internals = index as unknown as { segments: Segment[]; keys0(): IndexKeys };
    const segments = internals.segments;
    const keys = internals.keys0();
    const held = index.keys();
    const span = Math.max(...held, 0) + 1;
    for (const share of [0.9, 0.5, 0.13, 0.02]) {
      // Held keys, keys never held or removed, duplicates, -0 and keys far past every key.
      const allowed: number[] = [];
      for (let key = 0; key < span + 64; key++) if (random() < share) allowed.push(key);
      if (allowed.length > 3) allowed.push(allowed[1]!, allowed[2]!);
      allowed.push(-0, 4_000_000_000);
      const passing = new Set(allowed.map((k) => (k === 0 ? 0 : k)));
      const want = selectRows(segments, keys, checkFilter((key: number) => passing.has(key)));
      for (const [form, filter] of [['Set', new Set(allowed)], ['array', allowed], ['Float64Array', Float64Array.from(allowed)]] as const) {
        for (const path of ['table', 'bits'] as const) {
          forceKeyMarking(path);
          const got = selectRows(segments, keys, checkFilter(filter));
          const what = `${label}: ${share * 100}% as ${form} through the ${path === 'bits' ? 'key bits' : 'table'}`;
          expect(got.passing, `${what}: rows passing`).toBe(want.passing);
          expect(got.passingBySegment, `${what}: rows passing by segment`).toEqual(want.passingBySegment);
          expect(bitsOf(got), `${what}: bitmaps`).toEqual(bitsOf(want));
        }
      }
      for (const path of ['table', 'bits'] as const) {
        forceKeyMarking(path);
        expect(() => selectRows(segments, keys, checkFilter([...allowed.slice(0, 5), 1.5])), `${label}: a bad key through the ${path}`)
          .toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      }
    }
  }

  it('through removals, upserts, compaction and more adds', async () => {
    const random = rng(2718);
    const dim = 3;
    const index = await engine.createIndex(randomMatrix(2500, dim, random), { dim });
    expect(index.segmentList.length, 'many segments').toBeGreaterThan(10);
    await throughEdits(index, random, dim);
    const columns = index.segmentList.map((s) => s.keys as NumberColumn);
    expect(columns.some((c, i) => c.runsEnd < index.segmentList[i]!.rows), 'rows past their runs').toBe(true);
    expect(columns.some((c) => (c.runKeys[0]! & 31) !== 0 && c.runsEnd >= 64), 'a run off a word').toBe(true);
    index.dispose();
  });

  it('segments of the default size: hundreds of runs each, joined mid-word', async () => {
    resetStoreLimits();
    const other = await createHybrid({ gpu: null, cpuThreads: 1 });
    try {
      const random = rng(1414);
      const dim = 2;
      const index = await other.createIndex(randomMatrix(40_000, dim, random), { dim });
      await throughEdits(index, random, dim, 200);
      const runs = index.segmentList.map((s) => (s.keys as NumberColumn).runCount);
      expect(Math.max(...runs), 'a segment of many runs').toBeGreaterThan(100);
      index.dispose();
    } finally {
      await other.dispose();
      setStoreLimits(SMALL);
    }
  });

  /** Selections compared at each step: built, removed, upserted, compacted, added to. */
  async function throughEdits(index: VectorIndex<number>, random: () => number, dim: number, removed = Math.floor(index.size / 6)): Promise<void> {
    expectSameSelections(index, 'built', random);
    // Keys 0-4 go, so the first segment's run starts off a word after compaction.
    const n = index.size;
    await index.remove([0, 1, 2, 3, 4, ...Array.from({ length: removed }, () => 5 + Math.floor(random() * (n - 100)))]);
    expectSameSelections(index, 'after remove', random);
    await index.upsert(randomMatrix(6, dim, random), { keys: [10, 700, 701, n - 1, n + 100, n + 101] });
    expectSameSelections(index, 'after upsert', random);
    await index.compact();
    expectSameSelections(index, 'after compact', random);
    await index.add(randomMatrix(300, dim, random));
    expectSameSelections(index, 'after more adds', random);
  }

  it('the path chosen by cost selects what the other path does, for a large filter and a small one', async () => {
    forceKeyMarking(undefined);
    const dim = 2;
    const index = await engine.createIndex(randomMatrix(4000, dim, rng(5)), { dim });
    const internals = index as unknown as { segments: Segment[]; keys0(): IndexKeys };
    for (const count of [3000, 10]) {
      const list = Array.from({ length: count }, (_, i) => (i * 7919) % 4000);
      const byCost = selectRows(internals.segments, internals.keys0(), checkFilter(list));
      forceKeyMarking(count > 100 ? 'table' : 'bits');
      const other = selectRows(internals.segments, internals.keys0(), checkFilter(list));
      forceKeyMarking(undefined);
      expect(bitsOf(byCost)).toEqual(bitsOf(other));
      expect(byCost.passing).toBe(new Set(list).size);
    }
    index.dispose();
  });
});
