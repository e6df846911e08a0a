// The file format (docs/FORMAT.md): encode -> decode round trips for every dtype, metric and key
// kind with dead rows, from every kind of source; bounded pieces and buffers; the sink contract;
// the encoder's checks of an image; the reader's answers to files that are not right.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HybridError } from '../src/index.js';
import {
  decodeFile, decodeIndex, encodeGraph, encodeIndex, graphToBytes, indexFileLength, indexToBytes, joinPieces, readGraphImage,
  readIndexImage, type CollectedIndex, type FileSource, type IndexImage, type IndexSegmentImage, type IndexSink,
} from '../src/store/format/index.js';
import { bytes, chunkedStream, expectedSegments, makeGraphImage, makeIndexImage, SHAPES, type IndexSpec } from './fixtures/format/support.js';

const scratch = mkdtempSync(join(tmpdir(), 'hs-format-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function expectImage(decoded: CollectedIndex, image: IndexImage & { segments: IndexSegmentImage[] }): void {
  expect(decoded.header).toEqual(image.header);
  const want = expectedSegments(image);
  expect(decoded.segments.length).toBe(want.length);
  decoded.segments.forEach((s, i) => {
    const w = want[i]!;
    expect(s.rows).toBe(w.rows);
    expect(Buffer.from(s.values).equals(Buffer.from(w.values)), `segment ${i} values`).toBe(true);
    expect(Array.from(s.dead)).toEqual(Array.from(w.dead));
    expect(Array.from(s.keys as ArrayLike<number | string>)).toEqual(w.keys);
    if (w.scales) expect(Array.from(s.scales!)).toEqual(w.scales);
    else expect(s.scales).toBeUndefined();
  });
}

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<HybridError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'an error was thrown').toBeInstanceOf(HybridError);
  const error = caught as HybridError;
  expect(error.code, error.message).toBe(code);
  if (message) expect(error.message).toMatch(message);
  return error;
}

/** The sources one file can come from. */
function sources(file: Uint8Array<ArrayBuffer>, name: string): Array<[string, () => FileSource]> {
  const path = join(scratch, `${name}.hsf`);
  writeFileSync(path, file);
  const odd = new Uint8Array(file.length + 3);
  odd.set(file, 3);
  return [
    ['Uint8Array', () => file],
    ['Uint8Array at an odd offset', () => odd.subarray(3)],
    ['ArrayBuffer', () => file.slice().buffer],
    ['Blob', () => new Blob([file])],
    ['ReadableStream (random chunks)', () => chunkedStream(file, 97)],
    ['ReadableStream (one chunk)', () => new Blob([file]).stream()],
    ['path', () => path],
  ];
}

describe('index files: round trips', () => {
  for (const spec of SHAPES) {
    const name = `${spec.dtype}-${spec.keyKind}-${spec.metric}-dim${spec.dim}`;
    it(`${name}: every source decodes to the image; re-encoding gives the same bytes`, async () => {
      const image = makeIndexImage({ ...spec, options: [{ name: 'answer', value: 42.5, ignorable: false }, { name: 'note', value: 'ü', ignorable: true }] });
      const file = await indexToBytes(image);
      expect(file.length).toBe(indexFileLength(image));
      expect(Buffer.from(await joinPieces(encodeIndex(image))).equals(Buffer.from(file))).toBe(true);
      for (const [kind, source] of sources(file, name)) {
        const decoded = await readIndexImage(source(), { bufferBytes: 64 << 10 });
        expectImage(decoded, image);
        const again = await indexToBytes(decoded);
        expect(Buffer.from(again).equals(Buffer.from(file)), `${kind}: re-encoded`).toBe(true);
      }
    });
  }

  it('an empty index (no segments), and segments of 0 rows only', async () => {
    for (const segmentRows of [[], [0], [0, 0]]) {
      const image = makeIndexImage({ dim: 7, metric: 'l2', dtype: 'i8', keyKind: 'string', segmentRows });
      const decoded = await readIndexImage(await indexToBytes(image));
      expectImage(decoded, image);
    }
  });

  it('rows larger than the buffer (one row per piece) and a key longer than the buffer', async () => {
    const spec: IndexSpec = { dim: 20_000, metric: 'dot', dtype: 'f32', keyKind: 'string', segmentRows: [3, 2] };
    const image = makeIndexImage(spec);
    (image.segments[0]!.keys as string[])[1] = 'k'.repeat(100_000);
    const file = await indexToBytes(image, { pieceBytes: 64 << 10 });
    for (const [, source] of sources(file, 'wide')) expectImage(await readIndexImage(source(), { bufferBytes: 64 << 10 }), image);
  });

  it('values given in pieces (a store that re-lays rows out) and as a SharedArrayBuffer view', async () => {
    const image = makeIndexImage({ dim: 6, metric: 'cosine', dtype: 'f32', keyKind: 'default', segmentRows: [40] });
    const values = bytes(image.segments[0]!.values as ArrayBufferView);
    const shared = new Uint8Array(new SharedArrayBuffer(values.length));
    shared.set(values);
    const pieces = function* () {
      for (let at = 0; at < values.length; at += 100) yield values.subarray(at, at + 100);
    };
    const asPieces = { ...image, header: image.header, segments: [{ ...image.segments[0]!, values: pieces() }] };
    const asShared = { ...image, segments: [{ ...image.segments[0]!, values: shared }] };
    const file = await indexToBytes(image);
    expect(Buffer.from(await joinPieces(encodeIndex(asPieces))).equals(Buffer.from(file))).toBe(true);
    expect(Buffer.from(await indexToBytes(asShared)).equals(Buffer.from(file))).toBe(true);
    const sharedFile = new Uint8Array(new SharedArrayBuffer(file.length));
    sharedFile.set(file);
    expectImage(await readIndexImage(sharedFile), image);
  });

  it('segments from an async iterable', async () => {
    const image = makeIndexImage({ dim: 3, metric: 'l2', dtype: 'f16', keyKind: 'number', segmentRows: [5, 6] });
    const lazy = { header: image.header, segments: (async function* () { for (const s of image.segments) yield s; })() };
    expect(Buffer.from(await indexToBytes(lazy)).equals(Buffer.from(await indexToBytes(image)))).toBe(true);
  });
});

