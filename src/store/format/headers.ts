// The fixed records of docs/FORMAT.md: file header, INDEX_HEADER, GRAPH_HEADER, SEGMENT, END.
// Writers take values already validated; readers check everything (INVALID_FILE, naming the field).
import { getU64, setU64, viewOf } from './binary.js';
import type { Checksums } from './checksum.js';
import {
  DTYPE_CODES, DTYPE_WIDTH, END_BYTES, FILE_HEADER_BYTES, FILE_KIND, FORMAT_VERSION, GRAPH_HEADER_BYTES,
  INDEX_HEADER_BYTES, KEY_KIND_CODES, MAGIC, MAX_U64_VALUE, METRIC_CODES, READABLE_VERSIONS, SEGMENT_BYTES,
  type FileKindName,
} from './constants.js';
import { invalidFile } from './errors.js';
import { decodeOptions, encodeOptions } from './options-record.js';
import type { GraphHeader, IndexHeader, SegmentInfo } from './types.js';

/** The 32-byte file header of a file of this kind. */
export function fileHeaderBytes(kind: FileKindName, sums: Checksums): Uint8Array {
  const bytes = new Uint8Array(FILE_HEADER_BYTES);
  const view = viewOf(bytes);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, FILE_KIND[kind], true);
  view.setBigUint64(24, sums.of(bytes.subarray(0, 24)), true);
  return bytes;
}

/** The kind and version of a file from its first 32 bytes; INVALID_FILE for anything else. */
export function parseFileHeader(bytes: Uint8Array, sums: Checksums): { kind: FileKindName; version: number } {
  const view = viewOf(bytes);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw invalidFile('not a hybrid-similarity file (its first bytes are not the format\'s magic number)');
  }
  const version = view.getUint32(8, true);
  if (!READABLE_VERSIONS.includes(version)) {
    throw invalidFile(`unknown format version ${version} (this library reads version ${READABLE_VERSIONS.join(', ')}; a newer release may read it)`, 'version');
  }
  if (view.getBigUint64(24, true) !== sums.of(bytes.subarray(0, 24))) throw invalidFile('checksum mismatch in the file header (bytes 0-31)');
  if (view.getUint32(16, true) !== 0) throw invalidFile(`inconsistent file header: flags are ${view.getUint32(16, true)}, expected 0`, 'flags');
  if (view.getUint32(20, true) !== 0) throw invalidFile('inconsistent file header: its reserved field is not 0', 'reserved');
  const code = view.getUint32(12, true);
  const kind = (Object.keys(FILE_KIND) as FileKindName[]).find((k) => FILE_KIND[k] === code);
  if (!kind) throw invalidFile(`inconsistent file header: unknown file kind ${code}`, 'kind');
  return { kind, version };
}

/** INDEX_HEADER's body. */
export function indexHeaderBody(header: IndexHeader): Uint8Array {
  const options = encodeOptions(header.options);
  const body = new Uint8Array(INDEX_HEADER_BYTES + options.length);
  const view = viewOf(body);
  view.setUint32(0, header.dim, true);
  view.setUint8(4, METRIC_CODES.indexOf(header.metric) + 1);
  view.setUint8(5, DTYPE_CODES.indexOf(header.dtype) + 1);
  view.setUint8(6, KEY_KIND_CODES.indexOf(header.keyKind) + 1);
  setU64(view, 8, header.rows);
  setU64(view, 16, header.liveRows);
  setU64(view, 24, header.nextDefaultKey);
  view.setUint32(32, header.segmentCount, true);
  view.setUint32(36, header.options.length, true);
  body.set(options, INDEX_HEADER_BYTES);
  return body;
}

function code<T>(codes: readonly T[], value: number, field: string): T {
  const found = codes[value - 1];
  if (found === undefined) throw invalidFile(`inconsistent header: unknown ${field} code ${value}`, field);
  return found;
}

/** The index header from INDEX_HEADER's body. */
export function parseIndexHeader(body: Uint8Array): IndexHeader {
  if (body.length < INDEX_HEADER_BYTES) throw invalidFile(`inconsistent header: INDEX_HEADER has ${body.length} bytes, at least ${INDEX_HEADER_BYTES} expected`, 'INDEX_HEADER');
  const view = viewOf(body);
  const dim = view.getUint32(0, true);
  if (dim < 1) throw invalidFile('inconsistent header: dim is 0', 'dim');
  const metric = code(METRIC_CODES, view.getUint8(4), 'metric');
  const dtype = code(DTYPE_CODES, view.getUint8(5), 'dtype');
  const keyKind = code(KEY_KIND_CODES, view.getUint8(6), 'keyKind');
  if (view.getUint8(7) !== 0) throw invalidFile('inconsistent header: its reserved byte is not 0', 'reserved');
  const rows = getU64(view, 8, 'rows');
  const liveRows = getU64(view, 16, 'liveRows');
  const nextDefaultKey = getU64(view, 24, 'nextDefaultKey');
  const segmentCount = view.getUint32(32, true);
  const optionCount = view.getUint32(36, true);
  if (liveRows > rows) throw invalidFile(`inconsistent header: liveRows ${liveRows} is above rows ${rows}`, 'liveRows');
  if (rows * dim * DTYPE_WIDTH[dtype] > MAX_U64_VALUE) throw invalidFile(`inconsistent header: rows ${rows} x dim ${dim} is too large`, 'rows');
  if (keyKind === 'default' && nextDefaultKey < liveRows) {
    throw invalidFile(`inconsistent header: nextDefaultKey ${nextDefaultKey} is below liveRows ${liveRows} (live keys are unique and below it)`, 'nextDefaultKey');
  }
  if (keyKind !== 'default' && nextDefaultKey !== 0) throw invalidFile(`inconsistent header: nextDefaultKey is ${nextDefaultKey} for ${keyKind} keys, expected 0`, 'nextDefaultKey');
  if (rows > 0 && segmentCount === 0) throw invalidFile(`inconsistent header: ${rows} rows in 0 segments`, 'segmentCount');
  const options = decodeOptions(body.subarray(INDEX_HEADER_BYTES), optionCount, 'INDEX_HEADER');
  return { dim, metric, dtype, keyKind, nextDefaultKey, rows, liveRows, segmentCount, options };
}

