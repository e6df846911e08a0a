import { availableCores, environment, platformName, threadsSupported } from '#platform';
import type { Backend, BackendChoice, BackendKind } from './backend.js';
import { resolveConfig, type ConfigOverrides, type HybridConfig } from './config.js';
import { configFromEnv } from './config-sources.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { CpuPool } from './cpu/pool.js';
import { CpuMemory, type StagedRows } from './cpu/cpu-memory.js';
import type { CpuStrategyStats } from './cpu/strategy-types.js';
import { GpuError, HybridError } from './errors.js';
import { acquireDevice, findGpu } from './gpu/device.js';
import type { GpuInfo } from './gpu/info.js';
import { GpuBackend } from './gpu/gpu-backend.js';
import { logTo, silent, type Log, type Logger } from './logger.js';
import { isUnhealthy, NO_HISTORY, routeCall } from './router.js';
import { OPERATIONS, Telemetry, type MetricFamily, type Operation, type TelemetrySnapshot } from './telemetry.js';
import {
  assertArity, assertDim, assertFloat32Array, assertNonEmpty, assertQuery, assertRows,
  backendOption, describe, dtypeOption, metricOption, optionsObject,
} from './validate.js';
import { VectorIndex, type IndexHost } from './store/vector-index.js';
import { storeLimits } from './store/limits.js';
import { IndexLoader, type LoadTarget } from './store/index-file.js';
import { decodeIndex } from './store/format/decode.js';
import type { FileSource } from './store/format/types.js';
import type { CorpusView, IndexDtype, Key, Metric, Selection } from './store/types.js';
import { Graph, type GraphInput } from './spreading/graph.js';
import { loadGraphFile } from './spreading/graph-file.js';
import { resolveSpreadOptions, type ResolvedSpreadOptions, type SeedSet, type SpreadOptions } from './spreading/options.js';
import { columnsFor, stageSeeds } from './spreading/seeds.js';
import { estimatedWork } from './spreading/strategy.js';
import type { SparseTotals, SpreadJob } from './spreading/types.js';
import { ResultVerifier } from './verify.js';
import { warmUp, type WarmupHost, type WarmupReport } from './warmup.js';

/** Out-of-memory retries on the GPU (each with halved chunks) before the CPU answers. */
const OUT_OF_MEMORY_RETRIES = 3;

/**
 * What `createHybrid` accepts: any config field (and any subset of cpuStrategy's), plus the WebGPU
 * `GPU` to use (null: CPU only) and a `logger` for the engine's messages (without one the library
 * writes nothing).
 */
export type HybridOptions = ConfigOverrides & { gpu?: unknown; logger?: Logger };

/** Options of the one-shot cosine calls. */
export interface CosineOptions {
  /** Row length; `cosineSimilarity` defaults it to `query.length`, the matrix call requires it. */
  dim?: number;
  backend?: BackendChoice;
}

/** Options of `createIndex`. */
export interface IndexOptions<K extends Key = Key> {
  dim: number;
  /** One key per row (non-negative safe integers, or strings), unique; default 0, 1, 2, ... */
  keys?: ArrayLike<K>;
  /** How rows are compared (default 'cosine'; 'l2' is the squared distance, smaller is better). */
  metric?: Metric;
  /** The precision rows are stored and scanned in, on both backends (default 'f32'). */
  dtype?: IndexDtype;
}

/** What `info()` reports. */
export interface EngineInfo {
  /** Which build is running: 'node', or 'browser' (the browser bundle, or a bundler's browser build). */
  platform: 'node' | 'browser';
  cpu: {
    /** Where the WASM kernels were loaded from. */
    wasmSource: 'url' | 'inline';
    wasmBytes: number;
    simd: true;
    /**
     * Which build of the kernels runs: 'relaxed' (also uses relaxed SIMD, in the int8 bound
     * kernels of batches; chosen where WebAssembly.validate accepts it) or 'baseline'.
     */
    kernels: 'relaxed' | 'baseline';
    /** Threads a large CPU call runs on (1: this thread only). */
    threads: number;
    /** Whether the WASM memory is shared with worker threads. */
    sharedMemory: boolean;
    /** Whether large CPU calls run in workers only, leaving this thread free. */
    offMainThread: boolean;
    /** Bytes of WASM linear memory reserved now, over every memory. */
    memoryBytes: number;
    /** WASM memories in use (an index larger than one 4 GiB memory spreads over several). */
    memoryRegions: number;
  };
  /** The device in use, or null when the engine runs on the CPU only. */
  gpu: GpuInfo | null;
}

