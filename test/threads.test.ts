// The CPU worker pool: calls split across threads give exactly the one-thread results (same bits,
// same tie order) on awkward shapes; offMainThread leaves the event loop free; a crashed worker
// costs no result; add() waits for reads in flight; workers end with dispose() and never hold the
// process open.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine } from '../src/index.js';
import { splitRows } from '../src/cpu/cpu-backend.js';
import { splitByEdges } from '../src/spreading/partition.js';
import { QUEUE_WORDS_BYTES, type KernelCall } from '../src/cpu/pool.js';
import { arenaOf, cpuOf, poisonFreeMemory } from '../src/testing.js';
import {
  cosineReference, expectSameValues, expectScoresClose, expectTopK, randomMatrix, rng,
} from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** One thread, no pool: the reference every split run must match bit for bit. */
const single = () => createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });

/** Every call split: this thread and 2 workers, or (offMainThread) 2 workers only. */
async function splitting(offMainThread: boolean): Promise<HybridEngine> {
  const engine = await createHybrid({ gpu: null, cpuThreads: offMainThread ? 2 : 3, offMainThread });
  cpuOf(engine).minWorkBytes = 0;
  return engine;
}

function partsRun(engine: HybridEngine): number {
  return cpuOf(engine).pool?.partsRun ?? 0;
}

describe('split ranges and the top-k merge', () => {
  it('splitRows: contiguous, panel-aligned starts, none empty, covering every row', () => {
    for (const n of [1, 3, 4, 5, 7, 8, 9, 1000, 4099, 100_001]) {
      for (const parts of [1, 2, 3, 8]) {
        const ranges = splitRows(n, parts);
        expect(ranges[0]![0]).toBe(0);
        expect(ranges.at(-1)![1]).toBe(n);
        expect(ranges.length).toBeLessThanOrEqual(parts);
        ranges.forEach(([a, b], i) => {
          expect(b).toBeGreaterThan(a);
          expect(a % 4).toBe(0);
          if (i > 0) expect(a).toBe(ranges[i - 1]![1]);
        });
        if (n >= 4 * parts) expect(ranges.length).toBe(parts);
      }
    }
  });

  it('splitByEdges: balanced by incoming edges plus nodes, contiguous, panel-aligned', () => {
    // Node 0 has 10,000 incoming edges, every other node 1: the first range must be short.
    const n = 10_000;
    const offsets = new Uint32Array(n + 1);
    offsets[1] = 10_000;
    for (let v = 2; v <= n; v++) offsets[v] = offsets[v - 1]! + 1;
    const ranges = splitByEdges(offsets, 2);
    expect(ranges.length).toBe(2);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges[1]![1]).toBe(n);
    expect(ranges[0]![1]).toBe(ranges[1]![0]);
    expect(ranges[0]![1] % 4).toBe(0);
    const cost = ([a, b]: readonly [number, number]) => offsets[b]! - offsets[a]! + (b - a);
    expect(Math.abs(cost(ranges[0]!) - cost(ranges[1]!))).toBeLessThanOrEqual(8);
  });

});

