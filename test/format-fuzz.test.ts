// Damaged files get INVALID_FILE and nothing else: every truncation, a flipped byte at every
// position (so in every section's frame, body, padding and checksum, and in the file header),
// and random damage to random images. Never another error, a crash, a commit, or a silent
// success with different content.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridError } from '../src/index.js';
import { decodeFile, graphToBytes, indexToBytes, type GraphSink, type IndexSink, type SectionReport } from '../src/store/format/index.js';
import { chunkedStream, makeGraphImage, makeIndexImage, rng, SHAPES } from './fixtures/format/support.js';

/** Sinks that keep nothing and note whether they were committed or aborted. */
function sinks(): { index: IndexSink; graph: GraphSink; committed: () => boolean; aborted: () => boolean } {
  let committed = false;
  let aborted = false;
  const ignore = () => undefined;
  const commit = () => { committed = true; };
  const abort = () => { aborted = true; };
  return {
    index: { begin: ignore, beginSegment: ignore, values: ignore, scales: ignore, dead: ignore, keys: ignore, endSegment: ignore, commit, abort },
    graph: { begin: ignore, offsets: ignore, sources: ignore, weights: ignore, commit, abort },
    committed: () => committed,
    aborted: () => aborted,
  };
}

/** Decoding `bytes` must fail with INVALID_FILE, abort, and not commit; returns the message. */
async function expectInvalid(bytes: Uint8Array | ReadableStream<Uint8Array>, what: string): Promise<string> {
  const s = sinks();
  let caught: unknown;
  try {
    await decodeFile(bytes, s);
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof HybridError) || caught.code !== 'INVALID_FILE') {
    expect.fail(`${what}: expected INVALID_FILE, got ${caught instanceof Error ? `${caught.name} ${(caught as HybridError).code ?? ''}: ${caught.message}` : String(caught)}`);
  }
  expect(s.committed(), `${what}: committed`).toBe(false);
  expect(s.aborted(), `${what}: aborted`).toBe(true);
  return caught.message;
}

async function files(): Promise<Array<[string, Uint8Array<ArrayBuffer>]>> {
  const out: Array<[string, Uint8Array<ArrayBuffer>]> = [];
  for (const spec of SHAPES) {
    const image = makeIndexImage({ ...spec, segmentRows: [6, 0, 1, 4], options: [{ name: 'o', value: true, ignorable: false }] });
    out.push([`index ${spec.dtype} ${spec.keyKind}`, await indexToBytes(image)]);
  }
  for (const nodes of [0, 5, 12]) out.push([`graph ${nodes} nodes`, await graphToBytes(makeGraphImage(nodes, 2, nodes, [{ name: 'g', value: 'x', ignorable: true }]))]);
  return out;
}

/** Which section (or the file header) each byte of an intact file belongs to. */
async function sectionOf(file: Uint8Array): Promise<string[]> {
  const sections: SectionReport[] = [];
  const s = sinks();
  await decodeFile(file, s, { onSection: (report) => sections.push(report) });
  const owner = new Array<string>(file.length).fill('file header');
  for (const section of sections) {
    const frameEnd = section.offset + 24;
    const bodyEnd = frameEnd + section.bodyBytes;
    const checksumAt = section.offset + section.totalBytes - 8;
    for (let i = section.offset; i < section.offset + section.totalBytes; i++) {
      owner[i] = `${section.name} ${i < frameEnd ? 'frame' : i < bodyEnd ? 'body' : i < checksumAt ? 'padding' : 'checksum'}`;
    }
  }
  return owner;
}