/**
 * The engine: a CPU backend always, a GPU backend when one can be had, and a router in front
 * of both. Create with `createHybrid`.
 */
export class HybridEngine {
  readonly config: HybridConfig;
  private readonly memory: CpuMemory;
  private readonly cpu: CpuBackend;
  private gpu: GpuBackend | null;
  /** The WebGPU `GPU` the device came from (re-asked for a device after a loss). */
  private readonly gpuSource: GPU | null;
  /** When a lost device was last re-asked for outside a probe (performance.now()). */
  private lastReacquire = -Infinity;
  private readonly telemetry: Telemetry;
  private readonly verifier: ResultVerifier;
  private readonly indexes = new Set<VectorIndex>();
  /** Public calls running now (engine.dispose() waits for them). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly graphs = new Set<Graph>();
  private disposed = false;
  /** Where messages go (createHybrid's `logger`). */
  private readonly log: Log;

  /** @internal use createHybrid */
  constructor(config: HybridConfig, memory: CpuMemory, gpu: GpuBackend | null, gpuSource: GPU | null = null, log: Log = silent) {
    this.config = config;
    this.memory = memory;
    this.cpu = new CpuBackend(memory, cpuThreading(config, memory), config.cpuStrategy);
    this.gpu = gpu;
    this.gpuSource = gpuSource;
    this.telemetry = new Telemetry(config.performanceWindowSize, config.telemetryEnabled);
    this.verifier = new ResultVerifier(memory);
    this.log = log;
  }

  /** Processor and memory details. */
  info(): EngineInfo {
    this.assertLive();
    assertArity(arguments.length, 0, 'info()');
    return {
      platform: platformName,
      cpu: {
        wasmSource: this.memory.wasmSource,
        wasmBytes: this.memory.wasmBytes,
        simd: true,
        kernels: this.memory.kernelModule,
        threads: this.cpu.threads,
        sharedMemory: this.memory.shared,
        offMainThread: this.cpu.offMainThreadActive,
        memoryBytes: this.memory.regions.memoryBytes,
        memoryRegions: this.memory.regions.regions.length,
      },
      gpu: this.gpu ? structuredClone(this.gpu.info) : null,
    };
  }

  /**
   * Warm up before serving: start the CPU worker threads, run every kernel (on a GPU: compile its
   * pipelines), run each live index's calls on every backend (its GPU copy uploaded, the memory
   * a first call needs touched), and, with a GPU, time both backends over size classes so the
   * router starts with a speedup estimate. Resolves with what it did and how long it took (also
   * `stats().warmup`). `warmup: true` (the default) does it once in createHybrid; call this after
   * building indexes. Its calls are not counted in stats(); nor are calls made while it runs.
   */
  async warmup(): Promise<WarmupReport> {
    this.assertLive();
    assertArity(arguments.length, 0, 'warmup()');
    return this.track(this.warmupFor('warmup()'));
  }

  /** @internal warm-up run by createHybrid (config.warmup) or warmup() */
  async warmupFor(trigger: WarmupReport['trigger']): Promise<WarmupReport> {
    const report = await warmUp(this.warmupHost, trigger, this.telemetry.warmup);
    this.telemetry.warmup = report;
    return report;
  }

  /** What warm-up (warmup.ts) reaches: the public calls, and the few things they cannot do. */
  private readonly warmupHost: WarmupHost = {
    engine: this,
    indexes: () => [...this.indexes],
    gpu: () => this.gpu !== null && !this.gpu.lost,
    f16: () => this.gpu?.info.f16Storage === true,
    routerMeasures: () => this.telemetry.enabled && !this.config.forceCpuMode,
    batching: () => this.config.batching !== false,
    startWorkers: async () => {
      const pool = this.cpu.pool;
      if (!pool) return 0;
      await pool.start();
      return this.cpu.pool ? pool.size : 0;
    },
    estimating: (on) => { this.telemetry.estimateOnly = on; },
    log: (level, message) => this.log(level, message),
  };

  /** Calls, failures and latency percentiles per operation and backend; decisions by reason. */
  stats(): TelemetrySnapshot {
    assertArity(arguments.length, 0, 'stats()');
    return { ...this.telemetry.snapshot(this.gpu !== null && !this.gpu.lost), cpuStrategy: this.cpu.strategy.snapshot() };
  }

  /**
   * @internal `calibrate`: time the CPU backend's kernel choices longer than at first use (and the
   * split threshold, where there are worker threads); the choices then hold for this engine.
   */
  async calibrateCpu(): Promise<CpuStrategyStats> {
    this.assertLive();
    await this.cpu.calibrateStrategy();
    return this.cpu.strategy.snapshot();
  }

