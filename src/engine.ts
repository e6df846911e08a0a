import type { Backend, BackendChoice, Corpus, IndexDtype } from './backend.js';
import { resolveConfig, type HybridConfig } from './config.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { CpuMemory, type StagedRows } from './cpu/cpu-memory.js';
import { GpuError, HybridError } from './errors.js';
import { acquireDevice, findGpu } from './gpu/device.js';
import type { GpuInfo } from './gpu/info.js';
import { GpuBackend } from './gpu/gpu-backend.js';
import { routeCall } from './router.js';
import { Telemetry, type Operation, type TelemetrySnapshot } from './telemetry.js';
import {
  assertDim, assertFloat32Array, assertNonEmpty, assertQuery, assertRows,
  backendOption, dtypeOption, optionsObject,
} from './validate.js';
import { VectorIndex } from './vector-index.js';

/** What `createHybrid` accepts: any config field, plus the WebGPU `GPU` to use (null: CPU only). */
export type HybridOptions = Partial<HybridConfig> & { gpu?: unknown };

/** Options of the one-shot cosine calls. */
export interface CosineOptions {
  /** Row length; `cosineSimilarity` defaults it to `query.length`, the matrix call requires it. */
  dim?: number;
  backend?: BackendChoice;
}

/** Options of `createIndex`. */
export interface IndexOptions {
  dim: number;
  /** Storage of the GPU copy; the CPU always keeps f32 (default 'f32'). */
  dtype?: IndexDtype;
}

