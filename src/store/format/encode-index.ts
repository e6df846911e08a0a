// An IndexImage as the bytes of an index file (docs/FORMAT.md, "Index files"), in bounded
// pieces, segment by segment: the store's rows pass through as views (no copy of the rows).
import { bytesOf } from './binary.js';
import { checksums } from './checksum.js';
import { DTYPE_CODES, DTYPE_WIDTH, KEY_KIND_CODES, MAX_U64_VALUE, METRIC_CODES } from './constants.js';
import { invalidImage } from './errors.js';
import { indexHeaderBody, segmentBody } from './headers.js';
import { numberKeyParts, stringKeyLayout, stringKeyParts } from './keys-encode.js';
import { pieceBytesOption } from './piece-size.js';
import { byteParts, FileWriter } from './section-writer.js';
import type { EncodeOptions, IndexHeader, IndexImage, IndexSegmentImage } from './types.js';

/** Set bits per byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
});

function count(value: unknown, field: string, max = MAX_U64_VALUE): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalidImage(`${field} must be an integer from 0 to ${max}, got ${String(value)}`, field);
  }
  return value;
}

function oneOf<T extends string>(values: readonly T[], value: unknown, field: string): T {
  if (!values.includes(value as T)) throw invalidImage(`${field} must be ${values.map((v) => `'${v}'`).join(', ')}; got ${String(value)}`, field);
  return value as T;
}

/** The image's header, checked (INVALID_ARGUMENT naming the field). */
export function checkIndexHeader(header: IndexHeader): IndexHeader {
  if (typeof header !== 'object' || header === null) throw invalidImage('image.header must be an object', 'header');
  const dim = count(header.dim, 'header.dim', 2 ** 32 - 1);
  if (dim < 1) throw invalidImage('header.dim must be at least 1', 'header.dim');
  const metric = oneOf(METRIC_CODES, header.metric, 'header.metric');
  const dtype = oneOf(DTYPE_CODES, header.dtype, 'header.dtype');
  const keyKind = oneOf(KEY_KIND_CODES, header.keyKind, 'header.keyKind');
  const rows = count(header.rows, 'header.rows');
  const liveRows = count(header.liveRows, 'header.liveRows');
  const nextDefaultKey = count(header.nextDefaultKey, 'header.nextDefaultKey');
  const segmentCount = count(header.segmentCount, 'header.segmentCount', 2 ** 32 - 1);
  if (liveRows > rows) throw invalidImage(`header.liveRows ${liveRows} is above header.rows ${rows}`, 'header.liveRows');
  if (rows * dim * DTYPE_WIDTH[dtype] > MAX_U64_VALUE) throw invalidImage(`header.rows x header.dim is too large`, 'header.rows');
  if (keyKind === 'default' && nextDefaultKey < liveRows) throw invalidImage(`header.nextDefaultKey ${nextDefaultKey} is below header.liveRows ${liveRows}`, 'header.nextDefaultKey');
  if (keyKind !== 'default' && nextDefaultKey !== 0) throw invalidImage(`header.nextDefaultKey must be 0 for ${keyKind} keys`, 'header.nextDefaultKey');
  if (rows > 0 && segmentCount === 0) throw invalidImage(`header.rows is ${rows} in 0 segments`, 'header.segmentCount');
  return { dim, metric, dtype, keyKind, nextDefaultKey, rows, liveRows, segmentCount, options: header.options };
}

/**
 * The bytes of an index file for `image`, as pieces of at most `options.pieceBytes` (4 MiB),
 * to be written in order (a piece may be a view of the image's memory: write it, or copy it,
 * before asking for the next). Checks the image on the way: INVALID_ARGUMENT naming the field
 * for anything that would not load again (a count that does not add up, a key that is not a
 * safe integer or not well-formed Unicode, a non-finite scale), thrown from the iteration, so
 * that a save stops and leaves no file.
 */