  /** Prometheus text exposition of the same counters (names prefixed `hybrid_similarity_`). */
  metrics(): string {
    assertArity(arguments.length, 0, 'metrics()');
    return this.telemetry.prometheus(this.gpu !== null && !this.gpu.lost);
  }

  /** @internal the metric families behind metrics(), for hybrid-similarity/prometheus */
  metricFamilies(): MetricFamily[] {
    return this.telemetry.families(this.gpu !== null && !this.gpu.lost);
  }

  /** Cosine of `query` against each row of `vectors` (row-major, N x dim): N scores. */
  async cosineSimilarity(query: Float32Array, vectors: Float32Array, options?: CosineOptions): Promise<Float32Array> {
    this.assertLive();
    assertArity(arguments.length, 3, 'cosineSimilarity(query, vectors, { dim, backend })');
    const opts = optionsObject<CosineOptions>(options, ['dim', 'backend']);
    assertNonEmpty(query, 'query');
    const dim = opts.dim ?? query.length;
    assertDim(dim);
    assertQuery(query, dim);
    assertNonEmpty(vectors, 'vectors');
    const rows = assertRows(vectors, dim, 'vectors');
    const requested = backendOption(opts.backend);
    return this.track(this.withStaged([
      () => this.memory.stageQueries(query, dim, 'query'),
      () => this.memory.stagePanels(vectors, dim, 'vectors', false),
    ], ([q, v]) =>
      this.run('cosine', 'cosineSimilarity', rows, requested, (backend) => backend.cosineScores(q!, v!),
        { verify: (scores) => this.verifier.oneShot(q!, v!, scores) })));
  }

  /** M x N cosines (row-major) of `queries` (M x dim) against `vectors` (N x dim); `dim` required. */
  async cosineSimilarityMatrix(queries: Float32Array, vectors: Float32Array, options?: CosineOptions): Promise<Float32Array> {
    this.assertLive();
    assertArity(arguments.length, 3, 'cosineSimilarityMatrix(queries, vectors, { dim, backend })');
    const opts = optionsObject<CosineOptions>(options, ['dim', 'backend']);
    if (opts.dim === undefined) {
      throw new HybridError('INVALID_ARGUMENT', 'options.dim is required by cosineSimilarityMatrix', 'dim');
    }
    const dim = opts.dim;
    assertDim(dim);
    assertNonEmpty(queries, 'queries');
    const m = assertRows(queries, dim, 'queries');
    assertNonEmpty(vectors, 'vectors');
    const n = assertRows(vectors, dim, 'vectors');
    const requested = backendOption(opts.backend);
    return this.track(this.withStaged([
      () => this.memory.stageQueries(queries, dim, 'queries'),
      () => this.memory.stagePanels(vectors, dim, 'vectors', false),
    ], ([q, v]) =>
      this.run('cosine', 'cosineSimilarityMatrix', m * n, requested, (backend) => backend.cosineMatrix(q!, v!),
        { verify: (scores) => this.verifier.oneShot(q!, v!, scores) })));
  }

  /**
   * A resident index over `vectors` (N x dim, may be empty), with the caller's keys (or 0, 1,
   * 2, ...), compared by `metric`, stored as `dtype`.
   */
  async createIndex(vectors: Float32Array, options: IndexOptions<number> & { keys?: undefined }): Promise<VectorIndex<number, true>>;
  async createIndex(vectors: Float32Array, options: IndexOptions<string> & { keys: ArrayLike<string> }): Promise<VectorIndex<string, false>>;
  async createIndex(vectors: Float32Array, options: IndexOptions<number> & { keys: ArrayLike<number> }): Promise<VectorIndex<number, false>>;
  async createIndex<K extends Key>(vectors: Float32Array, options: IndexOptions<K>): Promise<VectorIndex<K>>;
  async createIndex<K extends Key>(vectors: Float32Array, options: IndexOptions<K>): Promise<VectorIndex<K>> {
    this.assertLive();
    if (options === undefined) throw new HybridError('INVALID_ARGUMENT', 'options.dim is required', 'dim');
    if (arguments.length > 2) {
      throw new HybridError('INVALID_ARGUMENT', `createIndex(vectors, { dim, keys, metric, dtype }) takes 2 arguments, got ${arguments.length}`, 'arguments');
    }
    const opts = optionsObject<IndexOptions<K>>(options, ['dim', 'keys', 'metric', 'dtype']);
    assertDim(opts.dim);
    const dim = opts.dim;
    const dtype = dtypeOption(opts.dtype);
    const metric = metricOption(opts.metric);
    assertFloat32Array(vectors, 'vectors');
    assertRows(vectors, dim, 'vectors');
    const keys = opts.keys;
    if (keys !== undefined && (keys === null || typeof keys !== 'object' || typeof (keys as ArrayLike<unknown>).length !== 'number')) {
      throw new HybridError('INVALID_ARGUMENT', `keys must be an array of keys (numbers or strings), got ${describe(keys)}`, 'keys');
    }
    const keyKind = keys === undefined ? 'default' as const
      : (keys as ArrayLike<unknown>).length > 0 ? (typeof (keys as ArrayLike<unknown>)[0] === 'string' ? 'string' as const : 'number' as const)
        : 'undecided' as const;
    const index = new VectorIndex<K>(this.indexHost, { dim, metric, dtype, keyKind });
    this.indexes.add(index as unknown as VectorIndex);
    try {
      await index.add(vectors, keys === undefined ? undefined : { keys });
    } catch (error) {
      index.dispose();
      throw error;
    }
    return index;
  }

