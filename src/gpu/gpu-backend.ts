import type { Backend, Corpus, RowBlock, SearchResult } from '../backend.js';
import { GpuSpreading } from '../spreading/gpu-spreading.js';
import type { SpreadJob, SpreadOutcome } from '../spreading/types.js';
import type { HybridConfig } from '../config.js';
import { panelRegionBytes } from '../cpu/cpu-memory.js';
import type { CpuMemory } from '../cpu/cpu-memory.js';
import { GpuError } from '../errors.js';
import { BufferPool } from './buffer-pool.js';
import { BufferUsage, MapMode, MAX_WORKGROUPS_PER_DIMENSION } from './constants.js';
import type { GpuContext } from './device.js';
import type { GpuInfo } from './info.js';
import { PipelineCache, type RowType } from './pipelines.js';

/** Invocations per workgroup of the scan, normalise and top-k kernels. */
const WG = 64;
/** Scores per workgroup of the partial top-k (kernels/topk.wgsl). */
const TOP_K_BLOCK = 1024;
/** Largest k selected on the GPU; above it all scores come back and the CPU selects. */
const GPU_TOP_K_MAX = 64;
/** One-shot row buffers above this size are destroyed after the call instead of pooled. */
const TEMPORARY_POOL_MAX = 16 << 20;
/** Bytes of f32 rows converted to f16 per step when uploading an f16 index. */
const F16_UPLOAD_STEP = 32 << 20;
/** Bytes copied out of a shared WASM memory per writeBuffer (bounds the temporary copy). */
const WRITE_STEP_BYTES = 16 << 20;

/** One storage binding's worth of panel rows. */
interface RowChunk {
  buffer: GPUBuffer;
  firstRow: number;
  capacityRows: number;
}

/** Rows on the device, split into bindings no larger than maxStorageBufferBindingSize. */
interface DeviceRows {
  chunks: RowChunk[];
  rowType: RowType;
  stride: number;
  /** Rows whose data is on the device. */
  rows: number;
  /** Rows per full chunk (a multiple of 4). */
  chunkRows: number;
  bytes: number;
}

/** Work recorded for one submission, and what to do once it completed. */
interface Recorded<T> {
  encoder: GPUCommandEncoder;
  /** Buffers copied, in order, into one readback buffer (`bytes` in all). */
  readback?: { bytes: number; copies: Array<{ buffer: GPUBuffer; bytes: number }> };
  finish: (data: ArrayBuffer | null) => T;
}

/**
 * The WGSL kernels (kernels/*.wgsl) through WebGPU. Index corpora stay resident on the device:
 * uploaded on first use, then only rows added since; a call sends its queries up and its
 * results (scores, or top-k candidates) down. Every failure becomes a GpuError with a kind.
 */
export class GpuBackend implements Backend {
  readonly kind = 'gpu' as const;
  readonly info: GpuInfo;
  /** Kept referenced for the device's life (see GpuContext.gpu). */
  private readonly gpu: GPU;
  private readonly device: GPUDevice;
  private readonly memory: CpuMemory;
  private readonly config: HybridConfig;
  private readonly pipelines: PipelineCache;
  private readonly pool: BufferPool;
  private readonly resident = new Map<number, DeviceRows>();
  private readonly spreading: GpuSpreading;
  private lostReason: string | null = null;
  private disposed = false;
  /** Largest buffer of rows per binding; halved after an out-of-memory error (halveChunks). */
  private chunkLimitBytes: number;
  /**
   * Tests set this: every output buffer is filled with NaN before the kernels run, so an element
   * a kernel fails to write shows instead of a stale value from a pooled buffer.
   */
  poisonOutputs = false;