/** What `info()` reports. */
export interface EngineInfo {
  cpu: {
    /** Where the WASM kernels were loaded from. */
    wasmSource: 'url' | 'inline';
    wasmBytes: number;
    simd: true;
    threads: number;
    /** Bytes of WASM linear memory reserved now. */
    memoryBytes: number;
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
  private readonly gpu: GpuBackend | null;
  private readonly telemetry: Telemetry;
  private readonly indexes = new Set<VectorIndex>();
  private disposed = false;

  /** @internal use createHybrid */
  constructor(config: HybridConfig, memory: CpuMemory, gpu: GpuBackend | null) {
    this.config = config;
    this.memory = memory;
    this.cpu = new CpuBackend(memory);
    this.gpu = gpu;
    this.telemetry = new Telemetry(config.performanceWindowSize, config.telemetryEnabled);
  }

  /** Processor and memory details. */
  info(): EngineInfo {
    this.assertLive();
    return {
      cpu: {
        wasmSource: this.memory.wasmSource,
        wasmBytes: this.memory.wasmBytes,
        simd: true,
        threads: 1,
        memoryBytes: this.memory.arena.memoryBytes,
      },
      gpu: this.gpu ? structuredClone(this.gpu.info) : null,
    };
  }

  /** Calls, failures and latency percentiles per operation and backend; decisions by reason. */
  stats(): TelemetrySnapshot {
    return this.telemetry.snapshot();
  }

  /** Cosine of `query` against each row of `vectors` (row-major, N x dim): N scores. */
  async cosineSimilarity(query: Float32Array, vectors: Float32Array, options?: CosineOptions): Promise<Float32Array> {
    this.assertLive();
    const opts = optionsObject<CosineOptions>(options, ['dim', 'backend']);
    assertNonEmpty(query, 'query');
    const dim = opts.dim ?? query.length;
    assertDim(dim);
    assertQuery(query, dim);
    assertNonEmpty(vectors, 'vectors');
    const rows = assertRows(vectors, dim, 'vectors');
    const requested = backendOption(opts.backend);
    return this.withStaged([
      () => this.memory.stageQueries(query, dim, 'query'),
      () => this.memory.stagePanels(vectors, dim, 'vectors', false),
    ], ([q, v]) =>
      this.run('cosine', 'cosineSimilarity', rows, requested, (backend) => backend.cosineScores(q!, v!)));
  }

  /** M x N cosines (row-major) of `queries` (M x dim) against `vectors` (N x dim); `dim` required. */
  async cosineSimilarityMatrix(queries: Float32Array, vectors: Float32Array, options?: CosineOptions): Promise<Float32Array> {
    this.assertLive();
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
    return this.withStaged([
      () => this.memory.stageQueries(queries, dim, 'queries'),
      () => this.memory.stagePanels(vectors, dim, 'vectors', false),
    ], ([q, v]) =>
      this.run('cosine', 'cosineSimilarityMatrix', m * n, requested, (backend) => backend.cosineMatrix(q!, v!)));
  }

  /** A resident index over `vectors` (N x dim, may be empty), normalised once. */
  async createIndex(vectors: Float32Array, options: IndexOptions): Promise<VectorIndex> {
    this.assertLive();
    const opts = optionsObject<IndexOptions>(options, ['dim', 'dtype']);
    assertDim(opts.dim);
    const dim = opts.dim;
    const dtype = dtypeOption(opts.dtype);
    assertFloat32Array(vectors, 'vectors');
    assertRows(vectors, dim, 'vectors');
    const corpus = this.memory.createCorpus(dim, dtype);
    try {
      corpus.append(vectors, 'vectors');
    } catch (error) {
      corpus.dispose();
      throw error;
    }
    const index = new VectorIndex(this.indexHost, corpus);
    this.indexes.add(index);
    return index;
  }

  /** Free every index, GPU buffer and the device. Further calls throw DISPOSED. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const index of [...this.indexes]) index.dispose();
    await this.gpu?.dispose();
    await this.cpu.dispose();
  }

  /** What an index needs from the engine (kept off the public surface). */
  private readonly indexHost = {
    assertLive: () => this.assertLive(),
    stage: (input: Float32Array, dim: number, argument: string) => this.memory.stageQueries(input, dim, argument),
    search: (index: VectorIndex, method: string, queries: StagedRows, k: number, requested: BackendChoice) =>
      this.run('cosine', method, queries.rows * index.corpus.rows, requested,
        (backend) => backend.corpusTopK(index.corpus, queries, Math.min(k, index.corpus.rows)), index.corpus),
    scores: (index: VectorIndex, query: StagedRows, requested: BackendChoice) =>
      this.run('cosine', 'scores', index.corpus.rows, requested,
        (backend) => backend.corpusScores(index.corpus, query), index.corpus),
    released: (index: VectorIndex) => {
      this.indexes.delete(index);
      this.gpu?.releaseCorpus(index.corpus);
      this.cpu.releaseCorpus();
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
   * Route one call, time it, and answer on the CPU when an 'auto' GPU call fails. A corpus that
   * would not fit the GPU memory budget stays on the CPU (`over-gpu-budget`).
   */
  private async run<T>(operation: Operation, method: string, batchSize: number,
    requested: BackendChoice, work: (backend: Backend) => Promise<T>, corpus?: Corpus): Promise<T> {
    let decision = routeCall(this.config, {
      operation, batchSize, requested, gpuAvailable: this.gpu !== null,
    });
    if (decision.backend === 'gpu' && this.gpu === null) {
      this.telemetry.recordDecision(operation, method, decision.reason);
      throw new HybridError('GPU_UNAVAILABLE',
        `backend 'gpu' was requested but this engine has no GPU (info().gpu is null)`, 'backend');
    }
    if (decision.backend === 'gpu' && corpus && !this.gpu!.canHold(corpus)) {
      if (requested === 'gpu') {
        this.telemetry.recordDecision(operation, method, decision.reason);
        throw new GpuError('out-of-memory',
          `the index (${corpus.rows} rows of ${corpus.dim}) does not fit the GPU memory budget ` +
          `(${this.gpu!.info.memoryBudgetBytes} bytes, vramSafetyMargin ${this.config.vramSafetyMargin})`);
      }
      decision = { backend: 'cpu', reason: 'over-gpu-budget' };
    }
    this.telemetry.recordDecision(operation, method, decision.reason);
    const backend = decision.backend === 'gpu' ? this.gpu! : this.cpu;
    const start = performance.now();
    try {
      const result = await work(backend);
      this.telemetry.recordCall(operation, backend.kind, performance.now() - start, true);
      return result;
    } catch (error) {
      this.telemetry.recordCall(operation, backend.kind, performance.now() - start, false);
      if (backend.kind === 'gpu' && requested === 'auto' && error instanceof GpuError) {
        this.telemetry.recordDecision(operation, method, `fallback:${error.kind}`);
        const cpuStart = performance.now();
        const result = await work(this.cpu);
        this.telemetry.recordCall(operation, 'cpu', performance.now() - cpuStart, true);
        return result;
      }
      throw error;
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new HybridError('DISPOSED', 'this engine has been disposed');
  }
}

/** The host interface VectorIndex calls back into. */
export type IndexHost = HybridEngine['indexHost'];

/**
 * Create an engine. `gpu: null` runs on the CPU only. Config fields are checked: an unknown
 * field or a value out of range throws INVALID_CONFIG.
 */
export async function createHybrid(options: HybridOptions = {}): Promise<HybridEngine> {
  if (typeof options !== 'object' || options === null) {
    throw new HybridError('INVALID_CONFIG', 'createHybrid options must be an object', 'options');
  }
  const { gpu, ...fields } = options;
  const config = resolveConfig(fields);
  if (gpu !== undefined && gpu !== null && typeof gpu !== 'object') {
    throw new HybridError('INVALID_CONFIG', 'config.gpu must be a WebGPU GPU object or null', 'gpu');
  }
  const memory = await CpuMemory.create();
  let gpuBackend: GpuBackend | null = null;
  if (!config.forceCpuMode) {
    const found = await findGpu(gpu);
    try {
      // A GPU passed in is used whatever it is; one found by ourselves only if it is hardware.
      const context = found ? await acquireDevice(found, config, gpu !== undefined) : null;
      if (context) gpuBackend = new GpuBackend(context, memory, config);
    } catch {
      // No usable device (requestAdapter/requestDevice refused): the CPU answers everything.
      gpuBackend = null;
    }
  }
  return new HybridEngine(config, memory, gpuBackend);
}