  /**
   * An index saved by `index.save` or `index.toBytes` (docs/FORMAT.md), from a path (Node), a
   * Uint8Array, an ArrayBuffer, a Blob or a ReadableStream of bytes: read in bounded pieces
   * straight into the index's segments, every checksum verified before the index exists. It
   * answers every call with the same bits as the index saved. A bad file is INVALID_FILE (saying
   * what is wrong) and a failing read IO_ERROR; either way nothing changes in the engine.
   */
  async loadIndex(source: FileSource): Promise<VectorIndex> {
    this.assertLive();
    if (arguments.length > 1) throw new HybridError('INVALID_ARGUMENT', `loadIndex(source) takes 1 argument, got ${arguments.length}`, 'arguments');
    let index: VectorIndex | null = null;
    let target: LoadTarget | null = null;
    const loader = new IndexLoader({
      begin: (header) => {
        index = new VectorIndex(this.indexHost, { dim: header.dim, metric: header.metric, dtype: header.dtype, keyKind: header.keyKind });
        target = index.loadTarget(() => this.indexes.add(index!));
        return target.begin(header);
      },
      openSegment: (rows) => target!.openSegment(rows),
      adopt: (segment) => target!.adopt(segment),
      commit: (nextKey) => target!.commit(nextKey),
      abort: () => target?.abort(),
    });
    await this.track(decodeIndex(source, loader));
    const loaded = index as VectorIndex | null;
    if (this.disposed) {
      // dispose() waited for the load and frees the index; do not hand out a disposed one (as loadGraph).
      loaded?.dispose();
      throw new HybridError('DISPOSED', 'the engine was disposed while the index loaded', 'engine');
    }
    return loaded!;
  }

  /**
   * A directed weighted graph for activation spreading (validated: ids < nodeCount, equal
   * lengths, finite weights; missing weights are 1). Stored as CSR; the GPU copy is uploaded on
   * first GPU use.
   */
  createGraph(input: GraphInput): Graph {
    this.assertLive();
    assertArity(arguments.length, 1, 'createGraph({ nodeCount, from, to, weight, undirected })');
    const graph = Graph.fromInput(this.memory, input, this.graphReleased);
    this.graphs.add(graph);
    return graph;
  }

  /**
   * A graph saved by `graph.save` or `graph.toBytes` (docs/FORMAT.md), from a path (Node), a
   * Uint8Array, an ArrayBuffer, a Blob or a ReadableStream of bytes, every checksum verified
   * first. It spreads to the same bits as the graph saved. A bad file is INVALID_FILE (saying
   * what is wrong) and a failing read IO_ERROR; either way nothing changes in the engine.
   */
  async loadGraph(source: FileSource): Promise<Graph> {
    this.assertLive();
    if (arguments.length > 1) throw new HybridError('INVALID_ARGUMENT', `loadGraph(source) takes 1 argument, got ${arguments.length}`, 'arguments');
    const graph = await this.track(loadGraphFile(this.memory, source, this.graphReleased));
    if (this.disposed) {
      graph.dispose();
      throw new HybridError('DISPOSED', 'the engine was disposed while the graph loaded', 'engine');
    }
    this.graphs.add(graph);
    return graph;
  }

  /** What a graph's dispose() releases beyond its own memory. */
  private readonly graphReleased = (graph: Graph): void => {
    this.graphs.delete(graph);
    this.gpu?.releaseGraph(graph.id);
    this.cpu.releaseGraph(graph.id);
  };