describe.each([
  { name: 'this thread + 2 workers', offMainThread: false },
  { name: 'offMainThread, 2 workers', offMainThread: true },
])('split across threads ($name): identical to one thread', ({ offMainThread }) => {
  let one!: HybridEngine;
  let many!: HybridEngine;
  beforeAll(async () => {
    one = await single();
    many = await splitting(offMainThread);
  });
  afterAll(async () => {
    await one.dispose();
    await many.dispose();
  });

  const shapes = [
    { dim: 1, n: 1 }, { dim: 3, n: 7 }, { dim: 5, n: 9 }, { dim: 17, n: 1000 },
    { dim: 768, n: 4099 }, { dim: 64, n: 20_000 }, { dim: 130, n: 30_001 },
  ];
  it.each(shapes)('dim $dim, N $n: one-shot, matrix, scores, search, searchBatch', async ({ dim, n }) => {
    const random = rng(dim * 7 + n);
    const vectors = randomMatrix(n, dim, random);
    // Near-duplicates and exact ties: rows 1 and 2 copy row 0 (when present).
    for (let r = 1; r < Math.min(3, n); r++) vectors.copyWithin(r * dim, 0, dim);
    const queries = randomMatrix(5, dim, random);
    const query = queries.subarray(0, dim);
    const before = partsRun(many);

    const results = await Promise.all([one, many].map(async (hs) => {
      poisonFreeMemory(hs);
      const index = await hs.createIndex(vectors, { dim });
      const out = {
        oneShot: await hs.cosineSimilarity(query, vectors, { backend: 'cpu' }),
        matrix: await hs.cosineSimilarityMatrix(queries, vectors, { dim, backend: 'cpu' }),
        scores: await index.scores(query, { backend: 'cpu' }),
        search: await Promise.all([1, 10, n, n + 5].map((k) => index.search(query, { k, backend: 'cpu' }))),
        batch: await index.searchBatch(queries, { k: 7, backend: 'cpu' }),
      };
      index.dispose();
      return out;
    }));
    const [a, b] = results as [typeof results[0], typeof results[0]];
    expectScoresClose(a.oneShot, cosineReference(query, vectors, dim), 'one thread');
    expectSameValues(b.oneShot, a.oneShot, 'cosineSimilarity');
    expectSameValues(b.matrix, a.matrix, 'cosineSimilarityMatrix');
    expectSameValues(b.scores, a.scores, 'scores');
    a.search.forEach((r, i) => {
      expectTopK(b.search[i]!, [1, 10, n, n + 5][i]!, b.scores, cosineReference(query, vectors, dim), `search ${i}`);
      expectSameValues(b.search[i]!.indices, r.indices, `search ${i} indices`);
      expectSameValues(b.search[i]!.scores, r.scores, `search ${i} scores`);
    });
    a.batch.forEach((r, q) => {
      expectSameValues(b.batch[q]!.indices, r.indices, `batch ${q} indices`);
      expectSameValues(b.batch[q]!.scores, r.scores, `batch ${q} scores`);
    });
    // It really ran in the workers (one panel of rows is one part, which stays on this thread
    // unless offMainThread).
    if (n > 4 || offMainThread) expect(partsRun(many)).toBeGreaterThan(before);
  });

  it.each([
    { nodes: 5, edges: 12, k: 1 }, { nodes: 1001, edges: 8000, k: 1 }, { nodes: 1001, edges: 8000, k: 6 },
    { nodes: 50_003, edges: 400_000, k: 1 }, { nodes: 20_000, edges: 100_000, k: 9 },
  ])('spreading: $nodes nodes, $edges edges, $k seed sets', async ({ nodes, edges, k }) => {
    const random = rng(nodes + edges + k);
    const skewed = () => Math.floor(nodes * random() ** 3);
    const from = Uint32Array.from({ length: edges }, skewed);
    const to = Uint32Array.from({ length: edges }, () => (random() < 0.5 ? skewed() : Math.floor(random() * nodes)));
    const weight = Float32Array.from({ length: edges }, () => random() * 2 - 1);
    const seedSets = Array.from({ length: k }, (_, j) => ({
      nodes: Uint32Array.from({ length: 3 + j }, () => Math.floor(random() * nodes)),
      values: Float32Array.from({ length: 3 + j }, () => random() * 1.5 - 0.2),
    }));
    // Pull hops are the ones split across threads (push hops run where the call is made).
    const options = { maxHops: 4, threshold: 0.001, fan: 'sqrtOutDegree' as const, strategy: 'pull' as const, backend: 'cpu' as const };
    const before = partsRun(many);
    const [a, b] = await Promise.all([one, many].map(async (hs) => {
      const graph = hs.createGraph({ nodeCount: nodes, from, to, weight });
      poisonFreeMemory(hs);
      const out = await hs.spreadActivationBatch(graph, { seedSets, ...options });
      graph.dispose();
      return out;
    }));
    a!.forEach((totals, j) => {
      expect(totals.every(Number.isFinite)).toBe(true);
      expectSameValues(b![j]!, totals, `seed set ${j}`);
    });
    expect(a!.some((totals) => totals.some((x) => x > 0))).toBe(true);
    expect(partsRun(many)).toBeGreaterThan(before);
  });
});

