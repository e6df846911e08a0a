import type { BackendChoice } from '../types.js';
import { Batcher, type FlushReason } from '../batcher.js';
import type { StagedRows } from '../cpu/cpu-memory.js';
import type { MemorySet } from '../cpu/memory-set.js';
import { HybridError } from '../errors.js';
import {
  assertArity, assertFloat32Array, assertK, assertNonEmpty, assertQuery, assertRows, backendOption, describe, optionsObject,
} from '../validate.js';
import { compactSegments } from './compaction.js';
import { prefilterStrideOf, strideOf } from './dtype.js';
import { readRow } from './read-row.js';
import { indexImage, type IndexFileState, type LoadTarget } from './index-file.js';
import { indexToBytes } from './format/to-bytes.js';
import { saveIndexFile } from './format/save.js';
import { IndexKeys, MAX_SEGMENT_ROWS, ROW_BITS, type KeyList, parseKeys } from './keys/index-keys.js';
import { nextCapacity, storeLimits } from './limits.js';
import { Segment } from './segment.js';
import { writeRows } from './segment-writer.js';
import { checkFilter, selectRows, type CheckedFilter } from './selection.js';
import type { CorpusView, Filter, IndexDtype, Key, KeyKind, Metric, PositionTopK, Selection } from './types.js';

/** Options of `search` and `searchBatch`. */
export interface SearchOptions<K extends Key = Key> {
  /** How many results per query (>= 1; above the rows that pass, all of them). */
  k: number;
  /** Only rows whose key passes: a predicate on keys, or the allowed keys (array, Set, iterable). */
  filter?: Filter<K>;
  backend?: BackendChoice;
}

/** Options of `scores`. */
export interface ScoresOptions {
  backend?: BackendChoice;
}

/** Options of `add`. */
export interface AddOptions<K extends Key = Key> {
  /** One key per row: unique, not held yet. Required unless the index has default keys. */
  keys?: ArrayLike<K>;
}

/** Options of `upsert`. */
export interface UpsertOptions<K extends Key = Key> {
  /** One key per row: rows whose key is held are replaced, the others appended. */
  keys: ArrayLike<K>;
}

/**
 * One query's best rows, best first: `keys` are the index's keys, `scores` the metric's values
 * (cosine and dot: higher is better; l2: squared distance, lower is better). Ties go to the row
 * inserted first. An index with default keys (`D` true) also gives `indices`: the same keys as a
 * Uint32Array, as results had before indexes had keys.
 */
export type SearchResult<K extends Key = Key, D extends boolean = boolean> =
  { keys: K[]; scores: Float32Array } & (D extends true ? { indices: Uint32Array } : { indices?: Uint32Array });

/** @internal What an index needs from its engine (kept off the public surface). */
export interface IndexHost {
  assertLive(): void;
  track<T>(promise: Promise<T>): Promise<T>;
  regions(): MemorySet;
  stage(input: Float32Array, dim: number, argument: string, normalize: boolean): StagedRows;
  join(blocks: StagedRows[]): StagedRows;
  batching(): false | { maxWaitMs: number; targetBatchSize: number };
  recordBatch(size: number, waitsMs: number[], reason: FlushReason): void;
  topK(method: string, view: CorpusView, queries: StagedRows, k: number, selection: Selection,
    requested: BackendChoice, deferred?: () => Selection): Promise<PositionTopK[]>;
  /** Whether a call with this backend choice runs on the CPU whatever the router sees ('cpu' asked for, or auto without a GPU). */
  cpuOnly(requested: BackendChoice): boolean;
  scores(view: CorpusView, query: StagedRows, requested: BackendChoice): Promise<Float32Array>;
  /** GPU_UNAVAILABLE for `backend: 'gpu'` without a GPU (for calls answered without a kernel). */
  assertBackend(requested: BackendChoice): void;
  releaseSegments(ids: number[]): void;
  released(index: VectorIndex): void;
}

/** @internal The index's shape, fixed at creation. */
export interface IndexShape {
  dim: number;
  metric: Metric;
  dtype: IndexDtype;
  keyKind: KeyKind | 'undecided';
}