describe('bounded memory', () => {
  it('encoder pieces never exceed pieceBytes; rows pass through as views of the image', async () => {
    const image = makeIndexImage({ dim: 100, metric: 'cosine', dtype: 'f32', keyKind: 'string', segmentRows: [3000, 1000] });
    const values = image.segments[0]!.values as Float32Array;
    let largest = 0;
    let views = 0;
    for await (const piece of encodeIndex(image, { pieceBytes: 64 << 10 })) {
      largest = Math.max(largest, piece.length);
      if (piece.buffer === values.buffer) views++;
    }
    expect(largest).toBeLessThanOrEqual(64 << 10);
    expect(views).toBeGreaterThan(10);
  });

  it('a Blob is read in slices of at most the buffer, a stream chunk by chunk, the sink gets bounded pieces', async () => {
    const image = makeIndexImage({ dim: 64, metric: 'dot', dtype: 'f32', keyKind: 'number', segmentRows: [5000] });
    const file = await indexToBytes(image);
    const blob = new Blob([file]);
    const sliceSizes: number[] = [];
    const slice = blob.slice.bind(blob);
    blob.slice = (start?: number, end?: number) => {
      sliceSizes.push((end ?? blob.size) - (start ?? 0));
      return slice(start, end);
    };
    const pieceSizes: number[] = [];
    const sink = recordingSink((name, size) => { if (name === 'values') pieceSizes.push(size); });
    await decodeIndex(blob, sink, { bufferBytes: 64 << 10 });
    expect(sink.calls.at(-1)).toBe('commit');
    expect(Math.max(...sliceSizes)).toBeLessThanOrEqual(64 << 10);
    expect(sliceSizes.length).toBeGreaterThan(file.length / (64 << 10));
    expect(Math.max(...pieceSizes)).toBeLessThanOrEqual(64 << 10);
    expect(pieceSizes.reduce((a, b) => a + b, 0)).toBe(5000 * 64 * 4);
  });
});

/** An IndexSink that records its calls (and piece sizes) and keeps nothing. */
function recordingSink(onPiece: (name: string, bytes: number) => void = () => undefined): IndexSink & { calls: string[] } {
  const calls: string[] = [];
  const record = (name: string) => (piece?: unknown) => {
    calls.push(name);
    if (ArrayBuffer.isView(piece)) onPiece(name, piece.byteLength);
  };
  return {
    calls, begin: record('begin'), beginSegment: record('beginSegment'), values: record('values'), scales: record('scales'), dead: record('dead'),
    keys: record('keys'), endSegment: record('endSegment'), commit: record('commit'), abort: record('abort'),
  };
}

