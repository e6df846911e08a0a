// Reading a file source in pieces through one bounded buffer: a path (Node, through
// '#platform'), bytes (no buffer: views of them), a Blob (slices) or a ReadableStream (chunks,
// viewed in place when a piece lies within one).
import { openFileForReading } from '#platform';
import { HybridError } from '../../errors.js';
import { describe } from '../../validate.js';
import type { FileSource } from './types.js';

/** Sequential reads of a source. */
export interface SourceReader {
  /** The source's length in bytes when it is known up front (path, bytes, Blob). */
  readonly size: number | undefined;
  /**
   * The next `n` bytes, fewer only where the source ends. A view valid until the next call:
   * of the reader's buffer (grown to `n` if `n` is larger) or of the source's own bytes.
   */
  next(n: number): Promise<Uint8Array>;
  /** Whether the source has no byte left. */
  atEnd(): Promise<boolean>;
  /** Releases the file or stream (idempotent; never throws). */
  close(): Promise<void>;
}

/**
 * Reads below this size fetch up to this much ahead (frames and small sections come in one
 * read); larger reads fetch exactly what is asked, so that no read-ahead is moved in the
 * buffer before a large piece.
 */
const READ_AHEAD_BYTES = 64 << 10;

/** A reader for `source` with a buffer of `bufferBytes`; INVALID_ARGUMENT for anything else. */
export async function openSource(source: FileSource, bufferBytes: number): Promise<SourceReader> {
  if (typeof source === 'string') {
    const file = await openFileForReading(source);
    let position = 0;
    return new BufferedReader(file.size, bufferBytes, async (into) => {
      const got = await file.read(into, position);
      position += got;
      return got;
    }, () => file.close());
  }
  if (source instanceof Uint8Array) return new MemoryReader(source);
  if (source instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && (source as unknown) instanceof SharedArrayBuffer)) {
    return new MemoryReader(new Uint8Array(source as ArrayBuffer));
  }
  if (typeof Blob === 'function' && source instanceof Blob) {
    const blob = source;
    let position = 0;
    return new BufferedReader(blob.size, bufferBytes, async (into) => {
      const end = Math.min(blob.size, position + into.length);
      if (end <= position) return 0;
      let bytes: ArrayBuffer;
      try {
        bytes = await blob.slice(position, end).arrayBuffer();
      } catch (error) {
        throw new HybridError('IO_ERROR', `reading the Blob: ${error instanceof Error ? error.message : String(error)}`, 'source', { cause: error });
      }
      into.set(new Uint8Array(bytes));
      position = end;
      return bytes.byteLength;
    }, () => Promise.resolve());
  }
  if (typeof source === 'object' && source !== null && typeof (source as ReadableStream).getReader === 'function') {
    return new StreamReader((source as ReadableStream<Uint8Array>).getReader(), bufferBytes);
  }
  throw new HybridError('INVALID_ARGUMENT',
    `source must be a path, a Uint8Array, an ArrayBuffer, a Blob or a ReadableStream<Uint8Array>, got ${describe(source)}`, 'source');
}

/** Bytes already in memory: every read is a view of them. */
class MemoryReader implements SourceReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  next(n: number): Promise<Uint8Array> {
    const view = this.bytes.subarray(this.at, this.at + n);
    this.at += view.length;
    return Promise.resolve(view);
  }
  atEnd(): Promise<boolean> {
    return Promise.resolve(this.at >= this.bytes.length);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A source read by `pull(into)` (how many bytes it put at the start of `into`; 0 at the end). */
class BufferedReader implements SourceReader {
  private buffer: Uint8Array;
  private start = 0;
  private end = 0;
  private ended = false;
  private closed = false;

  constructor(
    readonly size: number | undefined,
    bufferBytes: number,
    private readonly pull: (into: Uint8Array) => Promise<number>,
    private readonly release: () => Promise<void>,
  ) {
    this.buffer = new Uint8Array(bufferBytes);
  }

  async next(n: number): Promise<Uint8Array> {
    if (this.end - this.start >= n) {
      const view = this.buffer.subarray(this.start, this.start + n);
      this.start += n;
      return view;
    }
    // What is left moves to the front (at most READ_AHEAD_BYTES: see there).
    const left = this.buffer.subarray(this.start, this.end);
    if (n > this.buffer.length) {
      const grown = new Uint8Array(n);
      grown.set(left);
      this.buffer = grown;
    } else {
      this.buffer.copyWithin(0, this.start, this.end);
    }
    this.end = left.length;
    this.start = 0;
    const want = n >= READ_AHEAD_BYTES ? n : Math.min(this.buffer.length, READ_AHEAD_BYTES);
    while (this.end < n && !this.ended) {
      const got = await this.pull(this.buffer.subarray(this.end, want));
      if (got === 0) this.ended = true;
      this.end += got;
    }
    const take = Math.min(n, this.end);
    this.start = take;
    return this.buffer.subarray(0, take);
  }

  async atEnd(): Promise<boolean> {
    return (await this.next(1)).length === 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release().catch(() => undefined);
  }
}

/** A ReadableStream's chunks; a read that lies within one chunk is a view of it. */
class StreamReader implements SourceReader {
  readonly size = undefined;
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  private buffer: Uint8Array;
  private ended = false;
  private closed = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>, bufferBytes: number) {
    this.buffer = new Uint8Array(bufferBytes);
  }

  /** The next non-empty chunk, or false at the end. */
  private async pullChunk(): Promise<boolean> {
    while (!this.ended) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await this.reader.read();
      } catch (error) {
        throw new HybridError('IO_ERROR', `reading the stream: ${error instanceof Error ? error.message : String(error)}`, 'source', { cause: error });
      }
      if (result.done) {
        this.ended = true;
        break;
      }
      if (!(result.value instanceof Uint8Array)) {
        throw new HybridError('INVALID_ARGUMENT', `the stream gave ${describe(result.value)}, not a Uint8Array`, 'source');
      }
      if (result.value.length === 0) continue;
      this.chunk = result.value;
      this.at = 0;
      return true;
    }
    return false;
  }

  async next(n: number): Promise<Uint8Array> {
    if (this.chunk.length - this.at >= n) {
      const view = this.chunk.subarray(this.at, this.at + n);
      this.at += n;
      return view;
    }
    if (n > this.buffer.length) this.buffer = new Uint8Array(n);
    let filled = 0;
    for (;;) {
      const take = Math.min(n - filled, this.chunk.length - this.at);
      this.buffer.set(this.chunk.subarray(this.at, this.at + take), filled);
      filled += take;
      this.at += take;
      if (filled === n || !(await this.pullChunk())) break;
    }
    return this.buffer.subarray(0, filled);
  }

  async atEnd(): Promise<boolean> {
    return this.chunk.length - this.at === 0 && !(await this.pullChunk());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A reader stopped early (a bad file) cancels the stream: its producer can stop.
    if (!this.ended) await this.reader.cancel().catch(() => undefined);
    this.reader.releaseLock();
  }
}
