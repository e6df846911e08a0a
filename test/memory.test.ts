// The WASM arena: reuse of freed blocks, coalescing, views after growth, and no growth when
// indexes come and go.
import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/cpu/arena.js';
import { createHybrid } from '../src/index.js';
import { arenaOf } from '../src/testing.js';
import { cosineReference, expectScoresClose, randomMatrix, rng } from './helpers.js';

function arena(): WasmArena {
  return new WasmArena(new WebAssembly.Memory({ initial: 1, maximum: 65536 }), 1024);
}

describe('WasmArena', () => {
  it('hands out aligned, non-overlapping blocks and reuses freed ones', () => {
    const a = arena();
    const blocks = [100, 64, 1, 5000, 65].map((bytes) => ({ bytes, ptr: a.alloc(bytes) }));
    for (const { ptr } of blocks) expect(ptr % 64).toBe(0);
    const sorted = [...blocks].sort((x, y) => x.ptr - y.ptr);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.ptr).toBeGreaterThanOrEqual(sorted[i - 1]!.ptr + sorted[i - 1]!.bytes);
    }
    const second = blocks[1]!.ptr;
    a.free(second);
    expect(a.alloc(64)).toBe(second);
  });

  it('coalesces neighbours, so freed space serves a larger block', () => {
    const a = arena();
    const x = a.alloc(128);
    const y = a.alloc(128);
    const z = a.alloc(128);
    a.alloc(64); // keeps the top above z
    a.free(x);
    a.free(z);
    a.free(y);
    expect(a.alloc(384)).toBe(x);
  });

  it('grows memory on demand, and views see the new buffer', () => {
    const a = arena();
    const before = a.memoryBytes;
    const big = a.alloc(10 * 65536);
    expect(a.memoryBytes).toBeGreaterThan(before);
    a.f32[(big >>> 2) + 10 * 16384 - 1] = 42;
    expect(a.f32[(big >>> 2) + 10 * 16384 - 1]).toBe(42);
    expect(a.f32.length * 4).toBe(a.memoryBytes);
  });

  it('freeing twice is a programming error, not silent corruption', () => {
    const a = arena();
    const p = a.alloc(10);
    a.free(p);
    expect(() => a.free(p)).toThrow(/not a live block/);
  });

  it('refuses more than 4 GiB with OUT_OF_MEMORY', () => {
    const a = arena();
    expect(() => a.alloc(5 * 1024 ** 3)).toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    expect(a.alloc(64)).toBeGreaterThan(0);
  });
});

describe('engine memory', () => {
  it('1000 indexes created, searched and disposed: memory does not grow past one', async () => {
    const hs = await createHybrid({ gpu: null });
    const dim = 128;
    const vectors = randomMatrix(2000, dim, rng(4));
    const query = randomMatrix(1, dim, rng(5));
    const first = await hs.createIndex(vectors, { dim });
    await first.search(query, { k: 10 });
    await first.searchBatch(randomMatrix(8, dim, rng(6)), { k: 10 });
    first.dispose();
    const afterOne = hs.info().cpu.memoryBytes;
    for (let i = 0; i < 1000; i++) {
      const index = await hs.createIndex(vectors, { dim });
      await index.search(query, { k: 10 });
      if (i % 100 === 0) await index.searchBatch(randomMatrix(8, dim, rng(i)), { k: 10 });
      index.dispose();
    }
    expect(hs.info().cpu.memoryBytes).toBe(afterOne);
    expect(arenaOf(hs).liveBlocks).toBe(0);
    const last = await hs.createIndex(vectors, { dim });
    expectScoresClose(await last.scores(query), cosineReference(query, vectors, dim));
    await hs.dispose();
  });

  it('one-shot calls free what they staged', async () => {
    const hs = await createHybrid({ gpu: null });
    const dim = 33;
    const vectors = randomMatrix(500, dim, rng(7));
    await hs.cosineSimilarity(randomMatrix(1, dim, rng(8)), vectors);
    await hs.cosineSimilarityMatrix(randomMatrix(9, dim, rng(9)), vectors, { dim });
    expect(arenaOf(hs).liveBlocks).toBe(0);
    const afterOne = hs.info().cpu.memoryBytes;
    for (let i = 0; i < 200; i++) {
      await hs.cosineSimilarity(randomMatrix(1, dim, rng(i)), vectors);
      await hs.cosineSimilarityMatrix(randomMatrix(9, dim, rng(i)), vectors, { dim });
    }
    expect(hs.info().cpu.memoryBytes).toBe(afterOne);
    expect(arenaOf(hs).liveBlocks).toBe(0);
    await hs.dispose();
  });
});
