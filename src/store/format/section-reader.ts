// The container as a reader sees it (docs/FORMAT.md, "Layout"): the file header, then sections
// (frame, body, padding, checksum) verified one by one, then the end section and nothing after.
import { HybridError } from '../../errors.js';
import { paddingAfter, viewOf, getU64 } from './binary.js';
import type { Checksums, RunningChecksum } from './checksum.js';
import { CHECKSUM_BYTES, FILE_HEADER_BYTES, FRAME_BYTES, MAGIC, SECTION, sectionName, type FileKindName, type SectionName } from './constants.js';
import { invalidFile } from './errors.js';
import { checkEnd, parseFileHeader } from './headers.js';
import type { SourceReader } from './source.js';
import type { SectionReport } from './types.js';

/** The INVALID_FILE errors that report a truncation (nothing more to read). */
const truncations = new WeakSet<HybridError>();

/** Largest header body a reader accepts (the options record has no other bound). */
export const MAX_HEADER_BODY_BYTES = 16 << 20;

/** Where in the file a section is, for messages: its name and, for segment sections, the segment. */
export interface SectionPlace {
  readonly name: SectionName;
  readonly segment?: number;
}

function describePlace(place: SectionPlace): string {
  return place.segment === undefined ? place.name : `${place.name} of segment ${place.segment}`;
}

/** Reads a file's sections in order from a source. */
export class FileReader {
  /** Bytes consumed so far: the offset of what comes next. */
  offset = 0;
  private sections = 0;

  constructor(
    private readonly source: SourceReader,
    private readonly sums: Checksums,
    private readonly onSection: ((section: SectionReport) => void) | undefined,
  ) {}

  /** Exactly `n` bytes, or INVALID_FILE (truncated) naming what was being read. */
  async read(n: number, what: string): Promise<Uint8Array> {
    const size = this.source.size;
    // A known size answers before any read (and before a buffer grows for a length that lies).
    if (size !== undefined && this.offset + n > size) throw this.truncated(what, this.offset + n - size);
    const bytes = await this.source.next(n);
    if (bytes.length < n) throw this.truncated(what, n - bytes.length, this.offset + bytes.length);
    this.offset += n;
    return bytes;
  }

  private truncated(what: string, missing: number, at = this.source.size ?? this.offset): HybridError {
    const error = invalidFile(`truncated: the file ends at byte ${at}, inside ${what} (${missing} more bytes expected)`);
    truncations.add(error);
    return error;
  }

  /** The file header's kind and version; INVALID_FILE unless it is this format and a known version. */
  async fileHeader(): Promise<{ kind: FileKindName; version: number }> {
    const bytes = await this.source.next(FILE_HEADER_BYTES);
    // Something short that is not this format is "not this format", not "truncated".
    if (bytes.length < FILE_HEADER_BYTES) {
      if (bytes.some((b, i) => i < MAGIC.length && b !== MAGIC[i])) throw invalidFile('not a hybrid-similarity file (its first bytes are not the format\'s magic number)');
      throw this.truncated('the file header', FILE_HEADER_BYTES - bytes.length, bytes.length);
    }
    this.offset += FILE_HEADER_BYTES;
    return parseFileHeader(bytes, this.sums);
  }

  /** A verified frame of section type `place.name`; `length` (if given) is the body length it must have. */
  private async frame(place: SectionPlace, length: number | undefined): Promise<{ length: number; offset: number }> {
    const offset = this.offset;
    const what = describePlace(place);
    const bytes = await this.read(FRAME_BYTES, `the frame of section ${what}`);
    const view = viewOf(bytes);
    if (view.getBigUint64(16, true) !== this.sums.of(bytes.subarray(0, 16))) {
      throw invalidFile(`checksum mismatch in the frame of section ${what} (at byte ${offset})`);
    }
    const type = view.getUint32(0, true);
    if (type !== SECTION[place.name]) throw invalidFile(`inconsistent file: section ${sectionName(type)} at byte ${offset} where ${what} was expected`, 'section');
    if (view.getUint32(4, true) !== 0) throw invalidFile(`inconsistent section ${what}: flags ${view.getUint32(4, true)}, expected 0`, 'flags');
    const bodyLength = getU64(view, 8, `${place.name} length`);
    if (length !== undefined && bodyLength !== length) {
      throw invalidFile(`inconsistent section ${what}: ${bodyLength} bytes where the header implies ${length}`, place.name);
    }
    return { length: bodyLength, offset };
  }

