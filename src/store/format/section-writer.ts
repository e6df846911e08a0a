// The container as a writer makes it (docs/FORMAT.md, "Layout"), front to back in one pass:
// each checksum follows the bytes it covers, so nothing is hashed twice or held back. Output
// pieces are bounded: small parts (frames, records, checksums) are gathered into one piece,
// large ones (rows) pass through as views of the caller's memory, sliced.
import { bytesOf, paddingAfter, setU64, viewOf } from './binary.js';
import type { Checksums } from './checksum.js';
import { CHECKSUM_BYTES, FRAME_BYTES, SECTION, type FileKindName, type SectionName } from './constants.js';
import { invalidImage } from './errors.js';
import { endBody, fileHeaderBytes } from './headers.js';
import type { BytesInput } from './types.js';

/** Parts smaller than this are copied into the gathered piece; larger ones pass through. */
const GATHER_BELOW_BYTES = 64 << 10;

/** Writes one file as a sequence of pieces (each section method yields what it adds). */
export class FileWriter {
  /** Bytes yielded or gathered so far: the offset of the next section. */
  private offset = 0;
  private sections = 0;
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;

  constructor(private readonly sums: Checksums, private readonly pieceBytes: number) {}

  /** `bytes` added to the output: gathered (copied) if small, else the pending gathered piece and then `bytes` in slices. */
  private *emit(bytes: Uint8Array, owned: boolean): Generator<Uint8Array> {
    this.offset += bytes.length;
    if (bytes.length < GATHER_BELOW_BYTES && bytes.length <= this.pieceBytes) {
      if (this.gatheredBytes + bytes.length > this.pieceBytes) yield* this.flush();
      // A caller's small view is copied now: its memory may change once its segment is done.
      this.gathered.push(owned ? bytes : bytes.slice());
      this.gatheredBytes += bytes.length;
      if (this.gatheredBytes >= this.pieceBytes) yield* this.flush();
      return;
    }
    yield* this.flush();
    for (let at = 0; at < bytes.length; at += this.pieceBytes) yield bytes.subarray(at, at + this.pieceBytes);
  }

  /** The gathered small parts as one piece. */
  *flush(): Generator<Uint8Array> {
    if (this.gatheredBytes === 0) return;
    const piece = new Uint8Array(this.gatheredBytes);
    let at = 0;
    for (const part of this.gathered) {
      piece.set(part, at);
      at += part.length;
    }
    this.gathered = [];
    this.gatheredBytes = 0;
    yield piece;
  }

  *fileHeader(kind: FileKindName): Generator<Uint8Array> {
    yield* this.emit(fileHeaderBytes(kind, this.sums), true);
  }

  /**
   * A section of `length` body bytes given in `parts` (`owned`: made by the encoder, not views
   * of the caller's memory). INVALID_ARGUMENT naming `field` if the parts do not add up to
   * `length`.
   */
  async *section(name: SectionName, length: number, parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, field: string, owned = false): AsyncGenerator<Uint8Array> {
    const frame = new Uint8Array(FRAME_BYTES);
    const view = viewOf(frame);
    view.setUint32(0, SECTION[name], true);
    setU64(view, 8, length);
    view.setBigUint64(16, this.sums.of(frame.subarray(0, 16)), true);
    yield* this.emit(frame, true);
    const sum = this.sums.running();
    let written = 0;
    for await (const part of parts) {
      written += part.length;
      if (written > length) throw invalidImage(`${field} holds more than the ${length} bytes the header implies`, field);
      sum.update(part);
      yield* this.emit(part, owned);
    }
    if (written !== length) throw invalidImage(`${field} holds ${written} bytes, the header implies ${length}`, field);
    const pad = paddingAfter(length);
    const tail = new Uint8Array(pad + CHECKSUM_BYTES);
    sum.update(tail.subarray(0, pad));
    viewOf(tail).setBigUint64(pad, sum.digest(), true);
    yield* this.emit(tail, true);
    this.sections++;
  }

  /** A section whose body the encoder made whole. */
  smallSection(name: SectionName, body: Uint8Array): AsyncGenerator<Uint8Array> {
    return this.section(name, body.length, [body], name, true);
  }

  /** The end section, then whatever is still gathered. */
  async *end(): AsyncGenerator<Uint8Array> {
    const sections = this.sections;
    const pad = paddingAfter(16);
    const total = this.offset + FRAME_BYTES + 16 + pad + CHECKSUM_BYTES;
    yield* this.smallSection('END', endBody(sections, total));
    yield* this.flush();
  }
}

/** A BytesInput as views of at most `pieceBytes` bytes each. */
export async function* byteParts(input: BytesInput, pieceBytes: number, field: string): AsyncGenerator<Uint8Array> {
  if (ArrayBuffer.isView(input)) {
    yield* sliced(bytesOf(input), pieceBytes);
    return;
  }
  if (typeof input !== 'object' || input === null || !(Symbol.iterator in input || Symbol.asyncIterator in input)) {
    throw invalidImage(`${field} must be an ArrayBufferView or an iterable of them`, field);
  }
  for await (const part of input as AsyncIterable<ArrayBufferView>) {
    if (!ArrayBuffer.isView(part)) throw invalidImage(`${field} gave something other than an ArrayBufferView`, field);
    yield* sliced(bytesOf(part), pieceBytes);
  }
}

function* sliced(bytes: Uint8Array, pieceBytes: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += pieceBytes) yield bytes.subarray(at, at + pieceBytes);
}