describe('damaged files: INVALID_FILE only', () => {
  it('every truncation of every file (bytes and streams)', async () => {
    for (const [name, file] of await files()) {
      for (let length = 0; length < file.length; length++) {
        const message = await expectInvalid(file.subarray(0, length), `${name} cut to ${length}`);
        if (length >= 8) expect(message, `${name} cut to ${length}`).toMatch(/truncated/);
      }
      for (let length = 0; length < file.length; length += 13) await expectInvalid(chunkedStream(file.slice(0, length), 40, length), `${name} streamed, cut to ${length}`);
    }
  });

  it('a flipped byte at every position of every file: every part of every section is covered', async () => {
    const random = rng(5);
    const hit = new Map<string, number>();
    for (const [name, file] of await files()) {
      const owner = await sectionOf(file);
      for (let at = 0; at < file.length; at++) {
        for (const mask of [1 << Math.floor(random() * 8), 1 + Math.floor(random() * 255)]) {
          const damaged = file.slice();
          damaged[at]! ^= mask;
          await expectInvalid(damaged, `${name}: byte ${at} (${owner[at]}) ^ ${mask}`);
        }
        const part = owner[at]!.replace(/^\S+ (frame|body|padding|checksum)$/, (all, p) => `${all.split(' ')[0]!.startsWith('GRAPH') ? 'graph' : 'index'} ${p}`);
        hit.set(owner[at]!, (hit.get(owner[at]!) ?? 0) + 1);
        hit.set(part, (hit.get(part) ?? 0) + 1);
      }
    }
    for (const name of ['INDEX_HEADER', 'SEGMENT', 'VALUES', 'SCALES', 'DEAD', 'NUMBER_KEYS', 'STRING_KEYS', 'GRAPH_HEADER', 'GRAPH_OFFSETS', 'GRAPH_SOURCES', 'GRAPH_WEIGHTS', 'END']) {
      for (const part of ['frame', 'body', 'checksum']) expect(hit.get(`${name} ${part}`), `${name} ${part}`).toBeGreaterThan(0);
    }
    expect(hit.get('file header')).toBeGreaterThan(0);
    expect(hit.get('index padding')).toBeGreaterThan(0);
  });

  it('random images with random damage (truncation, flips, inserted or removed bytes), from bytes and streams', async () => {
    const spec = fc.record({
      dim: fc.integer({ min: 1, max: 9 }),
      metric: fc.constantFrom('cosine' as const, 'dot' as const, 'l2' as const),
      dtype: fc.constantFrom('f32' as const, 'f16' as const, 'i8' as const),
      keyKind: fc.constantFrom('default' as const, 'number' as const, 'string' as const),
      segmentRows: fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 4 }),
      dead: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer({ min: 1, max: 1e6 }),
    });
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 0.9999, noNaN: true }) }),
      fc.record({ kind: fc.constant('flip' as const), positions: fc.array(fc.tuple(fc.double({ min: 0, max: 0.9999, noNaN: true }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 5 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.double({ min: 0, max: 0.9999, noNaN: true }), count: fc.integer({ min: 1, max: 16 }) }),
    );
    await fc.assert(fc.asyncProperty(spec, damage, fc.boolean(), async (s, d, stream) => {
      const file = await indexToBytes(makeIndexImage(s));
      let damaged: Uint8Array<ArrayBuffer>;
      if (d.kind === 'cut') damaged = file.slice(0, Math.floor(d.at * file.length));
      else if (d.kind === 'flip') {
        damaged = file.slice();
        for (const [p, mask] of d.positions) damaged[Math.floor(p * file.length)]! ^= mask;
        // Two flips of one byte with the same mask undo each other: then it is the intact file.
        if (damaged.every((b, i) => b === file[i])) return;
      } else if (d.kind === 'insert') {
        const at = Math.floor(d.at * file.length);
        damaged = new Uint8Array(file.length + d.bytes.length);
        damaged.set(file.subarray(0, at));
        damaged.set(d.bytes, at);
        damaged.set(file.subarray(at), at + d.bytes.length);
      } else {
        const at = Math.floor(d.at * file.length);
        damaged = new Uint8Array(file.length - Math.min(d.count, file.length - at));
        damaged.set(file.subarray(0, at));
        damaged.set(file.subarray(at + d.count), at);
      }
      await expectInvalid(stream ? chunkedStream(damaged, 64, s.seed) : damaged, `${JSON.stringify(s)} ${d.kind}`);
    }), { numRuns: 300, seed: 15 });
  });
});