describe('the sink contract', () => {
  it('calls come in order; commit only after the whole file verified; abort instead on a bad file', async () => {
    const image = makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'i8', keyKind: 'default', segmentRows: [10, 3] });
    const file = await indexToBytes(image);
    const good = recordingSink();
    await decodeIndex(file, good);
    const compact = good.calls.filter((c, i) => c !== good.calls[i - 1]);
    expect(compact).toEqual(['begin', 'beginSegment', 'values', 'scales', 'dead', 'keys', 'endSegment', 'beginSegment', 'values', 'scales', 'dead', 'keys', 'endSegment', 'commit']);
    // The last byte is END's checksum: everything was delivered, and still no commit.
    const bad = file.slice();
    bad[bad.length - 1]! ^= 1;
    const sink = recordingSink();
    await expectCode(decodeIndex(bad, sink), 'INVALID_FILE', /checksum mismatch in section END/);
    expect(sink.calls).toContain('endSegment');
    expect(sink.calls).not.toContain('commit');
    expect(sink.calls.at(-1)).toBe('abort');
  });

  it("a sink's own error aborts the decode and is what the caller gets", async () => {
    const file = await indexToBytes(makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'f32', keyKind: 'number', segmentRows: [10] }));
    const sink = recordingSink();
    sink.keys = () => { throw new HybridError('INVALID_FILE', 'duplicate key 7'); };
    await expectCode(decodeIndex(file, sink), 'INVALID_FILE', /duplicate key 7/);
    expect(sink.calls.at(-1)).toBe('abort');
    const unknownOption = recordingSink();
    unknownOption.begin = () => { throw new Error('refused'); };
    await expect(decodeIndex(file, unknownOption)).rejects.toThrow('refused');
    expect(unknownOption.calls).toEqual(['abort']);
  });

  it('a stream is cancelled when the file is bad', async () => {
    const file = await indexToBytes(makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'f32', keyKind: 'number', segmentRows: [1000] }));
    file[200]! ^= 0x10;
    let cancelled = false;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= file.length) return controller.close();
        controller.enqueue(file.slice(at, at + 64));
        at += 64;
      },
      cancel() { cancelled = true; },
    });
    await expectCode(decodeIndex(stream, recordingSink()), 'INVALID_FILE', /checksum mismatch/);
    expect(cancelled).toBe(true);
  });
});

describe('what the reader refuses', () => {
  it('not this format, an unknown version (named), the wrong kind, bytes after the end', async () => {
    const file = await indexToBytes(makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'f32', keyKind: 'default', segmentRows: [3] }));
    await expectCode(readIndexImage(new TextEncoder().encode('{"not": "this"}')), 'INVALID_FILE', /not a hybrid-similarity file/);
    await expectCode(readIndexImage(new Uint8Array(0)), 'INVALID_FILE', /truncated/);
    const v7 = file.slice();
    new DataView(v7.buffer).setUint32(8, 7, true);
    await expectCode(readIndexImage(v7), 'INVALID_FILE', /unknown format version 7/);
    await expectCode(readGraphImage(file), 'INVALID_FILE', /index file, not a graph file/);
    const graph = await graphToBytes(makeGraphImage(5, 2));
    await expectCode(readIndexImage(graph), 'INVALID_FILE', /graph file, not an index file/);
    const longer = new Uint8Array(file.length + 8);
    longer.set(file);
    await expectCode(readIndexImage(longer), 'INVALID_FILE', /bytes follow the end section/);
    await expectCode(readIndexImage(chunkedStream(longer, 50)), 'INVALID_FILE', /bytes follow the end section/);
  });

  it('IO_ERROR with the cause for a missing file or a folder; INVALID_ARGUMENT for a source of the wrong type', async () => {
    const missing = await expectCode(readIndexImage(join(scratch, 'nope.hsf')), 'IO_ERROR', /nope\.hsf/);
    expect((missing.cause as { code?: string }).code).toBe('ENOENT');
    await expectCode(readIndexImage(scratch), 'IO_ERROR');
    await expectCode(readIndexImage(42 as unknown as FileSource), 'INVALID_ARGUMENT', /source must be/);
    await expectCode(readIndexImage(new ReadableStream({ start(c) { c.enqueue('text'); c.close(); } }) as unknown as FileSource), 'INVALID_ARGUMENT', /not a Uint8Array/);
    const failing = new ReadableStream<Uint8Array>({ pull() { throw new Error('network down'); } });
    const error = await expectCode(readIndexImage(failing), 'IO_ERROR', /network down/);
    expect((error.cause as Error).message).toBe('network down');
  });

  it('options: an unknown value type is skipped when ignorable, refused otherwise', async () => {
    const image = makeIndexImage({ dim: 2, metric: 'dot', dtype: 'f32', keyKind: 'default', segmentRows: [2], options: [{ name: 'x', value: true, ignorable: true }] });
    const file = await indexToBytes(image);
    // Rewrite the option's type (byte 1 of the entry, 40 bytes into INDEX_HEADER's body) and fix the checksums.
    const patch = async (flags: number) => {
      const copy = file.slice();
      const body = 32 + 24;
      copy[body + 40] = flags;
      copy[body + 41] = 9;
      const { checksums } = await import('../src/store/format/checksum.js');
      const sums = await checksums();
      const length = Number(new DataView(copy.buffer).getBigUint64(32 + 8, true));
      const padded = length + ((8 - (length % 8)) % 8);
      new DataView(copy.buffer).setBigUint64(body + padded, sums.of(copy.subarray(body, body + padded)), true);
      return copy;
    };
    const skipped = await readIndexImage(await patch(1));
    expect(skipped.header.options).toEqual([]);
    await expectCode(readIndexImage(await patch(0)), 'INVALID_FILE', /option 'x' has an unknown value type 9/);
  });
});