let nextIndexId = 1;

/**
 * A resident index: rows in segments over the engine's WASM memories (and, lazily, on the GPU),
 * addressed by keys. Create with `engine.createIndex`. Writes (add, upsert, remove, compact) wait
 * for the calls already running, which answer on the rows they started with; calls made after a
 * write see its rows.
 */
export class VectorIndex<K extends Key = Key, D extends boolean = boolean> {
  /** @internal */
  readonly id = nextIndexId++;
  /** Row length. */
  readonly dim: number;
  /** How rows are compared. */
  readonly metric: Metric;
  /** The precision rows are stored and scanned in. */
  readonly dtype: IndexDtype;
  private readonly host: IndexHost;
  private keyIndex: IndexKeys | null;
  /** keyKind once released (the key table is dropped with the rows). */
  private releasedKind: KeyKind | null = null;
  private readonly segments: Segment[] = [];
  private disposed = false;
  private released = false;
  /** Calls running now; writes and dispose() wait for them to settle. */
  private inFlight = 0;
  /** Calls accepted and not settled yet (waiting or running, reads and writes). */
  private calls = 0;
  private writing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private readonly batchers = new Map<BackendChoice, Batcher<Batched, PositionTopK>>();

  /** @internal use engine.createIndex */
  constructor(host: IndexHost, shape: IndexShape) {
    this.host = host;
    this.dim = shape.dim;
    this.metric = shape.metric;
    this.dtype = shape.dtype;
    this.keyIndex = shape.keyKind === 'undecided' ? null : new IndexKeys(shape.keyKind);
  }

  /** Live rows. */
  get size(): number {
    let live = 0;
    for (const segment of this.segments) live += segment.liveRows;
    return live;
  }

  /** What the keys are: 'default' (0, 1, 2, ... assigned here), or the caller's numbers or strings. */
  get keyKind(): KeyKind {
    return this.keyIndex?.kind ?? this.releasedKind ?? 'number';
  }

  /** Bytes this index holds in CPU memory: rows as stored, side structures, keys and the key table. */
  get memoryBytes(): number {
    let bytes = this.keyIndex?.tableBytes ?? 0;
    for (const segment of this.segments) bytes += segment.wasmBytes + segment.keyBytes;
    return bytes;
  }

  /** @internal bytes of the key table (benchmarks) */
  get keyTableBytes(): number {
    return this.keyIndex?.tableBytes ?? 0;
  }

  /** @internal segments now (tests, persistence) */
  get segmentList(): readonly Segment[] {
    return this.segments;
  }

  /**
   * Append rows (N x dim, row-major). `keys`: one per row, unique and not held (DUPLICATE_KEY
   * names one that is); without them a default-key index numbers the rows on. On any error the
   * index is unchanged.
   */
  async add(vectors: Float32Array, options?: AddOptions<K>): Promise<void> {
    this.assertLive();
    assertArity(arguments.length, 2, 'add(vectors, { keys })');
    const n = this.checkRows(vectors, 'vectors');
    const opts = optionsObject<AddOptions<K>>(options, ['keys']);
    await this.write(async () => {
      const keys = this.keysFor(opts.keys, n, 'keys', false);
      if (n === 0) return;
      this.assertAbsent(keys);
      await this.append(vectors, keys, []);
    });
  }

  /**
   * Add or replace rows by key: a row whose key is held replaces it (the old row is removed, the
   * new one comes last in keys()), the others are appended. On any error the index is unchanged.
   */
  async upsert(vectors: Float32Array, options: UpsertOptions<K>): Promise<void> {
    this.assertLive();
    assertArity(arguments.length, 2, 'upsert(vectors, { keys })');
    const n = this.checkRows(vectors, 'vectors');
    if (options === undefined) throw new HybridError('INVALID_ARGUMENT', 'upsert needs options.keys (one key per row)', 'keys');
    const opts = optionsObject<UpsertOptions<K>>(options, ['keys']);
    await this.write(async () => {
      const keys = this.keysFor(opts.keys, n, 'keys', true);
      if (n === 0) return;
      const index = this.keyIndex!;
      const replaced: number[] = [];
      for (let i = 0; i < n; i++) if (index.find(keys.values[i]!) >= 0) replaced.push(i);
      await this.append(vectors, keys, replaced);
      await this.compactIfWorthIt();
    });
  }