/** GRAPH_HEADER's body. */
export function graphHeaderBody(header: GraphHeader): Uint8Array {
  const options = encodeOptions(header.options);
  const body = new Uint8Array(GRAPH_HEADER_BYTES + options.length);
  const view = viewOf(body);
  view.setUint32(0, header.nodeCount, true);
  view.setUint32(4, header.options.length, true);
  setU64(view, 8, header.edgeCount);
  body.set(options, GRAPH_HEADER_BYTES);
  return body;
}

/** The graph header from GRAPH_HEADER's body. */
export function parseGraphHeader(body: Uint8Array): GraphHeader {
  if (body.length < GRAPH_HEADER_BYTES) throw invalidFile(`inconsistent header: GRAPH_HEADER has ${body.length} bytes, at least ${GRAPH_HEADER_BYTES} expected`, 'GRAPH_HEADER');
  const view = viewOf(body);
  const nodeCount = view.getUint32(0, true);
  if (nodeCount === 0xffffffff) throw invalidFile('inconsistent header: nodeCount must be below 2^32 - 1', 'nodeCount');
  const optionCount = view.getUint32(4, true);
  const edgeCount = getU64(view, 8, 'edgeCount');
  if (edgeCount >= 2 ** 32) throw invalidFile(`inconsistent header: edgeCount ${edgeCount} is not below 2^32`, 'edgeCount');
  const options = decodeOptions(body.subarray(GRAPH_HEADER_BYTES), optionCount, 'GRAPH_HEADER');
  return { nodeCount, edgeCount, options };
}

/** SEGMENT's body. */
export function segmentBody(segment: SegmentInfo): Uint8Array {
  const body = new Uint8Array(SEGMENT_BYTES);
  const view = viewOf(body);
  view.setUint32(0, segment.index, true);
  setU64(view, 8, segment.firstRow);
  setU64(view, 16, segment.rows);
  return body;
}

/** A segment from SEGMENT's body, which must be the `expected.index`th, starting at `expected.firstRow`. */
export function parseSegment(body: Uint8Array, expected: { index: number; firstRow: number; rowsLeft: number }): SegmentInfo {
  if (body.length !== SEGMENT_BYTES) throw invalidFile(`inconsistent segment ${expected.index}: SEGMENT has ${body.length} bytes, expected ${SEGMENT_BYTES}`, 'SEGMENT');
  const view = viewOf(body);
  const index = view.getUint32(0, true);
  if (index !== expected.index) throw invalidFile(`inconsistent segment: segment number ${index} where ${expected.index} was expected`, 'segment');
  if (view.getUint32(4, true) !== 0) throw invalidFile(`inconsistent segment ${index}: its reserved field is not 0`, 'reserved');
  const firstRow = getU64(view, 8, 'firstRow');
  if (firstRow !== expected.firstRow) throw invalidFile(`inconsistent segment ${index}: first row ${firstRow}, expected ${expected.firstRow}`, 'firstRow');
  const rows = getU64(view, 16, 'rows');
  if (rows > expected.rowsLeft) throw invalidFile(`inconsistent segment ${index}: ${rows} rows, more than the ${expected.rowsLeft} the header has left`, 'rows');
  return { index, firstRow, rows };
}

/** END's body. */
export function endBody(sectionCount: number, fileLength: number): Uint8Array {
  const body = new Uint8Array(END_BYTES);
  const view = viewOf(body);
  view.setUint32(0, sectionCount, true);
  setU64(view, 8, fileLength);
  return body;
}

/** END's body must match what was read: `sectionCount` sections before it, `fileLength` bytes in all. */
export function checkEnd(body: Uint8Array, sectionCount: number, fileLength: number): void {
  if (body.length !== END_BYTES) throw invalidFile(`inconsistent end: END has ${body.length} bytes, expected ${END_BYTES}`, 'END');
  const view = viewOf(body);
  const count = view.getUint32(0, true);
  if (count !== sectionCount) throw invalidFile(`inconsistent end: END counts ${count} sections, the file has ${sectionCount}`, 'sectionCount');
  if (view.getUint32(4, true) !== 0) throw invalidFile('inconsistent end: its reserved field is not 0', 'reserved');
  const length = getU64(view, 8, 'fileLength');
  if (length !== fileLength) throw invalidFile(`inconsistent end: END says the file has ${length} bytes, it has ${fileLength}`, 'fileLength');
}
