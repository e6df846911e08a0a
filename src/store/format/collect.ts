// Sinks that keep a whole file in plain arrays, as an IndexImage or a GraphImage again: for
// round trips (encode(decode(bytes)) is the same bytes), tests, and tools that want the
// content rather than a live index. They check the order of calls, so a decoder that breaks
// the IndexSink contract fails loudly.
import { DTYPE_WIDTH } from './constants.js';
import { decodeGraph, decodeIndex } from './decode.js';
import type {
  DecodeOptions, FileSource, GraphHeader, GraphImage, GraphSink, IndexHeader, IndexImage, IndexSegmentImage, IndexSink, SegmentInfo,
} from './types.js';

/** A segment as collected: every array filled, owned. */
export interface CollectedSegment extends IndexSegmentImage {
  readonly values: Uint8Array;
  readonly dead: Uint8Array;
  readonly keys: Float64Array | string[];
}

/** An index image as collected (segments an array). */
export interface CollectedIndex extends IndexImage {
  readonly segments: CollectedSegment[];
}

function protocol(message: string): Error {
  return new Error(`IndexSink contract broken: ${message}`);
}

/** An IndexSink that keeps everything; `image()` after commit. */
export class IndexCollector implements IndexSink {
  private header: IndexHeader | undefined;
  private segments: CollectedSegment[] = [];
  private current: { info: SegmentInfo; values: Uint8Array; scales: Float32Array | undefined; dead: Uint8Array; keys: Float64Array | string[]; filled: { values: number; scales: number; dead: number; keys: number } } | undefined;
  private state: 'new' | 'open' | 'committed' | 'aborted' = 'new';
  /** Why the last decode aborted, if it did. */
  abortedWith: unknown = undefined;

  begin(header: IndexHeader): void {
    if (this.state !== 'new') throw protocol(`begin in state ${this.state}`);
    this.header = header;
    this.state = 'open';
  }

  beginSegment(info: SegmentInfo): void {
    const header = this.header;
    if (this.state !== 'open' || !header || this.current) throw protocol('beginSegment out of order');
    if (info.index !== this.segments.length) throw protocol(`segment ${info.index} after ${this.segments.length}`);
    const rows = info.rows;
    this.current = {
      info,
      values: new Uint8Array(rows * header.dim * DTYPE_WIDTH[header.dtype]),
      scales: header.dtype === 'i8' ? new Float32Array(rows) : undefined,
      dead: new Uint8Array(Math.ceil(rows / 8)),
      keys: header.keyKind === 'string' ? new Array<string>(rows) : new Float64Array(rows),
      filled: { values: 0, scales: 0, dead: 0, keys: 0 },
    };
  }

  private segment() {
    if (!this.current) throw protocol('a piece outside a segment');
    return this.current;
  }

  values(bytes: Uint8Array, firstRow: number, rows: number): void {
    const s = this.segment();
    const rowBytes = s.values.length / Math.max(1, s.info.rows);
    if (firstRow !== s.filled.values || bytes.length !== rows * rowBytes) throw protocol(`values piece at row ${firstRow} (${rows} rows, ${bytes.length} bytes)`);
    s.values.set(bytes, firstRow * rowBytes);
    s.filled.values += rows;
  }

  scales(scales: Float32Array, firstRow: number): void {
    const s = this.segment();
    if (!s.scales || firstRow !== s.filled.scales || s.filled.values !== s.info.rows) throw protocol(`scales piece at row ${firstRow}`);
    s.scales.set(scales, firstRow);
    s.filled.scales += scales.length;
  }

  dead(bitmap: Uint8Array, firstRow: number): void {
    const s = this.segment();
    if (firstRow !== 8 * s.filled.dead || s.filled.values !== s.info.rows) throw protocol(`dead piece at row ${firstRow}`);
    s.dead.set(bitmap, firstRow / 8);
    s.filled.dead += bitmap.length;
  }