  /** Remove the rows with these keys; resolves with how many were held (unknown keys are ignored). */
  async remove(keys: ArrayLike<K> | Iterable<K>): Promise<number> {
    this.assertLive();
    assertArity(arguments.length, 1, 'remove(keys)');
    const list = this.keyArgument(keys, 'keys');
    return this.write(async () => {
      // Checked here, not at the call: an add called before this one may decide the key kind of
      // an index created empty. Every key is checked before any is removed (a bad one changes nothing).
      const index = this.keyIndex;
      const checked = parseKeys(list, 'keys', index?.kind ?? (typeof list[0] === 'string' ? 'string' : 'number'));
      if (!index) return 0;
      let removed = 0;
      for (const key of checked.values) {
        const location = index.remove(key);
        if (location < 0) continue;
        index.segments[location >>> ROW_BITS]!.markDead(location & (MAX_SEGMENT_ROWS - 1));
        removed++;
      }
      if (removed > 0) await this.compactIfWorthIt();
      return removed;
    });
  }

  /** Whether a row with this key is held. */
  has(key: K): boolean {
    this.assertLive();
    const index = this.keyIndex;
    if (!index) return false;
    return index.find(index.check(key, 'key')) >= 0;
  }

  /** The row with this key as stored (normalised for cosine; f16/i8 widened to f32), or null. */
  async get(key: K): Promise<Float32Array | null> {
    this.assertLive();
    assertArity(arguments.length, 1, 'get(key)');
    return this.running(async () => {
      const index = this.keyIndex;
      if (!index) return null;
      const location = index.find(index.check(key, 'key'));
      if (location < 0) return null;
      return readRow(index.segments[location >>> ROW_BITS]!, this.dtype, this.dim, location & (MAX_SEGMENT_ROWS - 1));
    });
  }

  /** Live keys, in insertion order (the order `scores()` uses). */
  keys(): K[] {
    this.assertLive();
    const out: K[] = [];
    for (const segment of this.segments) {
      if (segment.liveRows === 0) continue;
      const bits = segment.liveBits();
      const keys = segment.keys;
      for (let r = 0; r < segment.rows; r++) {
        if ((bits[r >>> 5]! >>> (r & 31)) & 1) out.push(keys.keyAt(r) as K);
      }
    }
    return out;
  }

  /** The k best rows for `query` (among those `filter` lets through): best first, ties to the earlier row. */
  async search(query: Float32Array, options: SearchOptions<K>): Promise<SearchResult<K, D>> {
    this.assertLive();
    assertArity(arguments.length, 2, 'search(query, { k, filter, backend })');
    const { k, requested, filter } = this.searchOptions(options);
    assertQuery(query, this.dim);
    query = this.heldWhileWaiting(query);
    return this.running(async () => {
      const snapshot = this.snapshot();
      // A key filter that passes a good share of the rows, on a CPU-only call: its keys are turned
      // into bitmaps while the workers compute the prefilter's bounds (src/cpu/store-calls.ts), so
      // `selection` stands for every live row until then (the router's batch size, an upper bound).
      const deferred = filter && this.host.cpuOnly(requested) && defersSelection(filter, this.size)
        ? () => selectRows(this.segments, this.keys0(), filter) : undefined;
      const selection = selectRows(this.segments, this.keys0(), deferred ? undefined : filter);
      // Staging checks the query (NaN, Infinity) before it may join a batch: an input error
      // reaches only its own caller.
      const staged = this.host.stage(query, this.dim, 'query', this.metric === 'cosine');
      try {
        // No row to score: answered here, but a forced GPU call without a GPU is still an error.
        if (selection.passing === 0) {
          this.host.assertBackend(requested);
          return this.toResult(snapshot, empty());
        }
        const kk = Math.min(k, selection.passing);
        if (this.host.batching() && !filter) {
          return this.toResult(snapshot, await this.batcher(requested).submit({ query: staged, k: kk }));
        }
        const [top] = await this.host.topK('search', snapshot.view, staged, kk, selection, requested, deferred);
        return this.toResult(snapshot, top!);
      } finally {
        staged.release();
      }
    });
  }

