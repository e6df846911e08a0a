// A whole file as one Uint8Array (`toBytes()`): allocated once at its exact length when the
// length can be known before encoding (segments given as an array), so that memory holds the
// index and one copy, not two.
import { paddingAfter } from './binary.js';
import { CHECKSUM_BYTES, DTYPE_WIDTH, END_BYTES, FILE_HEADER_BYTES, FRAME_BYTES, GRAPH_HEADER_BYTES, INDEX_HEADER_BYTES, SEGMENT_BYTES } from './constants.js';
import { checkGraphImage, encodeGraph } from './encode-graph.js';
import { checkIndexHeader, encodeIndex } from './encode-index.js';
import { stringKeyLayout } from './keys-encode.js';
import { encodeOptions } from './options-record.js';
import type { EncodeOptions, GraphImage, IndexImage, IndexSegmentImage } from './types.js';

function sectionBytes(body: number): number {
  return FRAME_BYTES + body + paddingAfter(body) + CHECKSUM_BYTES;
}

/** The exact length of the index file for `header` and these segments (checks what it reads). */
export function indexFileLength(image: IndexImage & { segments: readonly IndexSegmentImage[] }): number {
  const header = checkIndexHeader(image.header);
  let total = FILE_HEADER_BYTES + sectionBytes(INDEX_HEADER_BYTES + encodeOptions(header.options).length) + sectionBytes(END_BYTES);
  image.segments.forEach((segment, i) => {
    const rows = segment.rows;
    total += sectionBytes(SEGMENT_BYTES) + sectionBytes(rows * header.dim * DTYPE_WIDTH[header.dtype]) + sectionBytes(Math.ceil(rows / 8));
    if (header.dtype === 'i8') total += sectionBytes(4 * rows);
    total += sectionBytes(header.keyKind === 'string' ? stringKeyLayout(segment.keys, rows, `segments[${i}].keys`).bodyBytes : 8 * rows);
  });
  return total;
}

/** Every piece in one array, of `length` bytes when known (else gathered, then joined). */
export async function joinPieces(pieces: AsyncIterable<Uint8Array>, length?: number): Promise<Uint8Array<ArrayBuffer>> {
  if (length !== undefined) {
    const out = new Uint8Array(length);
    let at = 0;
    for await (const piece of pieces) {
      if (at + piece.length > length) throw new Error(`internal: the file is longer than the ${length} bytes measured`);
      out.set(piece, at);
      at += piece.length;
    }
    if (at !== length) throw new Error(`internal: the file has ${at} bytes, ${length} measured`);
    return out;
  }
  // Pieces may be views of memory that changes later: copies.
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const piece of pieces) {
    parts.push(piece.slice());
    total += piece.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts.splice(0)) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** An index file as one Uint8Array (see encodeIndex for the checks). */
export async function indexToBytes(image: IndexImage, options?: EncodeOptions): Promise<Uint8Array<ArrayBuffer>> {
  const length = Array.isArray(image?.segments) ? indexFileLength(image as IndexImage & { segments: readonly IndexSegmentImage[] }) : undefined;
  return joinPieces(encodeIndex(image, options), length);
}

/** A graph file as one Uint8Array (see encodeGraph for the checks). */
export async function graphToBytes(image: GraphImage, options?: EncodeOptions): Promise<Uint8Array<ArrayBuffer>> {
  const header = checkGraphImage(image);
  const length = FILE_HEADER_BYTES + sectionBytes(GRAPH_HEADER_BYTES + encodeOptions(header.options).length)
    + sectionBytes(4 * (header.nodeCount + 1)) + 2 * sectionBytes(4 * header.edgeCount) + sectionBytes(END_BYTES);
  return joinPieces(encodeGraph(image, options), length);
}
