// Saving and loading indexes (docs/FORMAT.md): round trips bit-identical for every dtype, metric
// and key kind, with dead rows, across segments and memories, on every backend; the same bytes
// from a path, a Uint8Array, an ArrayBuffer, a Blob and a stream; bad files change nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HybridError, type HybridEngine, type Key, type VectorIndex } from '../src/index.js';
import { resetStoreLimits, setStoreLimits } from '../src/testing.js';
import { BACKENDS, engineFor, requireGpuInCi } from './gpu-setup.js';
import { expectSameValues, randomMatrix, rng } from './helpers.js';

requireGpuInCi();

const SMALL = {
  segmentBytes: 2048,
  segmentRowsUnit: 32,
  regions: { regionBytes: 1024 * 1024, firstRegionStoreBytes: 4 * 1024, headroomBytes: 960 * 1024 },
};

const folder = mkdtempSync(join(tmpdir(), 'hs-index-file-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const CASES = (['f32', 'f16', 'i8'] as const).flatMap((dtype, d) => (['cosine', 'dot', 'l2'] as const).map((metric, m) => ({
  dtype, metric, dim: [3, 17, 40][(d + m) % 3]!, keyKind: (['default', 'number', 'string'] as const)[(d * 3 + m) % 3]!,
})));

/** Everything an index answers, for comparing two of them bit for bit. */
async function answers(index: VectorIndex<Key>, dim: number, backend: 'cpu' | 'gpu') {
  const queries = randomMatrix(3, dim, rng(dim));
  const query = queries.subarray(0, dim);
  const keys = index.keys();
  const some = keys.filter((_, i) => i % 4 === 1);
  return {
    size: index.size, keys, kind: index.keyKind, metric: index.metric, dtype: index.dtype,
    scores: await index.scores(query, { backend }),
    top: await index.search(query, { k: 12, backend }),
    filtered: await index.search(query, { k: 5, filter: some, backend }),
    batch: await index.searchBatch(queries, { k: 4, backend }),
    row: await index.get(keys[keys.length >> 1]!),
  };
}

function expectSame(a: Awaited<ReturnType<typeof answers>>, b: Awaited<ReturnType<typeof answers>>, label: string) {
  expect(b.size, label).toBe(a.size);
  expect(b.keys, label).toEqual(a.keys);
  expect([b.kind, b.metric, b.dtype], label).toEqual([a.kind, a.metric, a.dtype]);
  expectSameValues(b.scores, a.scores, `${label} scores`);
  for (const [x, y] of [[a.top, b.top], [a.filtered, b.filtered], ...a.batch.map((r, i) => [r, b.batch[i]!] as const)] as const) {
    expect(y.keys, label).toEqual(x.keys);
    expectSameValues(y.scores, x.scores, `${label} top scores`);
  }
  expectSameValues(b.row!, a.row!, `${label} get`);
}

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  let hs!: HybridEngine;
  beforeAll(async () => {
    if (skip) return;
    setStoreLimits(SMALL);
    hs = await engineFor(name);
  });
  afterAll(async () => {
    await hs?.dispose();
    resetStoreLimits();
  });

  it.skipIf(skip).each(CASES)('$dtype $metric dim $dim, $keyKind keys: save, load, same answers', async ({ dtype, metric, dim, keyKind }) => {
    const n = 900;
    const vectors = randomMatrix(n, dim, rng(dim * 7 + n));
    vectors.copyWithin(dim, 0, dim); // a tie
    const keys = Array.from({ length: n }, (_, i) => (keyKind === 'string' ? `κ-${i}` : i * 11 + 5));
    const index: VectorIndex<Key> = keyKind === 'default'
      ? await hs.createIndex(vectors, { dim, metric, dtype })
      : await hs.createIndex(vectors, { dim, metric, dtype, keys: keys as never });
    await index.remove(keyKind === 'default' ? [4, 9, 100, 101] : [keys[4]!, keys[9]!, keys[100]!, keys[101]!] as never);
    const before = await answers(index, dim, backend);
    const bytes = await index.toBytes();
    const path = join(folder, `${name}-${dtype}-${metric}-${keyKind}.hsx`);
    await index.save(path);
    expect(readFileSync(path).equals(Buffer.from(bytes))).toBe(true);
    for (const source of [path, bytes, bytes.slice().buffer, new Blob([bytes]), new Blob([bytes]).stream()]) {
      const loaded = await hs.loadIndex(source) as VectorIndex<Key>;
      expectSame(before, await answers(loaded, dim, backend), `${dtype}/${metric}/${keyKind} from ${source.constructor.name}`);
      expect(Buffer.from(await loaded.toBytes()).equals(Buffer.from(bytes)), 'saving the loaded index gives the same bytes').toBe(true);
      loaded.dispose();
    }
    // A loaded default-key index keeps counting where it was: no key is reused.
    const loaded = await hs.loadIndex(bytes) as VectorIndex<Key>;
    if (keyKind === 'default') {
      await loaded.add(randomMatrix(1, dim, rng(1)));
      expect(loaded.keys().at(-1)).toBe(n);
    } else {
      await loaded.add(randomMatrix(1, dim, rng(1)), { keys: [keyKind === 'string' ? 'new' : 7] as never });
      expect(loaded.has((keyKind === 'string' ? 'new' : 7) as never)).toBe(true);
    }
    loaded.dispose();
    index.dispose();
  });
});

describe('bad files', () => {
  it('truncated or damaged bytes are INVALID_FILE and add nothing to the engine', async () => {
    const hs = await engineFor('cpu');
    try {
      const dim = 8;
      const index = await hs.createIndex(randomMatrix(200, dim, rng(2)), { dim, keys: Array.from({ length: 200 }, (_, i) => `k${i}`) });
      const bytes = await index.toBytes();
      const count = () => (hs as unknown as { indexes: Set<unknown> }).indexes.size;
      const indexes = count();
      for (const broken of [bytes.subarray(0, bytes.length - 1), bytes.subarray(0, 100), Uint8Array.from(bytes, (b, i) => (i === 500 ? b ^ 1 : b))]) {
        const error = await hs.loadIndex(broken).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HybridError);
        expect((error as HybridError).code).toBe('INVALID_FILE');
        expect(count()).toBe(indexes);
      }
      await expect(hs.loadIndex(join(folder, 'no-such-file'))).rejects.toMatchObject({ code: 'IO_ERROR' });
      await expect(hs.loadIndex(42 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(index.save('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(index.save(join(folder, 'no-such-folder', 'x.hsx'))).rejects.toMatchObject({ code: 'IO_ERROR' });
      expect((await index.search(randomMatrix(1, dim, rng(3)), { k: 1 })).keys.length).toBe(1);
    } finally {
      await hs.dispose();
    }
  });
});