  /** `search` for each of M queries given as one flat M x dim array. */
  async searchBatch(queries: Float32Array, options: SearchOptions<K>): Promise<SearchResult<K, D>[]> {
    this.assertLive();
    assertArity(arguments.length, 2, 'searchBatch(queries, { k, filter, backend })');
    const { k, requested, filter } = this.searchOptions(options);
    assertNonEmpty(queries, 'queries');
    const m = assertRows(queries, this.dim, 'queries');
    queries = this.heldWhileWaiting(queries);
    return this.running(async () => {
      const snapshot = this.snapshot();
      const selection = selectRows(this.segments, this.keys0(), filter);
      const staged = this.host.stage(queries, this.dim, 'queries', this.metric === 'cosine');
      try {
        if (selection.passing === 0) {
          this.host.assertBackend(requested);
          return Array.from({ length: m }, () => this.toResult(snapshot, empty()));
        }
        const tops = await this.host.topK('searchBatch', snapshot.view, staged, Math.min(k, selection.passing), selection, requested);
        return tops.map((top) => this.toResult(snapshot, top));
      } finally {
        staged.release();
      }
    });
  }

  /** The metric's value of `query` against every live row, in keys() order. */
  async scores(query: Float32Array, options?: ScoresOptions): Promise<Float32Array> {
    this.assertLive();
    assertArity(arguments.length, 2, 'scores(query, { backend })');
    const opts = optionsObject<ScoresOptions>(options, ['backend']);
    const requested = backendOption(opts.backend);
    assertQuery(query, this.dim);
    query = this.heldWhileWaiting(query);
    return this.running(async () => {
      const snapshot = this.snapshot();
      const staged = this.host.stage(query, this.dim, 'query', this.metric === 'cosine');
      try {
        if (snapshot.view.rows === 0) {
          this.host.assertBackend(requested);
          return new Float32Array(0);
        }
        const internal = await this.host.scores(snapshot.view, staged, requested);
        return this.liveScores(snapshot, internal);
      } finally {
        staged.release();
      }
    });
  }

  /**
   * Write the index to a file at `path` (Node), atomically: a temporary file in the same folder,
   * fsync, rename, fsync of the folder, so an earlier file at `path` stays whole if anything fails
   * (IO_ERROR, with the file system's error as `cause`). The format: docs/FORMAT.md. Runs as a
   * read: writes wait for it, searches go on.
   */
  async save(path: string): Promise<void> {
    this.assertLive();
    assertArity(arguments.length, 1, 'save(path)');
    if (typeof path !== 'string' || path.length === 0) {
      throw new HybridError('INVALID_ARGUMENT', `path must be a non-empty string, got ${describe(path)}`, 'path');
    }
    await this.running(() => saveIndexFile(path, indexImage(this.fileState())));
  }

  /** The index as the bytes of an index file (the same bytes `save` writes), in every runtime. */
  async toBytes(): Promise<Uint8Array<ArrayBuffer>> {
    this.assertLive();
    assertArity(arguments.length, 0, 'toBytes()');
    return this.running(() => indexToBytes(indexImage(this.fileState())));
  }

  /** Rewrite every segment with removed rows without them; resolves with the rows reclaimed. */
  async compact(): Promise<number> {
    this.assertLive();
    assertArity(arguments.length, 0, 'compact()');
    return this.write(() => this.compactWhere((segment) => segment.deadRows > 0));
  }

  /**
   * Free the rows (CPU and GPU). Further calls throw DISPOSED; calls made before it finish with
   * their answer first, also those still waiting for another call of this index (the rows are
   * freed when the last one settles). Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.calls === 0) this.release();
  }

  /** @internal what a file holds */
  fileState(): IndexFileState {
    return {
      dim: this.dim, metric: this.metric, dtype: this.dtype, keyKind: this.keyIndex?.kind ?? 'number',
      nextKey: this.keyIndex?.nextKey ?? 0, segments: this.segments,
    };
  }

