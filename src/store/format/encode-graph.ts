// A GraphImage as the bytes of a graph file (docs/FORMAT.md, "Graph files"), in bounded pieces.
import { checksums } from './checksum.js';
import { invalidImage } from './errors.js';
import { graphHeaderBody } from './headers.js';
import { pieceBytesOption } from './piece-size.js';
import { byteParts, FileWriter } from './section-writer.js';
import type { EncodeOptions, GraphHeader, GraphImage } from './types.js';

/** The image's header and arrays, checked (INVALID_ARGUMENT naming the field). */
export function checkGraphImage(image: GraphImage): GraphHeader {
  if (typeof image !== 'object' || image === null || typeof image.header !== 'object' || image.header === null) {
    throw invalidImage('image must be an object { header, offsets, sources, weights }', 'image');
  }
  const { nodeCount, edgeCount, options } = image.header;
  if (!Number.isSafeInteger(nodeCount) || nodeCount < 0 || nodeCount > 2 ** 32 - 2) throw invalidImage(`header.nodeCount must be an integer from 0 to 2^32 - 2, got ${String(nodeCount)}`, 'header.nodeCount');
  if (!Number.isSafeInteger(edgeCount) || edgeCount < 0 || edgeCount >= 2 ** 32) throw invalidImage(`header.edgeCount must be an integer from 0 to 2^32 - 1, got ${String(edgeCount)}`, 'header.edgeCount');
  const { offsets, sources, weights } = image;
  if (!(offsets instanceof Uint32Array) || offsets.length !== nodeCount + 1) throw invalidImage(`offsets must be a Uint32Array of nodeCount + 1 = ${nodeCount + 1} entries`, 'offsets');
  if (!(sources instanceof Uint32Array) || sources.length !== edgeCount) throw invalidImage(`sources must be a Uint32Array of edgeCount = ${edgeCount} entries`, 'sources');
  if (!(weights instanceof Float32Array) || weights.length !== edgeCount) throw invalidImage(`weights must be a Float32Array of edgeCount = ${edgeCount} entries`, 'weights');
  if (offsets[0] !== 0 || offsets[nodeCount] !== edgeCount) throw invalidImage(`offsets must start at 0 and end at edgeCount ${edgeCount}`, 'offsets');
  for (let v = 0; v < nodeCount; v++) if (offsets[v + 1]! < offsets[v]!) throw invalidImage(`offsets[${v + 1}] is below offsets[${v}]`, 'offsets');
  for (let e = 0; e < edgeCount; e++) {
    if (sources[e]! >= nodeCount) throw invalidImage(`sources[${e}] is ${sources[e]}, not below nodeCount ${nodeCount}`, 'sources');
    if (!Number.isFinite(weights[e]!)) throw invalidImage(`weights[${e}] is not finite`, 'weights');
  }
  return { nodeCount, edgeCount, options };
}

/**
 * The bytes of a graph file for `image`, as pieces of at most `options.pieceBytes` (4 MiB),
 * to be written in order (pieces may be views of the image's arrays). INVALID_ARGUMENT for an
 * image that would not load again.
 */
export async function* encodeGraph(image: GraphImage, options: EncodeOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const pieceBytes = pieceBytesOption(options.pieceBytes, 'pieceBytes');
  const header = checkGraphImage(image);
  const out = new FileWriter(await checksums(), pieceBytes);
  yield* out.fileHeader('graph');
  yield* out.smallSection('GRAPH_HEADER', graphHeaderBody(header));
  yield* out.section('GRAPH_OFFSETS', 4 * (header.nodeCount + 1), byteParts(image.offsets, pieceBytes, 'offsets'), 'offsets');
  yield* out.section('GRAPH_SOURCES', 4 * header.edgeCount, byteParts(image.sources, pieceBytes, 'sources'), 'sources');
  yield* out.section('GRAPH_WEIGHTS', 4 * header.edgeCount, byteParts(image.weights, pieceBytes, 'weights'), 'weights');
  yield* out.end();
}