  /**
   * Spread activation from one seed set (the rule in README, "Activation spreading"; level-synchronous, deterministic):
   * the total activation of every node after up to maxHops hops; with `output: 'sparse'` only
   * the nodes whose total is not 0, `{ nodes, values }` (nodes ascending).
   */
  spreadActivation(graph: Graph, options: SpreadOptions & { seeds: SeedSet; output: 'sparse' }): Promise<SparseTotals>;
  spreadActivation(graph: Graph, options: SpreadOptions & { seeds: SeedSet; output?: 'dense' }): Promise<Float32Array>;
  spreadActivation(graph: Graph, options: SpreadOptions & { seeds: SeedSet }): Promise<Float32Array | SparseTotals>;
  async spreadActivation(graph: Graph, options: SpreadOptions & { seeds: SeedSet }): Promise<Float32Array | SparseTotals> {
    this.assertLive();
    assertArity(arguments.length, 2, 'spreadActivation(graph, { seeds, ...options })');
    this.assertGraph(graph);
    const resolved = resolveSpreadOptions(options, 'seeds');
    if (resolved.seeds === undefined) throw new HybridError('INVALID_ARGUMENT', 'options.seeds is required', 'seeds');
    const [totals] = await this.spread(graph, [resolved.seeds], 'seeds', 'spreadActivation', resolved);
    return totals!;
  }

  /**
   * spreadActivation for K seed sets at once (one traversal of the union of their frontiers, a
   * column per set); with `output: 'sparse'`, each set's non-zero totals.
   */
  spreadActivationBatch(graph: Graph, options: SpreadOptions & { seedSets: SeedSet[]; output: 'sparse' }): Promise<SparseTotals[]>;
  spreadActivationBatch(graph: Graph, options: SpreadOptions & { seedSets: SeedSet[]; output?: 'dense' }): Promise<Float32Array[]>;
  spreadActivationBatch(graph: Graph, options: SpreadOptions & { seedSets: SeedSet[] }): Promise<Float32Array[] | SparseTotals[]>;
  async spreadActivationBatch(graph: Graph, options: SpreadOptions & { seedSets: SeedSet[] }): Promise<Float32Array[] | SparseTotals[]> {
    this.assertLive();
    assertArity(arguments.length, 2, 'spreadActivationBatch(graph, { seedSets, ...options })');
    this.assertGraph(graph);
    const resolved = resolveSpreadOptions(options, 'seedSets');
    const sets = resolved.seeds;
    if (!Array.isArray(sets)) throw new HybridError('INVALID_ARGUMENT', 'options.seedSets must be an array of { nodes, values }', 'seedSets');
    if (sets.length === 0) throw new HybridError('EMPTY_INPUT', 'seedSets is empty', 'seedSets');
    return this.spread(graph, sets, 'seedSets', 'spreadActivationBatch', resolved);
  }

  /**
   * Stage the seeds (sparse: only the seeded nodes), route by the estimated work (edges the
   * frontiers touch x seed sets: strategy.ts), run, and count the hops' directions.
   */
  private async spread(graph: Graph, sets: unknown[], argument: string, method: string,
    resolved: ResolvedSpreadOptions): Promise<Float32Array[] | SparseTotals[]> {
    const k = sets.length;
    const cols = columnsFor(k);
    const arena = this.memory.arena;
    const seeds = stageSeeds(graph, sets, argument, cols, (length, nodes) => {
      // Sums (not zeroed: the rows are zeroed as their nodes are marked) and a bit per node.
      const ptr = arena.alloc(length * 8);
      const markBytes = Math.max(16, Math.ceil(nodes / 32) * 4);
      let marksPtr: number;
      try {
        marksPtr = arena.alloc(markBytes);
      } catch (error) {
        arena.free(ptr);
        throw error;
      }
      this.memory.kernels.clearBlock(marksPtr, markBytes);
      const sums = new Float64Array(arena.memory.buffer, ptr, length);
      const marks = new Uint32Array(arena.memory.buffer, marksPtr, markBytes >>> 2);
      const compact = (n: number, columns: number, most: number) => {
        const lists = arena.alloc(Math.max(16, most * 4 * (1 + columns)));
        try {
          const count = this.memory.kernels.compactSeedRows(ptr, marksPtr, n, columns, lists, lists + most * 4);
          return {
            nodes: arena.u32.slice(lists >>> 2, (lists >>> 2) + count),
            rows: arena.f32.slice((lists >>> 2) + most, (lists >>> 2) + most + count * columns),
          };
        } finally {
          arena.free(lists);
        }
      };
      return { sums, marks, release: () => { arena.free(marksPtr); arena.free(ptr); }, compact };
    });
    const job: SpreadJob = {
      graph, k, cols, seeds, decays: resolved.decays, threshold: resolved.threshold,
      maxActivation: resolved.maxActivation, fan: resolved.fan, strategy: resolved.strategy, output: resolved.output,
    };
    const work = estimatedWork(graph, seeds.edges, resolved.decays.length, k);
    graph.retain();
    try {
      const outcome = await this.track(this.run('spreading', method, work, resolved.requested,
        async (backend) => {
          const result = await backend.spread(job);
          this.telemetry.recordSpreadHops(backend.kind, result.pushHops, result.pullHops);
          return result;
        },
        { verify: (result) => this.verifier.spread(job, result, (j) => this.cpu.spreadNow(j)) }));
      return outcome.totals;
    } finally {
      graph.settle();
    }
  }