  /**
   * @internal A loader writing a file into this new, empty index (engine.loadIndex): segments are
   * opened as the file's arrive and join the index in order; on abort they are freed.
   */
  loadTarget(onCommit: () => void): LoadTarget {
    const opened: Segment[] = [];
    const spec = () => ({ dim: this.dim, dtype: this.dtype, keyKind: this.keyIndex!.kind === 'string' ? 'string' as const : 'number' as const });
    return {
      begin: () => this.keyIndex!,
      openSegment: async (rows) => {
        const segment = await this.openSegment(spec(), rows, 0);
        opened.push(segment);
        return segment;
      },
      adopt: (segment) => this.segments.push(segment),
      commit: (nextKey) => {
        this.keyIndex!.nextKey = nextKey;
        onCommit();
      },
      abort: () => {
        this.segments.length = 0;
        for (const segment of opened) segment.free();
        opened.length = 0;
        this.dispose();
      },
    };
  }

  // ---------------------------------------------------------------------------------------------

  private checkRows(vectors: Float32Array, argument: string): number {
    assertFloat32Array(vectors, argument);
    return assertRows(vectors, this.dim, argument);
  }

  /** The keys of rows being added (see IndexKeys.resolve); decides an undecided key kind. */
  private keysFor(keys: unknown, n: number, argument: string, required: boolean): KeyList {
    if (!this.keyIndex) {
      if (keys === undefined || n === 0) {
        if (keys === undefined && n > 0) {
          throw new HybridError('INVALID_ARGUMENT', `this index was created with keys: ${argument} is required (one per row)`, argument);
        }
        return { kind: 'number', values: new Float64Array(0) };
      }
      // Not an array (null, a number): parseKeys below says so.
      const first = typeof keys === 'object' && keys !== null ? (keys as ArrayLike<unknown>)[0] : undefined;
      this.keyIndex = new IndexKeys(typeof first === 'string' ? 'string' : 'number');
      try {
        return this.keyIndex.resolve(keys, n, argument, required);
      } catch (error) {
        this.keyIndex = null;
        throw error;
      }
    }
    return this.keyIndex.resolve(keys, n, argument, required);
  }

  /** DUPLICATE_KEY for the first key of `list` already held. */
  private assertAbsent(list: KeyList): void {
    const index = this.keyIndex!;
    for (const key of list.values) {
      if (index.find(key) >= 0) {
        throw new HybridError('DUPLICATE_KEY', `key ${describe(key)} is already in the index (use upsert to replace it)`, 'keys');
      }
    }
  }

  /**
   * Write rows into the last segment and new ones, then commit: live bits, row counts, keys.
   * `replaced`: positions in `keys` whose key is held (upsert): their old rows are removed at
   * commit. Nothing changes until every row is written.
   */
  private async append(vectors: Float32Array, list: KeyList, replaced: number[]): Promise<void> {
    const index = this.keyIndex!;
    const n = vectors.length / this.dim;
    const spec = { dim: this.dim, dtype: this.dtype, keyKind: index.kind === 'string' ? 'string' as const : 'number' as const };
    const format = { dim: this.dim, dtype: this.dtype, metric: this.metric };
    const pieces: Array<{ segment: Segment; first: number; count: number; from: number }> = [];
    const opened: Segment[] = [];
    try {
      let top = index.nextKey;
      if (list.kind === 'number') for (const key of list.values) if (key + 1 > top) top = key + 1;
      index.reserve(n, top);
      let done = 0;
      let target = this.segments[this.segments.length - 1];
      let first = target ? target.rows : 0;
      while (done < n) {
        if (!target || first >= target.capacity) {
          target = await this.openSegment(spec, n - done, target?.capacity ?? 0);
          opened.push(target);
          first = 0;
        }
        const count = Math.min(target.capacity - first, n - done);
        writeRows(target, format, vectors.subarray(done * this.dim, (done + count) * this.dim), first, done, 'vectors');
        pieces.push({ segment: target, first, count, from: done });
        done += count;
        first += count;
      }
    } catch (error) {
      for (const segment of opened) {
        index.removeSegment(index.segments.indexOf(segment));
        segment.free();
      }
      throw error;
    }
    // Commit (nothing below can fail).
    for (const segment of opened) this.segments.push(segment);
    const replacedSet = new Set(replaced);
    for (const { segment, first, count, from } of pieces) {
      const slot = index.segments.indexOf(segment);
      for (let r = 0; r < count; r++) {
        const key = list.values[from + r]!;
        if (segment.keys.kind === 'string') segment.keys.set(first + r, key as string);
        else segment.keys.set(first + r, key as number);
        const location = slot * MAX_SEGMENT_ROWS + first + r;
        if (replacedSet.has(from + r)) {
          const old = index.find(key);
          index.segments[old >>> ROW_BITS]!.markDead(old & (MAX_SEGMENT_ROWS - 1));
          index.relocate(key, location);
        } else {
          index.insert(key, location);
        }
      }
      segment.markLive(first, count);
      segment.rows = first + count;
    }
    index.noteKeys(list);
  }