export async function* encodeIndex(image: IndexImage, options: EncodeOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const pieceBytes = pieceBytesOption(options.pieceBytes, 'pieceBytes');
  if (typeof image !== 'object' || image === null) throw invalidImage('image must be an object { header, segments }', 'image');
  const header = checkIndexHeader(image.header);
  const out = new FileWriter(await checksums(), pieceBytes);
  yield* out.fileHeader('index');
  yield* out.smallSection('INDEX_HEADER', indexHeaderBody(header));
  const segments = image.segments;
  if (typeof segments !== 'object' || segments === null || !(Symbol.iterator in segments || Symbol.asyncIterator in segments)) {
    throw invalidImage('image.segments must be an iterable of segments', 'segments');
  }
  let index = 0;
  let firstRow = 0;
  let dead = 0;
  for await (const segment of segments as AsyncIterable<IndexSegmentImage>) {
    const field = `segments[${index}]`;
    if (index >= header.segmentCount) throw invalidImage(`image.segments holds more than header.segmentCount ${header.segmentCount} segments`, 'segments');
    if (typeof segment !== 'object' || segment === null) throw invalidImage(`${field} must be an object`, field);
    const rows = count(segment.rows, `${field}.rows`);
    if (firstRow + rows > header.rows) throw invalidImage(`the segments hold more than header.rows ${header.rows} rows`, `${field}.rows`);
    yield* out.smallSection('SEGMENT', segmentBody({ index, firstRow, rows }));
    yield* out.section('VALUES', rows * header.dim * DTYPE_WIDTH[header.dtype], byteParts(segment.values, pieceBytes, `${field}.values`), `${field}.values`);
    if (header.dtype === 'i8') {
      const scales = segment.scales;
      if (!(scales instanceof Float32Array) || scales.length !== rows) throw invalidImage(`${field}.scales must be a Float32Array of ${rows} scales (dtype i8)`, `${field}.scales`);
      for (let r = 0; r < rows; r++) if (!Number.isFinite(scales[r]!)) throw invalidImage(`${field}.scales[${r}] is not finite`, `${field}.scales`);
      yield* out.section('SCALES', 4 * rows, byteParts(scales, pieceBytes, `${field}.scales`), `${field}.scales`);
    } else if (segment.scales !== undefined) {
      throw invalidImage(`${field}.scales is for dtype i8 only`, `${field}.scales`);
    }
    const bitmap = deadBitmap(segment.dead, rows, `${field}.dead`);
    for (const byte of bitmap) dead += POPCOUNT[byte]!;
    yield* out.section('DEAD', bitmap.length, [bitmap], `${field}.dead`, true);
    const keys = segment.keys;
    if (typeof keys !== 'object' || keys === null || typeof keys.length !== 'number' || keys.length !== rows) {
      throw invalidImage(`${field}.keys must hold ${rows} keys, one per row`, `${field}.keys`);
    }
    if (header.keyKind === 'string') {
      const layout = stringKeyLayout(keys, rows, `${field}.keys`);
      yield* out.section('STRING_KEYS', layout.bodyBytes, stringKeyParts(keys, layout, pieceBytes), `${field}.keys`, true);
    } else {
      yield* out.section('NUMBER_KEYS', 8 * rows, numberKeyParts(keys as ArrayLike<number>, rows, header.keyKind, header.nextDefaultKey, pieceBytes, `${field}.keys`), `${field}.keys`, true);
    }
    index++;
    firstRow += rows;
  }
  if (index !== header.segmentCount) throw invalidImage(`image.segments holds ${index} segments, header.segmentCount is ${header.segmentCount}`, 'segments');
  if (firstRow !== header.rows) throw invalidImage(`the segments hold ${firstRow} rows, header.rows is ${header.rows}`, 'header.rows');
  if (header.rows - dead !== header.liveRows) throw invalidImage(`the segments hold ${header.rows - dead} live rows, header.liveRows is ${header.liveRows}`, 'header.liveRows');
  yield* out.end();
}

/** The first ceil(rows / 8) bytes of `dead`, the bits past `rows` cleared (a copy: it is small). */
function deadBitmap(dead: unknown, rows: number, field: string): Uint8Array {
  const bytes = Math.ceil(rows / 8);
  if (!ArrayBuffer.isView(dead) || dead.byteLength < bytes) throw invalidImage(`${field} must be a bitmap of at least ${bytes} bytes`, field);
  const bitmap = bytesOf(dead).slice(0, bytes);
  if (rows % 8 !== 0) bitmap[bytes - 1]! &= (1 << (rows % 8)) - 1;
  return bitmap;
}