  private assertGraph(graph: Graph): void {
    if (!(graph instanceof Graph)) {
      throw new HybridError('INVALID_ARGUMENT', 'graph must be a Graph from this engine\'s createGraph', 'graph');
    }
    if (graph.isDisposed) throw new HybridError('DISPOSED', 'this graph has been disposed', 'graph');
    if (!this.graphs.has(graph)) throw new HybridError('INVALID_ARGUMENT', 'graph belongs to another engine', 'graph');
  }

  /**
   * Free every index, graph, GPU buffer and the device. Further calls throw DISPOSED; calls
   * already running finish (or fail) first. Idempotent.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.inFlight]);
    for (const index of [...this.indexes]) index.dispose();
    for (const graph of [...this.graphs]) graph.dispose();
    await this.gpu?.dispose();
    await this.cpu.dispose();
  }

  /** Keep a running call in the in-flight set until it settles. */
  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** What an index needs from the engine (kept off the public surface). */
  private readonly indexHost: IndexHost = {
    assertLive: () => this.assertLive(),
    track: <T>(promise: Promise<T>) => this.track(promise),
    regions: () => this.memory.regions,
    stage: (input, dim, argument, normalize) => this.memory.stageQueries(input, dim, argument, normalize),
    join: (blocks) => this.memory.joinRows(blocks),
    batching: () => this.config.batching,
    recordBatch: (size, waitsMs, reason) => this.telemetry.recordBatch(size, waitsMs, reason),
    // A deferred selection is made on the CPU beside its bounds pass; were a GPU ever to take such
    // a call, the selection is made first.
    topK: (method: string, view: CorpusView, queries: StagedRows, k: number, selection: Selection, requested: BackendChoice,
      deferred?: () => Selection) =>
      this.run('cosine', method, queries.rows * selection.passing, requested,
        (backend) => (deferred && backend !== this.cpu
          ? backend.storeTopK(view, queries, k, deferred())
          : backend.storeTopK(view, queries, k, selection, deferred)),
        { corpus: view, verify: (results) => this.verifier.topK(view, queries, results) }),
    cpuOnly: (requested: BackendChoice) => requested === 'cpu' || (requested !== 'gpu' && this.gpu === null),
    scores: (view: CorpusView, query: StagedRows, requested: BackendChoice) =>
      this.run('cosine', 'scores', view.rows, requested,
        (backend) => backend.storeScores(view, query),
        { corpus: view, verify: (scores) => this.verifier.corpusScores(view, query, scores) }),
    assertBackend: (requested: BackendChoice) => {
      if (requested === 'gpu' && this.gpu === null) throw noGpu();
    },
    releaseSegments: (ids: number[]) => {
      this.gpu?.releaseSegments(ids);
      this.cpu.releaseSegments();
    },
    released: (index: VectorIndex) => {
      this.indexes.delete(index);
    },
  };

  /** Stage inputs one after another (releasing the earlier ones if a later one is rejected). */
  private async withStaged<T>(stagers: Array<() => StagedRows>,
    work: (staged: StagedRows[]) => Promise<T>): Promise<T> {
    const staged: StagedRows[] = [];
    try {
      for (const stage of stagers) staged.push(stage());
      return await work(staged);
    } finally {
      for (const block of staged) block.release();
    }
  }