  /** A new segment with a slot in the key index (freed again if the add fails). */
  private async openSegment(spec: { dim: number; dtype: IndexDtype; keyKind: 'number' | 'string' },
    pending: number, previous: number): Promise<Segment> {
    const capacity = nextCapacity(this.dtype, this.dim, pending, previous);
    const segment = await Segment.open(this.host.regions(), spec, capacity);
    try {
      this.keyIndex!.addSegment(segment);
    } catch (error) {
      segment.free();
      throw error;
    }
    return segment;
  }

  /** Compact when the dead rows pass their share (remove, upsert). */
  private async compactIfWorthIt(): Promise<void> {
    let stored = 0;
    let dead = 0;
    for (const segment of this.segments) {
      stored += segment.rows;
      dead += segment.deadRows;
    }
    if (stored === 0 || dead / stored < storeLimits.compactDeadShare) return;
    const share = storeLimits.compactDeadShare / 2;
    await this.compactWhere((segment) => segment.deadRows > 0 && (segment.deadRows >= share * segment.rows || segment.liveRows === 0));
  }

  private async compactWhere(chosen: (segment: Segment) => boolean): Promise<number> {
    const index = this.keyIndex;
    if (!index) return 0;
    const spec = { dim: this.dim, dtype: this.dtype, keyKind: index.kind === 'string' ? 'string' as const : 'number' as const };
    return compactSegments({
      dim: this.dim,
      dtype: this.dtype,
      segments: this.segments,
      keys: index,
      openSegment: (rows, previous) => this.openSegment(spec, rows, previous),
      retire: (segment) => {
        index.removeSegment(index.segments.indexOf(segment));
        segment.free();
        this.host.releaseSegments([segment.id]);
      },
    }, chosen);
  }

  /** The segments as a call sees them (frozen: writes wait until the call settles). */
  private snapshot(): Snapshot {
    const bases: number[] = [];
    let rows = 0;
    for (const segment of this.segments) {
      bases.push(rows);
      rows += segment.rows;
    }
    const view: CorpusView = {
      id: this.id, dim: this.dim, metric: this.metric, dtype: this.dtype,
      stride: strideOf(this.dtype, this.dim), prefilterStride: prefilterStrideOf(this.dim),
      segments: [...this.segments], bases, rows,
    };
    return { view, segments: view.segments as Segment[] };
  }

