// Files of each format version, kept in the repository with their expected contents
// (test/fixtures/format/vN/NAME.hsf + NAME.json): every later release must still load them to
// exactly these contents. UPDATE_FORMAT_FIXTURES=1 writes the current version's files (only
// ever for a new version: the files of an existing one never change).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  FORMAT_VERSION, graphToBytes, indexToBytes, readGraphImage, readIndexImage, type GraphImage, type IndexImage, type IndexSegmentImage,
} from '../src/store/format/index.js';
import { expectedSegments, makeGraphImage, makeIndexImage } from './fixtures/format/support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'format');

/** Values as JSON numbers: f32 as floats, f16 as their 16-bit patterns, i8 as integers. */
function valuesOf(bytes: Uint8Array, dtype: string): number[] {
  const copy = bytes.slice();
  if (dtype === 'f32') return Array.from(new Float32Array(copy.buffer));
  if (dtype === 'f16') return Array.from(new Uint16Array(copy.buffer));
  return Array.from(new Int8Array(copy.buffer));
}

function indexJson(image: IndexImage & { segments: IndexSegmentImage[] }) {
  return {
    kind: 'index', header: image.header,
    segments: expectedSegments(image).map((s) => ({ rows: s.rows, values: valuesOf(s.values, image.header.dtype), dead: Array.from(s.dead), keys: s.keys, ...(s.scales ? { scales: s.scales } : {}) })),
  };
}

function graphJson(image: GraphImage) {
  return { kind: 'graph', header: image.header, offsets: Array.from(image.offsets), sources: Array.from(image.sources), weights: Array.from(image.weights) };
}

/** The files written for this version (UPDATE_FORMAT_FIXTURES=1). */
async function currentFixtures(): Promise<Array<[string, Uint8Array, unknown]>> {
  const f32 = makeIndexImage({ dim: 5, metric: 'cosine', dtype: 'f32', keyKind: 'default', segmentRows: [6, 0, 3], seed: 101 });
  const f16 = makeIndexImage({ dim: 3, metric: 'l2', dtype: 'f16', keyKind: 'number', segmentRows: [4, 5], seed: 102, options: [{ name: 'example', value: 1.5, ignorable: true }] });
  const i8 = makeIndexImage({ dim: 7, metric: 'dot', dtype: 'i8', keyKind: 'string', segmentRows: [5, 2], seed: 103 });
  const empty = makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'f32', keyKind: 'number', segmentRows: [], seed: 104 });
  const graph = makeGraphImage(6, 2, 105, [{ name: 'fan', value: 'outDegree', ignorable: false }]);
  return [
    ['index-f32-default-cosine', await indexToBytes(f32), indexJson(f32)],
    ['index-f16-number-l2', await indexToBytes(f16), indexJson(f16)],
    ['index-i8-string-dot', await indexToBytes(i8), indexJson(i8)],
    ['index-empty', await indexToBytes(empty), indexJson(empty)],
    ['graph-6-nodes', await graphToBytes(graph), graphJson(graph)],
  ];
}

if (process.env.UPDATE_FORMAT_FIXTURES === '1') {
  const folder = join(root, `v${FORMAT_VERSION}`);
  mkdirSync(folder, { recursive: true });
  for (const [name, file, json] of await currentFixtures()) {
    writeFileSync(join(folder, `${name}.hsf`), file);
    writeFileSync(join(folder, `${name}.json`), `${JSON.stringify(json, null, 1)}\n`);
  }
}

const versions = readdirSync(root).filter((d) => /^v\d+$/.test(d)).sort();

describe('fixture files of every format version', () => {
  it('there are fixtures of version 1 and of the version this library writes', () => {
    expect(versions).toContain('v1');
    expect(versions).toContain(`v${FORMAT_VERSION}`);
  });

  for (const version of versions) {
    const folder = join(root, version);
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.hsf'))) {
      it(`${version}/${file} loads to its expected contents`, async () => {
        const path = join(folder, file);
        const expected = JSON.parse(readFileSync(path.replace(/\.hsf$/, '.json'), 'utf8'));
        if (expected.kind === 'index') {
          const image = await readIndexImage(path);
          expect(image.header).toEqual(expected.header);
          expect(image.segments.map((s) => ({
            rows: s.rows, values: valuesOf(s.values, image.header.dtype), dead: Array.from(s.dead), keys: Array.from(s.keys as ArrayLike<number | string>),
            ...(s.scales ? { scales: Array.from(s.scales) } : {}),
          }))).toEqual(expected.segments);
        } else {
          expect(graphJson(await readGraphImage(path))).toEqual(expected);
        }
      });
    }
  }

  it(`this version's encoder writes the v${FORMAT_VERSION} fixtures' contents to exactly their bytes (a change of bytes needs a new version)`, async () => {
    const folder = join(root, `v${FORMAT_VERSION}`);
    const names = readdirSync(folder).filter((f) => f.endsWith('.hsf'));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) {
      const file = readFileSync(join(folder, name));
      const again = name.startsWith('graph')
        ? await graphToBytes(await readGraphImage(file))
        : await indexToBytes(await readIndexImage(file));
      expect(Buffer.from(again).equals(file), name).toBe(true);
    }
  });
});