  constructor(context: GpuContext, memory: CpuMemory, config: HybridConfig) {
    this.gpu = context.gpu;
    this.device = context.device;
    this.info = context.info;
    this.memory = memory;
    this.config = config;
    this.chunkLimitBytes = Math.min(context.info.limits.maxStorageBufferBindingSize!, context.info.limits.maxBufferSize!);
    this.pipelines = new PipelineCache(this.device, new Set(context.info.features.filter((f) => f === 'subgroups')));
    this.pool = new BufferPool(this.device);
    this.spreading = new GpuSpreading({
      device: this.device,
      pipelines: this.pipelines,
      memory,
      acquire: (bytes, usage, label) => this.acquire(bytes, usage, label),
      output: (bytes, label) => this.output(bytes, label),
      writeFromMemory: (buffer, offset, ptr, bytes) => this.writeFromMemory(buffer, offset, ptr, bytes),
      assertBindable: (bytes, what) => this.assertBindable(bytes, what),
    });
    void this.device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  /** The device is lost (destroyed, reset, or removed); every call fails with 'device-lost'. */
  get lost(): boolean {
    return this.lostReason !== null;
  }

  /** Buffers this backend holds on the device now (pooled and resident). */
  get bufferCount(): number {
    let resident = 0;
    for (const rows of this.resident.values()) resident += rows.chunks.length;
    return this.pool.bufferCount + resident;
  }

  /** Bytes of resident corpora now on the device. */
  get residentBytes(): number {
    let total = 0;
    for (const rows of this.resident.values()) total += rows.bytes;
    return total;
  }

  /**
   * Whether the corpus can be (or is) resident within the memory budget, counting the buffers
   * `reserve` would really create, and whether one query's scores fit a storage binding.
   */
  canHold(corpus: Corpus): boolean {
    if (corpus.rows * 4 > this.info.limits.maxStorageBufferBindingSize!) return false;
    const held = this.resident.get(corpus.id)?.bytes ?? 0;
    const rowType = this.rowTypeOf(corpus);
    const need = reservedBytes(corpus.rows, corpus.stride, rowType, this.chunkRowsFor(corpus.stride, rowType));
    return this.residentBytes - held + Math.max(need, held) <= this.info.memoryBudgetBytes;
  }

  cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const n = vectors.rows;
      this.assertBindable(n * 4, 'the scores of one query');
      const rows = this.uploadTemporary(vectors);
      const q = this.uploadQueries(query);
      const out = this.output(n * 4, 'scores');
      const encoder = this.device.createCommandEncoder();
      this.encodeScan(encoder, rows, q, out, true);
      return { encoder, readback: { bytes: n * 4, copies: [{ buffer: out, bytes: n * 4 }] }, finish: (data) => new Float32Array(data!) };
    });
  }

  cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const n = vectors.rows;
      this.assertBindable(n * 4, 'the scores of one query');
      const rows = this.uploadTemporary(vectors);
      const q = this.uploadQueries(queries);
      const encoder = this.device.createCommandEncoder();
      this.encodeNormalize(encoder, rows);
      const copies = this.queryBatches(queries.rows, n).map(([first, count]) => {
        const out = this.output(count * n * 4, 'scores');
        this.encodeMatrix(encoder, rows, q, first, count, out);
        return { buffer: out, bytes: count * n * 4 };
      });
      return { encoder, readback: { bytes: queries.rows * n * 4, copies }, finish: (data) => new Float32Array(data!) };
    });
  }

  corpusScores(corpus: Corpus, query: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const rows = this.residentRows(corpus);
      const q = this.uploadQueries(query);
      const out = this.output(corpus.rows * 4, 'scores');
      const encoder = this.device.createCommandEncoder();
      this.encodeScan(encoder, rows, q, out, false);
      return { encoder, readback: { bytes: corpus.rows * 4, copies: [{ buffer: out, bytes: corpus.rows * 4 }] }, finish: (data) => new Float32Array(data!) };
    }, corpus);
  }

  corpusTopK(corpus: Corpus, queries: RowBlock, k: number): Promise<SearchResult[]> {
    return this.run(() => {
      const m = queries.rows;
      const n = corpus.rows;
      const rows = this.residentRows(corpus);
      const q = this.uploadQueries(queries);
      const encoder = this.device.createCommandEncoder();
      const blocks = Math.ceil(n / TOP_K_BLOCK);
      const onGpu = k <= GPU_TOP_K_MAX;
      const candidates = onGpu ? this.output(m * blocks * k * 8, 'candidates') : null;
      const copies: Array<{ buffer: GPUBuffer; bytes: number }> = [];
      // Queries in batches whose M x N scores fit one storage binding.
      for (const [first, count] of m === 1 ? [[0, 1] as [number, number]] : this.queryBatches(m, n)) {
        const scores = this.output(count * n * 4, 'scores');
        if (m === 1) this.encodeScan(encoder, rows, q, scores, false);
        else this.encodeMatrix(encoder, rows, q, first, count, scores);
        if (!onGpu) {
          copies.push({ buffer: scores, bytes: count * n * 4 });
          continue;
        }
        const params = this.uniform([n, blocks, first, 0]);
        const pipeline = this.pipelines.get('topk', 'f32', { WG, BLOCK: TOP_K_BLOCK, K: k });
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, this.bindGroup(pipeline, [scores, candidates!, params]));
        pass.dispatchWorkgroups(Math.min(blocks, MAX_WORKGROUPS_PER_DIMENSION), Math.min(count, MAX_WORKGROUPS_PER_DIMENSION));
        pass.end();
      }
      if (!onGpu) {
        // Every score comes back; the CPU's heap selects (same order and tie rule).
        return { encoder, readback: { bytes: m * n * 4, copies }, finish: (data) => this.selectOnCpu(new Float32Array(data!), m, n, k) };
      }
      const bytes = m * blocks * k * 8;
      return { encoder, readback: { bytes, copies: [{ buffer: candidates!, bytes }] }, finish: (data) => mergeCandidates(new Uint32Array(data!), m, blocks, k) };
    }, corpus);
  }

  /**
   * Split M queries into [first, count] batches whose count x n scores fit one storage binding
   * (and whose count fits one dispatch dimension of the top-k kernel).
   */
  private queryBatches(m: number, n: number): Array<[number, number]> {
    const perBatch = Math.min(MAX_WORKGROUPS_PER_DIMENSION,
      Math.max(1, Math.floor(this.info.limits.maxStorageBufferBindingSize! / (n * 4))));
    const batches: Array<[number, number]> = [];
    for (let first = 0; first < m; first += perBatch) batches.push([first, Math.min(perBatch, m - first)]);
    return batches;
  }

  /** A storage binding of `bytes` must fit maxStorageBufferBindingSize; else the CPU answers. */
  private assertBindable(bytes: number, what: string): void {
    if (bytes > this.info.limits.maxStorageBufferBindingSize!) {
      throw new GpuError('out-of-memory', `${what} (${bytes} bytes) exceed one storage binding (${this.info.limits.maxStorageBufferBindingSize} bytes)`);
    }
  }

  /** Activation spreading (src/spreading/gpu-spreading.ts), one submission per call. */
  spread(job: SpreadJob): Promise<SpreadOutcome> {
    return this.run(() => this.spreading.record(job), undefined, job.graph.id);
  }

  releaseGraph(graphId: number): void {
    this.spreading.releaseGraph(graphId);
  }

  releaseCorpus(corpus: Corpus): void {
    const rows = this.resident.get(corpus.id);
    if (!rows) return;
    for (const chunk of rows.chunks) chunk.buffer.destroy();
    this.resident.delete(corpus.id);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const rows of this.resident.values()) for (const chunk of rows.chunks) chunk.buffer.destroy();
    this.resident.clear();
    this.spreading.releaseAll();
    this.pool.destroyAll();
    this.device.destroy();
  }

  // ---------------------------------------------------------------------------------------------
  // One call: record and submit inside WebGPU error scopes, then wait (bounded) for the results.

  private async run<T>(record: () => Recorded<T>, corpus?: Corpus, graphId?: number): Promise<T> {
    if (this.disposed) throw new GpuError('device-lost', 'the GPU backend has been disposed');
    if (this.lostReason !== null) throw new GpuError('device-lost', `GPU device lost (${this.lostReason})`);
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    // Recording is synchronous, so every buffer acquired until submit belongs to this call.
    this.callBuffers = [];
    let recorded: Recorded<T> | undefined;
    let readback: GPUBuffer | undefined;
    let thrown: unknown;
    try {
      recorded = record();
      if (recorded.readback) {
        readback = this.pool.acquire(recorded.readback.bytes, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
        let offset = 0;
        for (const copy of recorded.readback.copies) {
          recorded.encoder.copyBufferToBuffer(copy.buffer, 0, readback, offset, copy.bytes);
          offset += copy.bytes;
        }
      }
      device.queue.submit([recorded.encoder.finish()]);
    } catch (error) {
      thrown = error;
    }
    const owned = this.callBuffers;
    this.callBuffers = [];
    const internal = device.popErrorScope();
    const validation = device.popErrorScope();
    const outOfMemory = device.popErrorScope();
    let failed = true;
    try {
      if (thrown !== undefined) throw this.asGpuError(thrown);
      // Out of memory first: a failed allocation makes every later use of it a validation error.
      const [oom, invalid, broken] = await this.bounded(Promise.all([outOfMemory, validation, internal]), 'error scopes');
      if (oom) throw new GpuError('out-of-memory', `GPU out of memory: ${oom.message}`);
      if (broken) throw new GpuError('internal', `GPU internal error: ${broken.message}`);
      if (invalid) throw new GpuError('validation', `GPU validation error: ${invalid.message}`);
      let data: ArrayBuffer | null = null;
      if (readback && recorded?.readback) {
        await this.bounded(readback.mapAsync(MapMode.READ, 0, recorded.readback.bytes), 'readback');
        data = readback.getMappedRange(0, recorded.readback.bytes).slice(0);
        readback.unmap();
        this.pool.release(readback);
        readback = undefined;
      }
      const result = recorded!.finish(data);
      failed = false;
      return result;
    } catch (error) {
      throw this.asGpuError(error);
    } finally {
      if (readback) this.pool.discard(readback);
      // After a failure nothing of the call is trusted again: its buffers are destroyed, and the
      // corpus's device copy is dropped (re-uploaded by the next GPU call).
      for (const buffer of owned) {
        if (failed || (buffer.label === 'rows' && buffer.size > TEMPORARY_POOL_MAX)) this.pool.discard(buffer);
        else this.pool.release(buffer);
      }
      if (failed && corpus) this.releaseCorpus(corpus);
      if (failed && graphId !== undefined) this.releaseGraph(graphId);
    }
  }

  /** Buffers acquired by the call being recorded (see run). */
  private callBuffers: GPUBuffer[] = [];

  /** A pooled buffer owned by the call being recorded. */
  private acquire(bytes: number, usage: number, label: string): GPUBuffer {
    const buffer = this.pool.acquire(bytes, usage, label);
    this.callBuffers.push(buffer);
    return buffer;
  }

  /** `promise`, or a GpuError of kind 'timeout' after gpuTimeoutMs. */
  private bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GpuError('timeout', `GPU ${what} did not finish within ${this.config.gpuTimeoutMs} ms`)),
        this.config.gpuTimeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private asGpuError(error: unknown): GpuError {
    if (error instanceof GpuError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (this.lostReason !== null || this.disposed) return new GpuError('device-lost', `GPU device lost: ${message}`);
    if (/out of memory|OutOfMemory/i.test(message)) return new GpuError('out-of-memory', message);
    return new GpuError('internal', `GPU call failed: ${message}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Rows on the device.

  private rowTypeOf(corpus: Corpus): RowType {
    return corpus.dtype === 'f16' && this.info.f16Storage ? 'f16' : 'f32';
  }

  /**
   * After an out-of-memory error: rows go in buffers half as large from now on (at least one
   * panel each), and resident copies are dropped, to be uploaded again in the smaller pieces.
   */
  halveChunks(): void {
    this.chunkLimitBytes = Math.max(1 << 16, Math.floor(this.chunkLimitBytes / 2));
    for (const id of [...this.resident.keys()]) this.releaseCorpus({ id } as Corpus);
  }

  /** Rows per binding: whole panels within maxStorageBufferBindingSize (and maxBufferSize). */
  private chunkRowsFor(stride: number, rowType: RowType): number {
    const limit = this.chunkLimitBytes;
    const panelBytes = stride * 4 * (rowType === 'f16' ? 2 : 4);
    return Math.max(1, Math.floor(limit / panelBytes)) * 4;
  }

  /** The corpus on the device, with the rows added since the last call uploaded. */
  private residentRows(corpus: Corpus): DeviceRows {
    const rowType = this.rowTypeOf(corpus);
    let rows = this.resident.get(corpus.id);
    if (!rows) {
      rows = { chunks: [], rowType, stride: corpus.stride, rows: 0, chunkRows: this.chunkRowsFor(corpus.stride, rowType), bytes: 0 };
      this.resident.set(corpus.id, rows);
    }
    if (rows.rows < corpus.rows) {
      this.reserve(rows, corpus.rows);
      // Re-send from the start of the last partly filled panel.
      this.writeRows(rows, corpus, Math.floor(rows.rows / 4) * 4, corpus.rows);
      rows.rows = corpus.rows;
    }
    return rows;
  }

  /** A one-shot call's rows on the device (released after the call). */
  private uploadTemporary(block: RowBlock): DeviceRows {
    const chunkRows = this.chunkRowsFor(block.stride, 'f32');
    const rows: DeviceRows = { chunks: [], rowType: 'f32', stride: block.stride, rows: 0, chunkRows, bytes: 0 };
    for (let first = 0; first < block.rows; first += chunkRows) {
      const count = Math.min(chunkRows, block.rows - first);
      const buffer = this.acquire(panelRegionBytes(count, block.stride),
        BufferUsage.STORAGE | BufferUsage.COPY_DST, 'rows');
      rows.chunks.push({ buffer, firstRow: first, capacityRows: count });
    }
    this.writeRows(rows, block, 0, block.rows);
    rows.rows = block.rows;
    return rows;
  }

  /**
   * Grow the chunks so that `total` rows fit (the last chunk doubles, up to a full chunk). A
   * grown chunk's rows are copied on the device, submitted at once, so that the queue orders the
   * copy before the writeBuffer of the new rows.
   */
  private reserve(rows: DeviceRows, total: number): void {
    const bytesPerRow = rows.stride * (rows.rowType === 'f16' ? 2 : 4);
    while (true) {
      const last = rows.chunks[rows.chunks.length - 1];
      const capacity = last ? last.firstRow + last.capacityRows : 0;
      if (capacity >= total) break;
      if (last && last.capacityRows < rows.chunkRows) {
        const grown = Math.min(rows.chunkRows, Math.max(last.capacityRows * 2, total - last.firstRow));
        const buffer = this.createRowBuffer(roundUp4(grown) * bytesPerRow);
        const held = Math.max(0, Math.min(rows.rows, last.firstRow + last.capacityRows) - last.firstRow);
        const encoder = this.device.createCommandEncoder();
        encoder.copyBufferToBuffer(last.buffer, 0, buffer, 0, roundUp4(held) * bytesPerRow);
        this.device.queue.submit([encoder.finish()]);
        const old = last.buffer;
        last.buffer = buffer;
        rows.bytes += (roundUp4(grown) - roundUp4(last.capacityRows)) * bytesPerRow;
        last.capacityRows = grown;
        old.destroy(); // freed once the copy submitted above has run
      } else {
        const firstRow = capacity;
        const want = Math.min(rows.chunkRows, Math.max(total - firstRow, 1024));
        rows.chunks.push({ buffer: this.createRowBuffer(roundUp4(want) * bytesPerRow), firstRow, capacityRows: want });
        rows.bytes += roundUp4(want) * bytesPerRow;
      }
    }
  }

  private createRowBuffer(bytes: number): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(16, bytes),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC,
      label: 'resident rows',
    });
  }

  /** Copy panel rows [from, to) (from a multiple of 4) from WASM memory into the chunks. */
  private writeRows(rows: DeviceRows, block: RowBlock, from: number, to: number): void {
    const panelFloats = block.stride * 4;
    for (const chunk of rows.chunks) {
      const start = Math.max(from, chunk.firstRow);
      const end = Math.min(to, chunk.firstRow + chunk.capacityRows);
      if (start >= end) continue;
      const panels = Math.ceil((end - chunk.firstRow) / 4) - (start - chunk.firstRow) / 4;
      const srcOffset = block.ptr + (start / 4) * panelFloats * 4;
      const dstPanel = (start - chunk.firstRow) / 4;
      if (rows.rowType === 'f32') {
        this.writeFromMemory(chunk.buffer, dstPanel * panelFloats * 4, srcOffset, panels * panelFloats * 4);
      } else {
        this.writeF16(chunk.buffer, dstPanel * panelFloats / 4, srcOffset, panels * panelFloats);
      }
    }
  }

  /** Upload f32 floats and convert them into an f16 buffer on the device, in steps. */
  private writeF16(target: GPUBuffer, vec4Offset: number, srcOffset: number, floats: number): void {
    const stepFloats = F16_UPLOAD_STEP / 4;
    for (let done = 0; done < floats; done += stepFloats) {
      const count = Math.min(stepFloats, floats - done);
      const staging = this.acquire(count * 4, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'f16 staging');
      this.writeFromMemory(staging, 0, srcOffset + done * 4, count * 4);
      const params = this.uniform([count / 4, vec4Offset + done / 4, 0, 0]);
      const pipeline = this.pipelines.get('convert', 'f32', {});
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [staging, target, params]));
      pass.dispatchWorkgroups(Math.min(MAX_WORKGROUPS_PER_DIMENSION, Math.ceil(count / 4 / 64)));
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    }
  }

  /** A pooled storage buffer for kernel results (NaN-filled first when poisonOutputs is set). */
  private output(bytes: number, label: string): GPUBuffer {
    const buffer = this.acquire(bytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, label);
    if (this.poisonOutputs) this.device.queue.writeBuffer(buffer, 0, new Float32Array(buffer.size / 4).fill(Number.NaN));
    return buffer;
  }

  /** Queries (padded rows) into a pooled storage buffer. */
  private uploadQueries(block: RowBlock): GPUBuffer {
    const bytes = block.rows * block.stride * 4;
    const buffer = this.acquire(bytes, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'queries');
    this.writeFromMemory(buffer, 0, block.ptr, bytes);
    return buffer;
  }

  /**
   * queue.writeBuffer of `bytes` bytes of WASM memory from byte `ptr`. A shared memory (worker
   * threads) is copied out first, WRITE_STEP_BYTES at a time: Dawn's Node binding crashes the
   * process on a SharedArrayBuffer source (seen with webgpu 0.6.2), and WebGPU implementations
   * copy the data at this call anyway.
   */
  private writeFromMemory(buffer: GPUBuffer, offset: number, ptr: number, bytes: number): void {
    const source = this.memory.arena.memory.buffer;
    if (!this.memory.shared) {
      this.device.queue.writeBuffer(buffer, offset, source as ArrayBuffer, ptr, bytes);
      return;
    }
    for (let done = 0; done < bytes; done += WRITE_STEP_BYTES) {
      const step = Math.min(WRITE_STEP_BYTES, bytes - done);
      const copy = new Uint8Array(source, ptr + done, step).slice();
      this.device.queue.writeBuffer(buffer, offset + done, copy.buffer, 0, step);
    }
  }

  /** A pooled uniform buffer holding 8 u32 (kernel params). */
  private uniform(values: number[]): GPUBuffer {
    const buffer = this.acquire(32, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'params');
    const data = new Uint32Array(8);
    data.set(values);
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  private bindGroup(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Kernels.

  private encodeScan(encoder: GPUCommandEncoder, rows: DeviceRows, query: GPUBuffer, out: GPUBuffer, cosine: boolean): void {
    const pipeline = this.pipelines.get('scan', rows.rowType, { WG, CHUNKS: rows.stride / 4, COSINE: cosine ? 1 : 0 });
    for (const chunk of rows.chunks) {
      const count = Math.min(chunk.capacityRows, rows.rows - chunk.firstRow);
      if (count <= 0) continue;
      const panels = Math.ceil(count / 4);
      const params = this.uniform([count, panels, chunk.firstRow, 0]);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [chunk.buffer, query, out, params]));
      pass.dispatchWorkgroups(Math.min(panels, MAX_WORKGROUPS_PER_DIMENSION));
      pass.end();
    }
  }

  private encodeNormalize(encoder: GPUCommandEncoder, rows: DeviceRows): void {
    const pipeline = this.pipelines.get('normalize', 'f32', { WG, CHUNKS: rows.stride / 4 });
    for (const chunk of rows.chunks) {
      const count = Math.min(chunk.capacityRows, rows.rows - chunk.firstRow);
      const panels = Math.ceil(count / 4);
      const params = this.uniform([count, panels, 0, 0]);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [chunk.buffer, params]));
      pass.dispatchWorkgroups(Math.min(panels, MAX_WORKGROUPS_PER_DIMENSION));
      pass.end();
    }
  }

  /** Scores of queries firstQuery .. firstQuery+m-1 against every row, into `out` (m x N). */
  private encodeMatrix(encoder: GPUCommandEncoder, rows: DeviceRows, queries: GPUBuffer, firstQuery: number, m: number,
    out: GPUBuffer): void {
    const pipeline = this.pipelines.get('matrix', rows.rowType, { CHUNKS: rows.stride / 4 });
    for (const chunk of rows.chunks) {
      const count = Math.min(chunk.capacityRows, rows.rows - chunk.firstRow);
      if (count <= 0) continue;
      const panels = Math.ceil(count / 4);
      const panelTiles = Math.ceil(panels / 16);
      const queryTiles = Math.ceil(m / 16);
      const params = this.uniform([m, count, panels, chunk.firstRow, rows.rows, panelTiles, queryTiles, firstQuery]);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [chunk.buffer, queries, out, params]));
      // The kernel strides over tiles beyond the per-dimension workgroup limit.
      pass.dispatchWorkgroups(Math.min(panelTiles, MAX_WORKGROUPS_PER_DIMENSION), Math.min(queryTiles, MAX_WORKGROUPS_PER_DIMENSION));
      pass.end();
    }
  }

  /** Top-k on the CPU of scores read back (k above GPU_TOP_K_MAX): the WASM heap, same order. */
  private selectOnCpu(scores: Float32Array, m: number, n: number, k: number): SearchResult[] {
    const { arena, kernels } = this.memory;
    const block = arena.alloc(n * 4);
    const heapScores = arena.alloc(k * 4);
    const heapIndices = arena.alloc(k * 4);
    const state = arena.alloc(4);
    try {
      const results: SearchResult[] = [];
      for (let q = 0; q < m; q++) {
        arena.f32.set(scores.subarray(q * n, (q + 1) * n), block >>> 2);
        arena.u32[state >>> 2] = 0;
        kernels.selectTopK(block, n, 0, k, heapScores, heapIndices, state);
        const size = arena.u32[state >>> 2]!;
        kernels.sortHeap(heapScores, heapIndices, size);
        results.push({
          indices: arena.u32.slice(heapIndices >>> 2, (heapIndices >>> 2) + size),
          scores: arena.f32.slice(heapScores >>> 2, (heapScores >>> 2) + size),
        });
      }
      return results;
    } finally {
      for (const ptr of [state, heapIndices, heapScores, block]) arena.free(ptr);
    }
  }

}

/** Merge per-block candidates (score bits, row) into each query's top-k. */
function mergeCandidates(data: Uint32Array, m: number, blocks: number, k: number): SearchResult[] {
  const scores = new Float32Array(data.buffer, data.byteOffset, data.length);
  const results: SearchResult[] = [];
  for (let q = 0; q < m; q++) {
    const list: Array<[number, number]> = [];
    const base = q * blocks * k * 2;
    for (let i = 0; i < blocks * k; i++) {
      const row = data[base + i * 2 + 1]!;
      if (row !== 0xffffffff) list.push([scores[base + i * 2]!, row]);
    }
    list.sort((a, b) => (b[0] - a[0]) || (a[1] - b[1]));
    const size = Math.min(k, list.length);
    const indices = new Uint32Array(size);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      values[i] = list[i]![0];
      indices[i] = list[i]![1];
    }
    results.push({ indices, scores: values });
  }
  return results;
}

/**
 * An upper bound of the bytes `reserve` allocates for `rows`: full chunks, and a last chunk of at
 * least 1024 rows that may have doubled past what it holds.
 */
function reservedBytes(rows: number, stride: number, rowType: RowType, chunkRows: number): number {
  const bytesPerRow = stride * (rowType === 'f16' ? 2 : 4);
  const full = Math.floor(rows / chunkRows);
  const rest = rows - full * chunkRows;
  const last = rest === 0 ? 0 : Math.min(chunkRows, Math.max(1024, 2 * rest));
  return (full * chunkRows + roundUp4(last)) * bytesPerRow;
}

function roundUp4(rows: number): number {
  return Math.ceil(rows / 4) * 4;
}