  keys(keys: Float64Array | string[], firstRow: number): void {
    const s = this.segment();
    if (firstRow !== s.filled.keys || s.filled.dead !== s.dead.length) throw protocol(`keys piece at row ${firstRow}`);
    if (Array.isArray(keys) !== Array.isArray(s.keys)) throw protocol('keys of the wrong kind');
    if (Array.isArray(s.keys)) for (let i = 0; i < keys.length; i++) s.keys[firstRow + i] = keys[i] as string;
    else s.keys.set(keys as Float64Array, firstRow);
    s.filled.keys += keys.length;
  }

  endSegment(): void {
    const s = this.segment();
    const rows = s.info.rows;
    if (s.filled.values !== rows || s.filled.dead !== s.dead.length || s.filled.keys !== rows || (s.scales && s.filled.scales !== rows)) {
      throw protocol(`segment ${s.info.index} ended before all its pieces came`);
    }
    this.segments.push({ rows, values: s.values, dead: s.dead, keys: s.keys, ...(s.scales ? { scales: s.scales } : {}) });
    this.current = undefined;
  }

  commit(): void {
    if (this.state !== 'open' || this.current || this.segments.length !== this.header!.segmentCount) throw protocol('commit before the end');
    this.state = 'committed';
  }

  abort(error: unknown): void {
    this.state = 'aborted';
    this.abortedWith = error;
    this.segments = [];
    this.current = undefined;
  }

  /** What was committed. */
  image(): CollectedIndex {
    if (this.state !== 'committed') throw new Error(`nothing committed (state ${this.state})`);
    return { header: this.header!, segments: this.segments };
  }
}

/** A GraphSink that keeps everything; `image()` after commit. */
export class GraphCollector implements GraphSink {
  private header: GraphHeader | undefined;
  private arrays: { offsets: Uint32Array; sources: Uint32Array; weights: Float32Array } | undefined;
  private filled = { offsets: 0, sources: 0, weights: 0 };
  private state: 'new' | 'open' | 'committed' | 'aborted' = 'new';
  abortedWith: unknown = undefined;

  begin(header: GraphHeader): void {
    if (this.state !== 'new') throw protocol(`begin in state ${this.state}`);
    this.header = header;
    this.arrays = { offsets: new Uint32Array(header.nodeCount + 1), sources: new Uint32Array(header.edgeCount), weights: new Float32Array(header.edgeCount) };
    this.state = 'open';
  }

  private put<K extends 'offsets' | 'sources' | 'weights'>(name: K, piece: Uint32Array | Float32Array, first: number): void {
    if (this.state !== 'open' || first !== this.filled[name]) throw protocol(`${name} piece at ${first}`);
    (this.arrays![name] as Uint32Array | Float32Array).set(piece, first);
    this.filled[name] += piece.length;
  }

  offsets(piece: Uint32Array, first: number): void { this.put('offsets', piece, first); }
  sources(piece: Uint32Array, first: number): void {
    if (this.filled.offsets !== this.arrays!.offsets.length) throw protocol('sources before all offsets');
    this.put('sources', piece, first);
  }
  weights(piece: Float32Array, first: number): void {
    if (this.filled.sources !== this.arrays!.sources.length) throw protocol('weights before all sources');
    this.put('weights', piece, first);
  }

  commit(): void {
    if (this.state !== 'open' || this.filled.weights !== this.arrays!.weights.length) throw protocol('commit before the end');
    this.state = 'committed';
  }

  abort(error: unknown): void {
    this.state = 'aborted';
    this.abortedWith = error;
    this.arrays = undefined;
  }

  image(): GraphImage {
    if (this.state !== 'committed') throw new Error(`nothing committed (state ${this.state})`);
    return { header: this.header!, ...this.arrays! };
  }
}

/** A whole index file read into memory (see IndexCollector). */
export async function readIndexImage(source: FileSource, options?: DecodeOptions): Promise<CollectedIndex> {
  const sink = new IndexCollector();
  await decodeIndex(source, sink, options);
  return sink.image();
}

/** A whole graph file read into memory (see GraphCollector). */
export async function readGraphImage(source: FileSource, options?: DecodeOptions): Promise<GraphImage> {
  const sink = new GraphCollector();
  await decodeGraph(source, sink, options);
  return sink.image();
}