describe('offMainThread', () => {
  const dim = 384;
  const n = 50_000;
  const vectors = randomMatrix(n, dim, rng(77));
  const queries = randomMatrix(64, dim, rng(78));

  /** The longest the event loop went without running a 1 ms interval, during one searchBatch. */
  async function longestStall(hs: HybridEngine): Promise<{ stall: number; duration: number }> {
    const index = await hs.createIndex(vectors, { dim });
    await index.searchBatch(queries, { k: 10 }); // warm: pool started, pages touched
    let last = performance.now();
    let stall = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    last = performance.now();
    stall = 0;
    const start = performance.now();
    await index.searchBatch(queries, { k: 10 });
    const duration = performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 5));
    clearInterval(timer);
    index.dispose();
    return { stall, duration };
  }

  it('keeps the event loop running during a large call (on one thread it is blocked)', async () => {
    const blocking = await single();
    const free = await createHybrid({ gpu: null, cpuThreads: 2, offMainThread: true });
    try {
      const blocked = await longestStall(blocking);
      const running = await longestStall(free);
      expect(free.info().cpu).toMatchObject({ threads: 2, sharedMemory: true, offMainThread: true });
      // One thread: the loop stalls for the whole call. Workers: it keeps ticking.
      expect(blocked.stall).toBeGreaterThan(0.8 * blocked.duration);
      expect(running.stall).toBeLessThan(Math.max(20, 0.5 * running.duration));
    } finally {
      await blocking.dispose();
      await free.dispose();
    }
  });
});