  /**
   * Route one call (router.ts), run it, record it, and keep the promise that a GPU failure never
   * reaches an 'auto' caller: out of memory is retried on the GPU with halved chunks (up to 3
   * times), then any GpuError, or a result that fails the sampled CPU cross-check, is answered by
   * the CPU. A corpus over the GPU memory budget stays on the CPU (`over-gpu-budget`).
   */
  private async run<T>(operation: Operation, method: string, batchSize: number,
    requested: BackendChoice, work: (backend: Backend) => Promise<T>,
    options: { corpus?: CorpusView; verify?: (result: T) => boolean } = {}): Promise<T> {
    const telemetry = this.telemetry;
    const view = telemetry.enabled ? telemetry.view(operation) : NO_HISTORY;
    const now = performance.now();
    let decision: { backend: BackendKind; reason: string } = routeCall(this.config, view,
      { operation, batchSize, requested, gpuAvailable: this.gpu !== null },
      now, telemetry.enabled ? Math.random() : 1);
    if (decision.backend === 'gpu' && this.gpu === null) {
      telemetry.recordDecision(operation, method, 'gpu', decision.reason, batchSize);
      throw noGpu();
    }
    const probe = decision.reason === 'probe';
    if (probe) {
      telemetry.setProbe(operation, true);
      await this.reacquireIfLost(true);
    }
    try {
      if (decision.backend === 'gpu' && options.corpus && !this.gpu!.canHold(options.corpus)) {
        const corpus = options.corpus;
        if (requested === 'gpu') {
          telemetry.recordDecision(operation, method, 'gpu', decision.reason, batchSize);
          throw new GpuError('out-of-memory',
            `the index (${corpus.rows} rows of ${corpus.dim}, ${corpus.dtype}) does not fit the GPU memory budget ` +
            `(${this.gpu!.info.memoryBudgetBytes} bytes, vramSafetyMargin ${this.config.vramSafetyMargin})`);
        }
        decision = { backend: 'cpu', reason: 'over-gpu-budget' };
      }
      telemetry.recordDecision(operation, method, decision.backend, decision.reason, batchSize);
      if (decision.backend === 'cpu') return await this.timed(operation, 'cpu', batchSize, () => work(this.cpu));

      // Auto calls wait for the rule-4 probe; forced calls, and calls with telemetry off (where no
      // probe comes), ask for a new device themselves.
      if (!probe && (requested === 'gpu' || !telemetry.enabled)) await this.reacquireIfLost(false);
      let failure: GpuError | null = null;
      const start = performance.now();
      for (let attempt = 0; attempt <= OUT_OF_MEMORY_RETRIES; attempt++) {
        const gpu = this.gpu!;
        try {
          const result = await work(gpu);
          if (options.verify && Math.random() < this.config.verifySampleRate && !options.verify(result)) {
            throw new GpuError('wrong-result', 'a GPU result disagreed with the CPU cross-check');
          }
          // A successful probe ends the rest and clears the failure window; it is the first sample.
          if (probe) telemetry.markHealthy(operation);
          telemetry.recordCall(operation, 'gpu', performance.now() - start, batchSize);
          return result;
        } catch (error) {
          if (!(error instanceof GpuError)) throw error;
          failure = error;
          const retry = error.kind === 'out-of-memory' && requested !== 'gpu' && attempt < OUT_OF_MEMORY_RETRIES;
          if (!retry) break;
          // One call, one sample: an out-of-memory attempt that a retry repairs is only counted.
          telemetry.countGpuFailure(operation, error.kind);
          gpu.halveChunks();
        }
      }
      telemetry.recordCall(operation, 'gpu', performance.now() - start, batchSize, failure!.kind);
      this.noteGpuFailure(operation, failure!, probe);
      if (requested === 'gpu') throw failure!;
      telemetry.recordFallback(operation, failure!.kind);
      return await this.timed(operation, 'cpu', batchSize, () => work(this.cpu));
    } finally {
      if (probe) telemetry.setProbe(operation, false);
    }
  }

  /** Run on one backend and record the call (the CPU's failures are the caller's errors). */
  private async timed<T>(operation: Operation, backend: BackendKind, batchSize: number, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const result = await call();
    this.telemetry.recordCall(operation, backend, performance.now() - start, batchSize);
    return result;
  }

  /** Health after a GPU failure: a lost device rests every operation; a low success rate, this one. */
  private noteGpuFailure(operation: Operation, error: GpuError, probe: boolean): void {
    const now = performance.now();
    if (error.kind === 'device-lost') {
      for (const op of OPERATIONS) this.telemetry.markUnhealthy(op, now);
    } else if (probe || isUnhealthy(this.config, this.telemetry.view(operation).gpuSuccessRate)) {
      this.telemetry.markUnhealthy(operation, now);
    }
  }