describe("the encoder's checks of an image (INVALID_ARGUMENT naming the field; nothing usable is produced)", () => {
  const base = () => makeIndexImage({ dim: 3, metric: 'cosine', dtype: 'i8', keyKind: 'default', segmentRows: [4, 5] });
  const cases: Array<[string, (image: ReturnType<typeof base>) => unknown, RegExp]> = [
    ['dim 0', (im) => ({ ...im, header: { ...im.header, dim: 0 } }), /header\.dim/],
    ['an unknown metric', (im) => ({ ...im, header: { ...im.header, metric: 'cos' } }), /header\.metric/],
    ['an unknown dtype', (im) => ({ ...im, header: { ...im.header, dtype: 'u8' } }), /header\.dtype/],
    ['liveRows that do not add up', (im) => ({ ...im, header: { ...im.header, liveRows: im.header.liveRows - 1 } }), /header\.liveRows/],
    ['rows that do not add up', (im) => ({ ...im, header: { ...im.header, rows: im.header.rows + 1, liveRows: im.header.liveRows + 1 } }), /header\.rows/],
    ['one segment too many', (im) => ({ ...im, header: { ...im.header, segmentCount: 1 } }), /segmentCount/],
    ['values one byte short', (im) => ({ ...im, segments: [{ ...im.segments[0]!, values: bytes(im.segments[0]!.values as ArrayBufferView).subarray(1) }, im.segments[1]] }), /segments\[0\]\.values holds 11 bytes/],
    ['no scales for i8', (im) => ({ ...im, segments: [{ ...im.segments[0]!, scales: undefined }, im.segments[1]] }), /segments\[0\]\.scales/],
    ['a NaN scale', (im) => ({ ...im, segments: [{ ...im.segments[0]!, scales: Float32Array.of(1, NaN, 1, 1) }, im.segments[1]] }), /scales\[1\] is not finite/],
    ['a short dead bitmap', (im) => ({ ...im, segments: [{ ...im.segments[0]!, dead: new Uint8Array(0) }, im.segments[1]] }), /segments\[0\]\.dead/],
    ['a key too few', (im) => ({ ...im, segments: [{ ...im.segments[0]!, keys: [0, 1, 2] }, im.segments[1]] }), /segments\[0\]\.keys must hold 4/],
    ['a negative key', (im) => ({ ...im, segments: [{ ...im.segments[0]!, keys: [0, -1, 2, 3] }, im.segments[1]] }), /keys\[1\] is -1/],
    ['a default key at nextDefaultKey', (im) => ({ ...im, segments: [{ ...im.segments[0]!, keys: [0, 1, 2, im.header.nextDefaultKey] }, im.segments[1]] }), /not below header\.nextDefaultKey/],
    ['a key above 2^53', (im) => ({ ...im, header: { ...im.header, keyKind: 'number', nextDefaultKey: 0 }, segments: [{ ...im.segments[0]!, keys: [0, 2 ** 53, 2, 3] }, im.segments[1]] }), /not a non-negative safe integer/],
    ['a lone surrogate in a string key', (im) => ({ ...im, header: { ...im.header, keyKind: 'string', nextDefaultKey: 0 }, segments: [{ ...im.segments[0]!, keys: ['a', '\uD800', 'b', 'c'] }, { ...im.segments[1]!, keys: ['1', '2', '3', '4', '5'] }] }), /lone surrogate/],
    ['a duplicated option', (im) => ({ ...im, header: { ...im.header, options: [{ name: 'a', value: 1, ignorable: false }, { name: 'a', value: 2, ignorable: false }] } }), /appears twice/],
    ['a NaN option', (im) => ({ ...im, header: { ...im.header, options: [{ name: 'a', value: NaN, ignorable: false }] } }), /must be finite/],
  ];
  for (const [name, change, message] of cases) {
    it(name, async () => {
      await expectCode(joinPieces(encodeIndex(change(base()) as IndexImage)), 'INVALID_ARGUMENT', message);
    });
  }

  it('graphs: offsets out of order, a source out of range, a NaN weight', async () => {
    const g = makeGraphImage(6, 2);
    await expectCode(joinPieces(encodeGraph({ ...g, offsets: Uint32Array.from(g.offsets).reverse() })), 'INVALID_ARGUMENT', /offsets/);
    const sources = g.sources.slice();
    sources[0] = 6;
    await expectCode(joinPieces(encodeGraph({ ...g, sources })), 'INVALID_ARGUMENT', /sources\[0\] is 6/);
    const weights = g.weights.slice();
    weights[1] = NaN;
    await expectCode(graphToBytes({ ...g, weights }), 'INVALID_ARGUMENT', /weights\[1\] is not finite/);
  });
});

