import type { BackendChoice, IndexDtype, SearchResult } from './backend.js';
import type { CorpusStore } from './cpu/cpu-memory.js';
import type { IndexHost } from './engine.js';
import { Batcher } from './batcher.js';
import { HybridError } from './errors.js';
import type { StagedRows } from './cpu/cpu-memory.js';
import {
  assertFloat32Array, assertK, assertNonEmpty, assertQuery, assertRows, backendOption, optionsObject,
} from './validate.js';

/** Options of `search` and `searchBatch`. */
export interface SearchOptions {
  /** How many results per query (>= 1; above the index size, all rows). */
  k: number;
  backend?: BackendChoice;
}

/** Options of `scores`. */
export interface ScoresOptions {
  backend?: BackendChoice;
}

/**
 * A resident corpus: rows normalised once and kept in WASM memory (and, lazily, on the GPU).
 * Create with `engine.createIndex`.
 */
export class VectorIndex {
  /** @internal */
  readonly corpus: CorpusStore;
  private readonly host: IndexHost;
  private disposed = false;
  /** Calls running now; dispose() frees the rows only once they have settled. */
  private inFlight = 0;
  /**
   * An add() waiting for running calls to settle, then appending: rows may move when they grow,
   * and worker threads may be reading them. Calls that arrive meanwhile wait for it.
   */
  private writing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  /** Dynamic batching (config.batching): one batcher per requested backend. */
  private readonly batchers = new Map<BackendChoice, Batcher<Batched, SearchResult>>();

  /** @internal use engine.createIndex */
  constructor(host: IndexHost, corpus: CorpusStore) {
    this.host = host;
    this.corpus = corpus;
  }

  /** Rows held. */
  get size(): number {
    return this.corpus.rows;
  }

  /** Row length. */
  get dim(): number {
    return this.corpus.dim;
  }

  /** Storage type of the GPU copy. */
  get dtype(): IndexDtype {
    return this.corpus.dtype;
  }

  /**
   * Append rows (N x dim). On an error the index is unchanged. Calls already running finish on
   * the rows they started with; calls made after add() see the new rows.
   */
  async add(vectors: Float32Array): Promise<void> {
    this.assertLive();
    assertFloat32Array(vectors, 'vectors');
    assertRows(vectors, this.dim, 'vectors');
    while (this.writing) await this.writing;
    if (this.inFlight === 0) {
      this.assertLive();
      this.corpus.append(vectors, 'vectors');
      return;
    }
    let done!: () => void;
    this.writing = new Promise<void>((resolve) => { done = resolve; });
    try {
      const drained = new Promise<void>((resolve) => { this.drained = resolve; });
      // Searches waiting in a batch are reads in flight: send them now rather than at maxWaitMs.
      for (const batcher of this.batchers.values()) batcher.flushNow();
      await drained;
      this.assertLive();
      this.corpus.append(vectors, 'vectors');
    } finally {
      this.writing = null;
      done();
    }
  }

  /** The k rows most similar to `query`: best first, ties to the lower index. */
  async search(query: Float32Array, options: SearchOptions): Promise<SearchResult> {
    this.assertLive();
    const { k, requested } = this.searchOptions(options);
    assertQuery(query, this.dim);
    if (this.size === 0 && !this.writing) return emptyResult();
    return this.running(async () => {
      if (this.size === 0) return emptyResult();
      // Staging checks the query (NaN, Infinity) before it may join a batch: an input error
      // reaches only its own caller.
      const staged = this.host.stage(query, this.dim, 'query');
      try {
        if (this.host.batching()) return await this.batcher(requested).submit({ query: staged, k });
        const [result] = await this.host.search(this, 'search', staged, k, requested);
        return result!;
      } finally {
        staged.release();
      }
    });
  }

  private batcher(requested: BackendChoice): Batcher<Batched, SearchResult> {
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
   * first k of its query's list, which is its own top-k (same order, ties to the lower index).
   */
  private async searchMerged(items: Batched[], requested: BackendChoice): Promise<SearchResult[]> {
    if (items.length === 1) return this.host.search(this, 'search', items[0]!.query, items[0]!.k, requested);
    const joined = this.host.join(items.map((item) => item.query));
    try {
      const kMax = Math.max(...items.map((item) => item.k));
      const results = await this.host.search(this, 'search', joined, kMax, requested);
      return results.map((result, i) => {
        const k = items[i]!.k;
        if (result.indices.length <= k) return result;
        return { indices: result.indices.slice(0, k), scores: result.scores.slice(0, k) };
      });
    } finally {
      joined.release();
    }
  }

  /** `search` for each of M queries given as one flat M x dim array. */
  async searchBatch(queries: Float32Array, options: SearchOptions): Promise<SearchResult[]> {
    this.assertLive();
    const { k, requested } = this.searchOptions(options);
    assertNonEmpty(queries, 'queries');
    const m = assertRows(queries, this.dim, 'queries');
    if (this.size === 0 && !this.writing) {
      // Still reject NaN/Infinity, as a non-empty index would.
      this.host.stage(queries, this.dim, 'queries').release();
      return Array.from({ length: m }, emptyResult);
    }
    return this.running(async () => {
      const staged = this.host.stage(queries, this.dim, 'queries');
      try {
        if (this.size === 0) return Array.from({ length: m }, emptyResult);
        return await this.host.search(this, 'searchBatch', staged, k, requested);
      } finally {
        staged.release();
      }
    });
  }

  /** Cosine of `query` against every row, in row order. */
  async scores(query: Float32Array, options?: ScoresOptions): Promise<Float32Array> {
    this.assertLive();
    const opts = optionsObject<ScoresOptions>(options, ['backend']);
    const requested = backendOption(opts.backend);
    assertQuery(query, this.dim);
    return this.running(async () => {
      const staged = this.host.stage(query, this.dim, 'query');
      try {
        if (this.size === 0) return new Float32Array(0);
        return await this.host.scores(this, staged, requested);
      } finally {
        staged.release();
      }
    });
  }

  /**
   * Free the rows (CPU and GPU). Further calls throw DISPOSED; calls already running finish
   * with their answer first (the rows are freed when the last one settles). Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.inFlight === 0) this.release();
  }

  /** Count a call in flight (and in the engine's set, so engine.dispose() waits for it). */
  private async running<T>(call: () => Promise<T>): Promise<T> {
    if (this.writing) {
      while (this.writing) await this.writing;
      this.assertLive();
    }
    this.inFlight++;
    try {
      return await this.host.track(call());
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) {
        if (this.disposed) this.release();
        const drained = this.drained;
        this.drained = null;
        drained?.();
      }
    }
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.released(this);
    this.corpus.dispose();
  }

  private released = false;

  private searchOptions(options: unknown): { k: number; requested: BackendChoice } {
    if (options === undefined) {
      throw new HybridError('INVALID_ARGUMENT', 'options.k is required', 'k');
    }
    const opts = optionsObject<SearchOptions>(options, ['k', 'backend']);
    assertK(opts.k);
    return { k: opts.k, requested: backendOption(opts.backend) };
  }

  private assertLive(): void {
    this.host.assertLive();
    if (this.disposed) throw new HybridError('DISPOSED', 'this index has been disposed');
  }
}

/** A search waiting in a batch: its staged query and its own k. */
interface Batched {
  query: StagedRows;
  k: number;
}

function emptyResult(): SearchResult {
  return { indices: new Uint32Array(0), scores: new Float32Array(0) };
}