  /**
   * A lost device is replaced by asking the same GPU object for a new one: always on a probe
   * (rule 4); on other GPU calls (forced, or with telemetry off, where no probe comes) at most
   * once per gpuRecoveryMs.
   */
  private async reacquireIfLost(probe: boolean): Promise<void> {
    const old = this.gpu;
    if (!old || !old.lost || !this.gpuSource) return;
    const now = performance.now();
    if (!probe && now - this.lastReacquire < this.config.gpuRecoveryMs) return;
    this.lastReacquire = now;
    try {
      const context = await acquireDevice(this.gpuSource, this.config, true, this.log);
      if (!context) return;
      this.gpu = new GpuBackend(context, this.memory, this.config);
      await old.dispose().catch(() => undefined);
    } catch {
      // Still no device: the probe fails as device-lost and the GPU rests again.
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new HybridError('DISPOSED', 'this engine has been disposed');
  }
}

/**
 * Whether the CPU runs kernels in worker threads: where threads exist (Node; browsers when
 * crossOriginIsolated), with more than one thread asked for, or one off the main thread.
 */
function wantsPool(config: HybridConfig): boolean {
  return threadsSupported() && (config.cpuThreads > 1 || config.offMainThread);
}

/** The CPU backend's threads: cpuThreads in all (workers only when offMainThread). */
function cpuThreading(config: HybridConfig, memory: CpuMemory) {
  if (!memory.shared) return { pool: null, offMainThread: false };
  const workers = config.offMainThread ? config.cpuThreads : config.cpuThreads - 1;
  if (workers < 1) return { pool: null, offMainThread: false };
  const pool = new CpuPool(memory.module, memory.regions.regions.map((r) => ({ id: r.id, memory: r.memory })), workers);
  memory.regions.onRegion((region) => pool.addRegion({ id: region.id, memory: region.memory }));
  return { pool, offMainThread: config.offMainThread };
}


/**
 * Create an engine. `gpu: null` runs on the CPU only. Config fields are checked: an unknown
 * field or a value out of range throws INVALID_CONFIG.
 */
export async function createHybrid(options: HybridOptions = {}): Promise<HybridEngine> {
  if (typeof options !== 'object' || options === null) {
    throw new HybridError('INVALID_CONFIG', 'createHybrid options must be an object', 'options');
  }
  const { gpu, logger, ...fields } = options;
  const log = logTo(logger);
  const env = environment();
  // Environment overrides apply last (README lists them).
  const fromEnv: Record<string, unknown> = env ? configFromEnv(env) : {};
  const overrides: Record<string, unknown> = { ...fields, ...fromEnv };
  // cpuStrategy keys from the environment apply over the options' others, not in place of them.
  if (fromEnv.cpuStrategy && typeof fields.cpuStrategy === 'object') overrides.cpuStrategy = { ...fields.cpuStrategy, ...fromEnv.cpuStrategy };
  // cpuThreads defaults to the cores this process may use (Node cannot tell synchronously).
  if (overrides.cpuThreads === undefined) overrides.cpuThreads = await availableCores();
  const config = resolveConfig(overrides);
  if (gpu !== undefined && gpu !== null &&
      (typeof gpu !== 'object' || typeof (gpu as { requestAdapter?: unknown }).requestAdapter !== 'function')) {
    // An object without requestAdapter would otherwise fail inside acquisition and leave a CPU-only
    // engine without a word (passing the webgpu module itself instead of its create([]) does that).
    throw new HybridError('INVALID_CONFIG',
      `config.gpu must be a WebGPU GPU object (navigator.gpu, or create([]) of the webgpu package) or null, got ${describe(gpu)}` +
      (typeof gpu === 'object' && typeof (gpu as { create?: unknown }).create === 'function' ? ': this looks like the webgpu module; pass its create([])' : ''),
      'gpu');
  }
  const memory = await CpuMemory.create(wantsPool(config), { ...storeLimits.regions }, config.cpuStrategy.kernels);
  let gpuBackend: GpuBackend | null = null;
  let found: GPU | null = null;
  if (!config.forceCpuMode) {
    found = await findGpu(gpu, log);
    try {
      // A GPU passed in is used whatever it is; one found by ourselves only if it is hardware.
      const context = found ? await acquireDevice(found, config, gpu !== undefined, log) : null;
      if (context) gpuBackend = new GpuBackend(context, memory, config);
    } catch (error) {
      // No usable device (requestAdapter/requestDevice refused): the CPU answers everything.
      log('debug', `GPU: no device (${error instanceof Error ? error.message : String(error)}); CPU only`);
      gpuBackend = null;
    }
  }
  const engine = new HybridEngine(config, memory, gpuBackend, gpuBackend ? (found as GPU) : null, log);
  if (config.warmup) await engine.warmupFor('createHybrid');
  return engine;
}

/** GPU_UNAVAILABLE: `backend: 'gpu'` on an engine without a GPU. */
function noGpu(): HybridError {
  return new HybridError('GPU_UNAVAILABLE', `backend 'gpu' was requested but this engine has no GPU (info().gpu is null)`, 'backend');
}