describe('graph files', () => {
  for (const [nodes, perNode] of [[0, 0], [1, 0], [1, 3], [7, 2], [3000, 5]] as const) {
    it(`${nodes} nodes: every source decodes to the image; re-encoding gives the same bytes`, async () => {
      const image = makeGraphImage(nodes, perNode, nodes + 1, [{ name: 'fan', value: 'sqrtOutDegree', ignorable: false }]);
      const file = await graphToBytes(image, { pieceBytes: 64 << 10 });
      for (const [, source] of sources(file, `graph-${nodes}`)) {
        const decoded = await readGraphImage(source(), { bufferBytes: 64 << 10 });
        expect(decoded.header).toEqual(image.header);
        expect(Array.from(decoded.offsets)).toEqual(Array.from(image.offsets));
        expect(Array.from(decoded.sources)).toEqual(Array.from(image.sources));
        expect(Buffer.from(bytes(decoded.weights)).equals(Buffer.from(bytes(image.weights)))).toBe(true);
        expect(Buffer.from(await graphToBytes(decoded)).equals(Buffer.from(file))).toBe(true);
      }
    });
  }

  it('decodeFile tells the kind, version and length', async () => {
    const file = await graphToBytes(makeGraphImage(4, 1));
    const ignore = () => undefined;
    const result = await decodeFile(file, { graph: { begin: ignore, offsets: ignore, sources: ignore, weights: ignore, commit: ignore, abort: ignore } });
    expect(result).toEqual({ kind: 'graph', version: 1, bytes: file.length });
  });
});

describe('in a browser build', () => {
  it("bundles for browsers without Node built-ins ('#platform' is browser.ts) and decodes Blobs and streams there; a path is INVALID_ARGUMENT", async () => {
    const { build } = await import('esbuild');
    const { builtinModules } = await import('node:module');
    const { pathToFileURL } = await import('node:url');
    const root = join(import.meta.dirname, '..');
    const result = await build({
      entryPoints: [join(root, 'dist', 'store', 'format', 'index.js')], bundle: true, format: 'esm', platform: 'browser',
      write: false, metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('dist/platform/browser.js');
    expect(inputs).not.toContain('dist/platform/node.js');
    const nodeOnly = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    for (const input of Object.values(result.metafile.inputs)) for (const i of input.imports) expect(nodeOnly.has(i.path), i.path).toBe(false);
    const file = join(scratch, 'format-browser.mjs');
    writeFileSync(file, result.outputFiles[0]!.text);
    const browser = await import(pathToFileURL(file).href) as typeof import('../src/store/format/index.js');
    const image = makeIndexImage({ dim: 5, metric: 'l2', dtype: 'i8', keyKind: 'string', segmentRows: [9, 2] });
    const bytesOut = await browser.indexToBytes(image);
    expect(Buffer.from(bytesOut).equals(Buffer.from(await indexToBytes(image)))).toBe(true);
    expectImage(await browser.readIndexImage(new Blob([bytesOut])), image);
    expectImage(await browser.readIndexImage(chunkedStream(bytesOut, 33)), image);
    // The bundle has its own copy of HybridError: compared by name and code.
    for (const call of [browser.readIndexImage(join(scratch, 'x.hsf')), browser.saveIndexFile(join(scratch, 'x.hsf'), image)]) {
      const error = await call.then(() => undefined, (e: unknown) => e as HybridError);
      expect(error?.name).toBe('HybridError');
      expect(error?.code).toBe('INVALID_ARGUMENT');
      expect(error?.message).toMatch(/needs Node/);
    }
  });
});