describe('pool failures, writes and lifetime', () => {
  it('a crashed worker costs no result: the calling thread answers and keeps answering', async () => {
    const hs = await splitting(true);
    const reference = await single();
    try {
      const dim = 33;
      const vectors = randomMatrix(20_000, dim, rng(3));
      const query = randomMatrix(1, dim, rng(4));
      const index = await hs.createIndex(vectors, { dim });
      const want = await (await reference.createIndex(vectors, { dim })).search(query, { k: 10 });
      await index.search(query, { k: 10 }); // the pool is up
      cpuOf(hs).pool!.killWorkersForTest();
      for (let i = 0; i < 3; i++) {
        const got = await index.search(query, { k: 10 });
        expectSameValues(got.indices, want.indices, 'indices');
        expectSameValues(got.scores, want.scores, 'scores');
      }
      expect(cpuOf(hs).poolFailure?.message).toMatch(/exited/);
      expect(cpuOf(hs).pool).toBeNull();
    } finally {
      await hs.dispose();
      await reference.dispose();
    }
  });

  it('a part that fails after running: pure parts run again here, spreading starts over (no hop added twice)', async () => {
    const reference = await single();
    const hs = await splitting(false);
    try {
      const pool = cpuOf(hs).pool!;
      // The workers run every part, but once armed the pool reports the first posted part of a
      // hop (which adds into the totals) as failed, as a worker dying after its writes would.
      let armed = false;
      const real = pool.runSettled.bind(pool);
      pool.runSettled = async (parts) => {
        const settled = await real(parts);
        if (!armed || !parts[0]![0]!.calls[0]![0].startsWith('spreadHop')) return settled;
        armed = false;
        return settled.map((s, i) => (i === 0 ? { status: 'rejected' as const, reason: new Error('worker died') } : s));
      };
      const nodes = 3001;
      const random = rng(12);
      const from = Uint32Array.from({ length: 20_000 }, () => Math.floor(random() * nodes));
      const to = Uint32Array.from({ length: 20_000 }, () => Math.floor(random() * nodes));
      const weight = Float32Array.from({ length: 20_000 }, () => random());
      const seeds = { nodes: Uint32Array.from([1, 2, 3, 500]), values: Float32Array.from([1, 0.5, 0.8, 1]) };
      const options = { seeds, maxHops: 4, threshold: 0.0001, backend: 'cpu' as const };
      const want = await reference.spreadActivation(reference.createGraph({ nodeCount: nodes, from, to, weight }), options);
      armed = true;
      const got = await hs.spreadActivation(hs.createGraph({ nodeCount: nodes, from, to, weight }), options);
      expect(armed).toBe(false);
      expectSameValues(got, want, 'spreading after a failed part');
      expect(cpuOf(hs).poolFailure?.message).toBe('worker died');
      expect(hs.info().cpu).toMatchObject({ threads: 1, offMainThread: false });
    } finally {
      await hs.dispose();
      await reference.dispose();
    }
  });

  it('a failed part of a matrix or top-k call runs again here: same bits as one thread', async () => {
    const reference = await single();
    const dim = 45;
    const vectors = randomMatrix(3001, dim, rng(14));
    const queries = randomMatrix(3, dim, rng(15));
    try {
      const wantMatrix = await reference.cosineSimilarityMatrix(queries, vectors, { dim });
      const wantTop = await (await reference.createIndex(vectors, { dim })).searchBatch(queries, { k: 5 });
      for (const call of ['matrix', 'searchBatch'] as const) {
        const hs = await splitting(false);
        const pool = cpuOf(hs).pool!;
        const real = pool.runSettled.bind(pool);
        pool.runSettled = async (parts) => (await real(parts)).map((s, i) =>
          (i === parts.length - 1 ? { status: 'rejected' as const, reason: new Error('worker died') } : s));
        if (call === 'matrix') {
          expectSameValues(await hs.cosineSimilarityMatrix(queries, vectors, { dim }), wantMatrix, 'matrix');
        } else {
          const got = await (await hs.createIndex(vectors, { dim })).searchBatch(queries, { k: 5 });
          got.forEach((r, q) => {
            expectSameValues(r.indices, wantTop[q]!.indices, `query ${q}`);
            expectSameValues(r.scores, wantTop[q]!.scores, `query ${q}`);
          });
        }
        expect(cpuOf(hs).pool).toBeNull();
        await hs.dispose();
      }
    } finally {
      await reference.dispose();
    }
  });

  it('with offMainThread, a top-k with a large k still runs in workers only', async () => {
    const hs = await splitting(true);
    try {
      const dim = 64;
      const vectors = randomMatrix(8192, dim, rng(16));
      const index = await hs.createIndex(vectors, { dim });
      const before = partsRun(hs);
      const k = 100; // k * 64 > 8192 / 2: no prefilter; each part keeps its own top 100, merged here
      const result = await index.search(vectors.subarray(0, dim), { k });
      expect(result.indices![0]).toBe(0);
      expect(result.indices!.length).toBe(k);
      expect(partsRun(hs)).toBeGreaterThan(before);
    } finally {
      await hs.dispose();
    }
  });

  it('add() during a search in the workers: the search sees the old rows, later calls the new', async () => {
    const hs = await splitting(true);
    try {
      const dim = 16;
      const vectors = randomMatrix(20_000, dim, rng(8));
      const extra = randomMatrix(50_000, dim, rng(9)); // grows past capacity: the rows move
      const query = extra.slice(123 * dim, 124 * dim); // its best match is in `extra`
      const index = await hs.createIndex(vectors, { dim });
      const pending = index.search(query, { k: 3 });
      const added = index.add(extra);
      const after = index.search(query, { k: 1 });
      const old = await pending;
      await added;
      const reference = await single();
      const want = await (await reference.createIndex(vectors, { dim })).search(query, { k: 3 });
      await reference.dispose();
      expectSameValues(old.indices, want.indices, 'indices before add');
      expectSameValues(old.scores, want.scores, 'scores before add');
      expect((await after).indices[0]).toBe(20_123);
      expect(index.size).toBe(70_000);
    } finally {
      await hs.dispose();
    }
  });

  /** Two workers, started, and the arena their calls read and write. */
  async function startedPool() {
    const hs = await splitting(true);
    const pool = cpuOf(hs).pool!;
    await pool.start();
    return { hs, pool, arena: arenaOf(hs) };
  }

  it('a shared queue: every item runs once, and parts posted after it wait until the last item is done', async () => {
    const { hs, pool, arena } = await startedPool();
    const items = 40;
    const sizes = Array.from({ length: items }, (_, i) => (i === items - 1 ? 8 << 20 : 4096));
    const blocks = sizes.map((size) => arena.alloc(size * 4));
    const words = arena.alloc(QUEUE_WORDS_BYTES);
    // Each part copies the last word of every item's block (copyRowMeta with one field: word
    // list[i] to word i): were it to run before the last (large) item is done, it would copy the
    // poison.
    const list = arena.alloc(items * 4);
    const outs = [arena.alloc(items * 4), arena.alloc(items * 4)];
    try {
      arena.poisonFree(Number.NaN);
      blocks.forEach((block, i) => arena.f32.fill(Number.NaN, block >>> 2, (block >>> 2) + sizes[i]!));
      arena.u32.fill(0, words >>> 2, (words >>> 2) + 3);
      blocks.forEach((block, i) => { arena.u32[(list >>> 2) + i] = (block >>> 2) + sizes[i]! - 1; });
      const queue = { region: 0, at: words, items: blocks.map((block, i) => ({ region: 0, calls: [['fillU32', block, sizes[i]!, 1000 + i] as KernelCall] })) };
      const taking = pool.shareSettled(queue);
      const parts = outs.map((out) => [{ region: 0, calls: [['copyRowMeta', 0, list, items, out, 0, 1] as KernelCall] }]);
      const running = pool.runSettled(parts, { region: 0, at: words, count: items });
      expect((await taking).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
      expect((await running).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(Array.from(arena.u32.subarray(words >>> 2, (words >>> 2) + 3)), 'items taken (one extra try each), done, abandoned').toEqual([items + 2, items, 0]);
      for (const out of outs) {
        expect(Array.from(arena.u32.subarray(out >>> 2, (out >>> 2) + items))).toEqual(blocks.map((_, i) => 1000 + i));
      }
    } finally {
      for (const ptr of [...blocks, words, list, ...outs]) arena.free(ptr);
      await hs.dispose();
    }
  });

  it('a shared queue whose item fails: the parts waiting for it give up once it is abandoned', async () => {
    const { hs, pool, arena } = await startedPool();
    const words = arena.alloc(QUEUE_WORDS_BYTES);
    const block = arena.alloc(64);
    try {
      arena.u32.fill(0, words >>> 2, (words >>> 2) + 3);
      const good = { region: 0, calls: [['fillU32', block, 16, 7] as KernelCall] };
      const queue = { region: 0, at: words, items: [good, { region: 0, calls: [['noSuchKernel'] as KernelCall] }, good] };
      const taking = pool.shareSettled(queue);
      let settled = false;
      const running = pool.runSettled([[good], [good]], { region: 0, at: words, count: 3 }).then((r) => { settled = true; return r; });
      const took = await taking;
      expect(took.filter((s) => s.status === 'rejected')).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(settled, 'the parts wait while an item is not done').toBe(false);
      Atomics.store(new Int32Array(arena.u32.buffer, words, 3), 2, 1);
      Atomics.notify(new Int32Array(arena.u32.buffer, words, 3), 1);
      const ran = await running;
      expect(ran.map((s) => s.status)).toEqual(['rejected', 'rejected']);
      expect(String((ran[0] as PromiseRejectedResult).reason)).toMatch(/abandoned/);
    } finally {
      arena.free(words);
      arena.free(block);
      await hs.dispose();
    }
  });

  it('dispose() ends the workers; a process that never disposes still exits by itself', async () => {
    const hs = await splitting(true);
    const index = await hs.createIndex(randomMatrix(2000, 8, rng(1)), { dim: 8 });
    await index.search(randomMatrix(1, 8, rng(2)), { k: 1 });
    const pool = cpuOf(hs).pool!;
    expect(pool.started).toBe(true);
    await hs.dispose();
    expect(pool.started).toBe(false);
    await expect(pool.run([[{ region: 0, calls: [['heapBase']] }]])).rejects.toThrow(/shut down/);

    const script = `
      import { createHybrid } from 'hybrid-similarity';
      const hs = await createHybrid({ gpu: null, cpuThreads: 2, offMainThread: true });
      const dim = 64, v = new Float32Array(200000 * dim).map(() => Math.random() - 0.5);
      const index = await hs.createIndex(v, { dim });
      const r = await index.search(v.subarray(0, dim), { k: 1 });
      console.log('threads', hs.info().cpu.threads, 'best', r.indices[0]);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script],
      { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('threads 2 best 0');
    expect(child.status).toBe(0);
  });
});