  /** A whole small section's body (a header or record), verified; a copy. */
  async smallSection(place: SectionPlace, length?: number): Promise<Uint8Array> {
    const body = await this.openBody(place, length);
    if (body.length > MAX_HEADER_BODY_BYTES) throw invalidFile(`inconsistent section ${describePlace(place)}: ${body.length} bytes, more than ${MAX_HEADER_BODY_BYTES}`, place.name);
    const bytes = (await body.read(body.length)).slice();
    await body.finish();
    return bytes;
  }

  /** A section's body, to be read in pieces and then finished (checked). */
  async openBody(place: SectionPlace, length?: number): Promise<BodyReader> {
    const frame = await this.frame(place, length);
    return new BodyReader(this, place, frame.offset, frame.length, this.sums.running());
  }

  /** @internal counts a verified section (BodyReader.finish). */
  sectionDone(report: SectionReport): void {
    this.sections++;
    this.onSection?.(report);
  }

  /** The end section, and nothing after it. */
  async end(): Promise<void> {
    const sections = this.sections;
    const body = await this.smallSection({ name: 'END' });
    checkEnd(body, sections, this.offset);
    if (!(await this.source.atEnd())) throw invalidFile(`inconsistent file: bytes follow the end section (at byte ${this.offset})`, 'END');
  }
}

/** A section body being read: pieces (checksummed on the way), then `finish`. */
export class BodyReader {
  private read_ = 0;

  constructor(
    private readonly file: FileReader,
    private readonly place: SectionPlace,
    private readonly offset: number,
    /** Body bytes (from the verified frame). */
    readonly length: number,
    private readonly sum: RunningChecksum,
  ) {}

  /** Body bytes not read yet. */
  get remaining(): number {
    return this.length - this.read_;
  }

  /** The next `n` body bytes (a view valid until the next read). */
  async read(n: number): Promise<Uint8Array> {
    if (n > this.remaining) throw new Error(`internal: reading ${n} bytes, ${this.remaining} left in ${describePlace(this.place)}`);
    const bytes = await this.file.read(n, `section ${describePlace(this.place)}`);
    this.sum.update(bytes);
    this.read_ += n;
    return bytes;
  }

  /** Reads the padding and the checksum: INVALID_FILE if they do not verify. */
  async finish(): Promise<void> {
    if (this.remaining !== 0) throw new Error(`internal: ${this.remaining} bytes left unread in ${describePlace(this.place)}`);
    const what = describePlace(this.place);
    const pad = paddingAfter(this.length);
    const tail = await this.file.read(pad + CHECKSUM_BYTES, `the end of section ${what}`);
    this.sum.update(tail.subarray(0, pad));
    if (viewOf(tail).getBigUint64(pad, true) !== this.sum.digest()) throw invalidFile(`checksum mismatch in section ${what} (at byte ${this.offset})`);
    for (let i = 0; i < pad; i++) if (tail[i] !== 0) throw invalidFile(`inconsistent section ${what}: its padding is not zero`, 'padding');
    this.file.sectionDone({
      name: this.place.name, offset: this.offset, bodyBytes: this.length,
      totalBytes: FRAME_BYTES + this.length + pad + CHECKSUM_BYTES, ...(this.place.segment === undefined ? {} : { segment: this.place.segment }),
    });
  }

  /**
   * Runs `read` (which reads the body in pieces and finishes nothing); then finishes. When
   * `read` fails with INVALID_FILE (a check of the content, by the decoder or the sink), the
   * rest of the body is read and its checksum checked first: a damaged body is reported as a
   * checksum mismatch, the more accurate diagnosis, and only an intact one with the content error.
   */
  async consume(read: (body: BodyReader) => Promise<void>, pieceBytes: number): Promise<void> {
    try {
      await read(this);
    } catch (error) {
      if (error instanceof HybridError && error.code === 'INVALID_FILE' && !truncations.has(error)) {
        while (this.remaining > 0) await this.read(Math.min(this.remaining, pieceBytes));
        await this.finish();
      }
      throw error;
    }
    await this.finish();
  }
}