  /** Positions and internal scores -> the caller's keys and the metric's scores. */
  private toResult(snapshot: Snapshot, top: PositionTopK): SearchResult<K, D> {
    const n = top.positions.length;
    const keys = new Array<K>(n);
    const bases = snapshot.view.bases;
    for (let i = 0; i < n; i++) {
      const p = top.positions[i]!;
      let lo = 0;
      let hi = bases.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (bases[mid]! <= p) lo = mid;
        else hi = mid - 1;
      }
      keys[i] = snapshot.segments[lo]!.keys.keyAt(p - bases[lo]!) as K;
    }
    const scores = this.metric === 'l2' ? top.scores.map((s) => 0 - s) : top.scores;
    const result: { keys: K[]; scores: Float32Array; indices?: Uint32Array } = { keys, scores };
    if (this.keyIndex?.kind === 'default') result.indices = Uint32Array.from(keys as number[]);
    return result as SearchResult<K, D>;
  }

  /** Internal scores by position -> the live rows' metric scores in keys() order. */
  private liveScores(snapshot: Snapshot, internal: Float32Array): Float32Array {
    let live = 0;
    for (const segment of snapshot.segments) live += segment.liveRows;
    if (live === internal.length) {
      // No removed rows: the positions are the live rows already.
      if (this.metric === 'l2') for (let i = 0; i < internal.length; i++) internal[i] = 0 - internal[i]!;
      return internal;
    }
    const out = new Float32Array(live);
    let at = 0;
    snapshot.segments.forEach((segment, i) => {
      const base = snapshot.view.bases[i]!;
      if (segment.deadRows === 0) {
        out.set(internal.subarray(base, base + segment.rows), at);
        at += segment.rows;
        return;
      }
      const bits = segment.liveBits();
      for (let r = 0; r < segment.rows; r++) {
        if ((bits[r >>> 5]! >>> (r & 31)) & 1) out[at++] = internal[base + r]!;
      }
    });
    // l2: internal scores are minus the squared distance (0 - s also turns -0 into 0).
    if (this.metric === 'l2') for (let i = 0; i < out.length; i++) out[i] = 0 - out[i]!;
    return out;
  }

  private keys0(): IndexKeys {
    return this.keyIndex ?? new IndexKeys('number');
  }

  /** The keys of a remove() as the caller gave them at the call (copied: checked when the write runs). */
  private keyArgument(keys: unknown, argument: string): unknown[] {
    if (typeof keys === 'string' || keys === null || typeof keys !== 'object') {
      throw new HybridError('INVALID_ARGUMENT', `${argument} must be an array (or iterable) of keys, got ${describe(keys)}`, argument);
    }
    if (typeof (keys as ArrayLike<unknown>).length === 'number') return Array.from(keys as ArrayLike<unknown>);
    if (typeof (keys as Iterable<unknown>)[Symbol.iterator] === 'function') return Array.from(keys as Iterable<unknown>);
    throw new HybridError('INVALID_ARGUMENT', `${argument} must be an array (or iterable) of keys, got ${describe(keys)}`, argument);
  }

  private batcher(requested: BackendChoice): Batcher<Batched, PositionTopK> {
    let batcher = this.batchers.get(requested);
    if (!batcher) {
      const { maxWaitMs, targetBatchSize } = this.host.batching() as { maxWaitMs: number; targetBatchSize: number };
      batcher = new Batcher(maxWaitMs, targetBatchSize, (items) => this.searchMerged(items, requested),
        (size, waits, reason) => this.host.recordBatch(size, waits, reason));
      this.batchers.set(requested, batcher);
    }
    return batcher;
  }

  /**
   * One M x N top-k for M waiting searches, with the largest k asked for; each caller gets the
   * first k of its query's list, which is its own top-k (same order, ties to the earlier row).
   */
  private async searchMerged(items: Batched[], requested: BackendChoice): Promise<PositionTopK[]> {
    const snapshot = this.snapshot();
    const selection = selectRows(this.segments, this.keys0(), undefined);
    if (items.length === 1) return this.host.topK('search', snapshot.view, items[0]!.query, items[0]!.k, selection, requested);
    const joined = this.host.join(items.map((item) => item.query));
    try {
      const kMax = Math.max(...items.map((item) => item.k));
      const results = await this.host.topK('search', snapshot.view, joined, kMax, selection, requested);
      return results.map((result, i) => {
        const k = items[i]!.k;
        if (result.positions.length <= k) return result;
        return { positions: result.positions.slice(0, k), scores: result.scores.slice(0, k) };
      });
    } finally {
      joined.release();
    }
  }

  private searchOptions(options: unknown): { k: number; requested: BackendChoice; filter: CheckedFilter | undefined } {
    if (options === undefined) {
      throw new HybridError('INVALID_ARGUMENT', 'options.k is required', 'k');
    }
    const opts = optionsObject<SearchOptions<K>>(options, ['k', 'filter', 'backend']);
    assertK(opts.k);
    return { k: opts.k, requested: backendOption(opts.backend), filter: checkFilter(opts.filter) };
  }

  /**
   * Run a write once the calls in flight have settled; calls that arrive meanwhile wait for it.
   * A call accepted (made before dispose()) runs to its end, also when it had to wait: it is in
   * the engine's set from the start, so engine.dispose() waits for it too, and the index is
   * released when the last accepted call settles.
   */
  private write<T>(work: () => Promise<T>): Promise<T> {
    return this.accepted(async () => {
      while (this.writing) await this.writing;
      let done!: () => void;
      this.writing = new Promise<void>((resolve) => { done = resolve; });
      try {
        if (this.inFlight > 0) {
          const drained = new Promise<void>((resolve) => { this.drained = resolve; });
          // Searches waiting in a batch are reads in flight: send them now rather than at maxWaitMs.
          for (const batcher of this.batchers.values()) batcher.flushNow();
          await drained;
        }
        return await work();
      } finally {
        this.writing = null;
        done();
      }
    });
  }

  /**
   * The queries a read will stage: a copy when the read must first wait for a write (so it scores
   * the query as it was when called, whatever the caller does with the array meanwhile); the
   * caller's own array otherwise, since it is staged before the call returns.
   */
  private heldWhileWaiting(queries: Float32Array): Float32Array {
    return this.writing ? queries.slice() : queries;
  }

  /** Run a read once the write before it (if any) is done; counted in flight while it runs. */
  private running<T>(call: () => Promise<T>): Promise<T> {
    return this.accepted(async () => {
      while (this.writing) await this.writing;
      this.inFlight++;
      try {
        return await call();
      } finally {
        this.inFlight--;
        if (this.inFlight === 0) {
          const drained = this.drained;
          this.drained = null;
          drained?.();
        }
      }
    });
  }

  /** A call accepted by this index: in the engine's set until it settles; the last one releases a disposed index. */
  private async accepted<T>(call: () => Promise<T>): Promise<T> {
    this.calls++;
    try {
      return await this.host.track(call());
    } finally {
      this.calls--;
      if (this.disposed && this.calls === 0) this.release();
    }
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.released(this as unknown as VectorIndex);
    const ids = this.segments.map((s) => s.id);
    for (const segment of this.segments) segment.free();
    this.segments.length = 0;
    // The key table too: a disposed index kept by the caller holds no memory (memoryBytes 0).
    this.releasedKind = this.keyIndex?.kind ?? null;
    this.keyIndex = null;
    this.host.releaseSegments(ids);
  }

  private assertLive(): void {
    this.host.assertLive();
    if (this.disposed) throw new HybridError('DISPOSED', 'this index has been disposed');
  }
}

/** A call's frozen view of the segments. */
interface Snapshot {
  view: CorpusView;
  segments: readonly Segment[];
}

/** A search waiting in a batch: its staged query and its own k. */
interface Batched {
  query: StagedRows;
  k: number;
}

function empty(): PositionTopK {
  return { positions: new Uint32Array(0), scores: new Float32Array(0) };
}

/** Keys from this many, and a quarter of the rows, are worth turning into bitmaps beside the bounds pass. */
const DEFER_MIN_KEYS = 65_536;

/**
 * Whether a filter's selection is made while the bounds are computed: a list of keys (an array, a
 * typed array or a Set: their sizes are known without reading them) long enough that reading it
 * costs more than writing and reading every row's bounds (8 bytes a row) costs the workers.
 */
function defersSelection(filter: CheckedFilter, rows: number): boolean {
  if (filter.kind !== 'keys') return false;
  const keys = filter.keys as { length?: unknown; size?: unknown };
  const count = keys instanceof Set ? keys.size : Array.isArray(keys) || ArrayBuffer.isView(keys) ? keys.length : -1;
  return typeof count === 'number' && count >= DEFER_MIN_KEYS && count * 4 >= rows;
}
