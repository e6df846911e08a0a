import type { Backend, Corpus, RowBlock, SearchResult } from '../backend.js';
import type { HybridConfig } from '../config.js';
import { panelRegionBytes } from '../cpu/cpu-memory.js';
import type { CpuMemory } from '../cpu/cpu-memory.js';
import { GpuError, type GpuFailureKind } from '../errors.js';
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
  readback?: { buffer: GPUBuffer; bytes: number };
  finish: (data: ArrayBuffer | null) => T;
  cleanup: () => void;
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

  /** Whether the corpus can be (or is) resident within the memory budget. */
  canHold(corpus: Corpus): boolean {
    const held = this.resident.get(corpus.id)?.bytes ?? 0;
    const need = deviceBytes(corpus.rows, corpus.stride, this.rowTypeOf(corpus));
    return this.residentBytes - held + need <= this.info.memoryBudgetBytes;
  }

  cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const rows = this.uploadTemporary(vectors);
      const q = this.uploadQueries(query);
      const n = vectors.rows;
      const out = this.output(n * 4, 'scores');
      const encoder = this.device.createCommandEncoder();
      this.encodeScan(encoder, rows, q, out, true);
      return {
        readback: { buffer: out, bytes: n * 4 },
        finish: (data) => new Float32Array(data!),
        cleanup: () => this.releaseAll([q, out], rows),
        encoder,
      };
    });
  }

  cosineMatrix(queries: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const rows = this.uploadTemporary(vectors);
      const q = this.uploadQueries(queries);
      const count = queries.rows * vectors.rows;
      const out = this.output(count * 4, 'scores');
      const encoder = this.device.createCommandEncoder();
      this.encodeNormalize(encoder, rows);
      this.encodeMatrix(encoder, rows, q, queries.rows, out);
      return {
        readback: { buffer: out, bytes: count * 4 },
        finish: (data) => new Float32Array(data!),
        cleanup: () => this.releaseAll([q, out], rows),
        encoder,
      };
    });
  }

  corpusScores(corpus: Corpus, query: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const rows = this.residentRows(corpus);
      const q = this.uploadQueries(query);
      const encoder = this.device.createCommandEncoder();
      const out = this.output(corpus.rows * 4, 'scores');
      this.encodeScan(encoder, rows, q, out, false);
      return {
        readback: { buffer: out, bytes: corpus.rows * 4 },
        finish: (data) => new Float32Array(data!),
        cleanup: () => this.releaseAll([q, out]),
        encoder,
      };
    });
  }

  corpusTopK(corpus: Corpus, queries: RowBlock, k: number): Promise<SearchResult[]> {
    return this.run(() => {
      const m = queries.rows;
      const n = corpus.rows;
      const rows = this.residentRows(corpus);
      const q = this.uploadQueries(queries);
      const encoder = this.device.createCommandEncoder();
      const scores = this.output(m * n * 4, 'scores');
      if (m === 1) this.encodeScan(encoder, rows, q, scores, false);
      else this.encodeMatrix(encoder, rows, q, m, scores);
      if (k > GPU_TOP_K_MAX) {
        // Every score comes back; the CPU's heap selects (same order and tie rule).
        return {
          readback: { buffer: scores, bytes: m * n * 4 },
          finish: (data) => this.selectOnCpu(new Float32Array(data!), m, n, k),
          cleanup: () => this.releaseAll([q, scores]),
          encoder,
        };
      }
      const blocks = Math.ceil(n / TOP_K_BLOCK);
      const candidates = this.output(m * blocks * k * 8, 'candidates');
      const params = this.uniform([n, blocks, 0, 0]);
      const pipeline = this.pipelines.get('topk', 'f32', { WG, BLOCK: TOP_K_BLOCK, K: k });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [scores, candidates, params]));
      pass.dispatchWorkgroups(blocks, m);
      pass.end();
      return {
        readback: { buffer: candidates, bytes: m * blocks * k * 8 },
        finish: (data) => mergeCandidates(new Uint32Array(data!), m, blocks, k),
        cleanup: () => this.releaseAll([q, scores, candidates, params]),
        encoder,
      };
    });
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
    this.pool.destroyAll();
    this.device.destroy();
  }

  // ---------------------------------------------------------------------------------------------
  // One call: record and submit inside WebGPU error scopes, then wait (bounded) for the results.

  private async run<T>(record: () => Recorded<T> & { encoder: GPUCommandEncoder }): Promise<T> {
    if (this.disposed) throw new GpuError('device-lost', 'the GPU backend has been disposed');
    if (this.lostReason !== null) throw new GpuError('device-lost', `GPU device lost (${this.lostReason})`);
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    let recorded: (Recorded<T> & { encoder: GPUCommandEncoder }) | undefined;
    let readback: GPUBuffer | undefined;
    let thrown: unknown;
    try {
      recorded = record();
      if (recorded.readback) {
        readback = this.pool.acquire(recorded.readback.bytes, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
        recorded.encoder.copyBufferToBuffer(recorded.readback.buffer, 0, readback, 0, recorded.readback.bytes);
      }
      device.queue.submit([recorded.encoder.finish()]);
    } catch (error) {
      thrown = error;
    }
    const scopes = [device.popErrorScope(), device.popErrorScope(), device.popErrorScope()];
    const kinds: GpuFailureKind[] = ['internal', 'validation', 'out-of-memory'];
    try {
      if (thrown !== undefined) throw this.asGpuError(thrown);
      const errors = await this.bounded(Promise.all(scopes), 'error scopes');
      const index = errors.findIndex((e) => e !== null);
      if (index >= 0) throw new GpuError(kinds[index]!, `GPU ${kinds[index]} error: ${errors[index]!.message}`);
      let data: ArrayBuffer | null = null;
      if (readback && recorded?.readback) {
        await this.bounded(readback.mapAsync(MapMode.READ, 0, recorded.readback.bytes), 'readback');
        data = readback.getMappedRange(0, recorded.readback.bytes).slice(0);
        readback.unmap();
        this.pool.release(readback);
        readback = undefined;
      }
      return recorded!.finish(data);
    } catch (error) {
      if (readback) this.pool.discard(readback);
      throw this.asGpuError(error);
    } finally {
      recorded?.cleanup();
    }
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
      const buffer = this.pool.acquire(panelRegionBytes(count, block.stride),
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
        this.afterSubmit(() => old.destroy());
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
    const source = this.memory.arena.memory.buffer;
    const panelFloats = block.stride * 4;
    for (const chunk of rows.chunks) {
      const start = Math.max(from, chunk.firstRow);
      const end = Math.min(to, chunk.firstRow + chunk.capacityRows);
      if (start >= end) continue;
      const panels = Math.ceil((end - chunk.firstRow) / 4) - (start - chunk.firstRow) / 4;
      const srcOffset = block.ptr + (start / 4) * panelFloats * 4;
      const dstPanel = (start - chunk.firstRow) / 4;
      if (rows.rowType === 'f32') {
        this.device.queue.writeBuffer(chunk.buffer, dstPanel * panelFloats * 4, source, srcOffset, panels * panelFloats * 4);
      } else {
        this.writeF16(chunk.buffer, dstPanel * panelFloats / 4, source, srcOffset, panels * panelFloats);
      }
    }
  }

  /** Upload f32 floats and convert them into an f16 buffer on the device, in steps. */
  private writeF16(target: GPUBuffer, vec4Offset: number, source: ArrayBuffer, srcOffset: number, floats: number): void {
    const stepFloats = F16_UPLOAD_STEP / 4;
    for (let done = 0; done < floats; done += stepFloats) {
      const count = Math.min(stepFloats, floats - done);
      const staging = this.pool.acquire(count * 4, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'f16 staging');
      this.device.queue.writeBuffer(staging, 0, source, srcOffset + done * 4, count * 4);
      const params = this.uniform([count / 4, vec4Offset + done / 4, 0, 0]);
      const pipeline = this.pipelines.get('convert', 'f32', {});
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [staging, target, params]));
      pass.dispatchWorkgroups(Math.min(MAX_WORKGROUPS_PER_DIMENSION, Math.ceil(count / 4 / 64)));
      pass.end();
      this.device.queue.submit([encoder.finish()]);
      this.afterSubmit(() => {
        this.pool.release(staging);
        this.pool.release(params);
      });
    }
  }

  /** A pooled storage buffer for kernel results (NaN-filled first when poisonOutputs is set). */
  private output(bytes: number, label: string): GPUBuffer {
    const buffer = this.pool.acquire(bytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, label);
    if (this.poisonOutputs) this.device.queue.writeBuffer(buffer, 0, new Float32Array(buffer.size / 4).fill(Number.NaN));
    return buffer;
  }

  /** Queries (padded rows) into a pooled storage buffer. */
  private uploadQueries(block: RowBlock): GPUBuffer {
    const bytes = block.rows * block.stride * 4;
    const buffer = this.pool.acquire(bytes, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'queries');
    this.device.queue.writeBuffer(buffer, 0, this.memory.arena.memory.buffer, block.ptr, bytes);
    return buffer;
  }

  /** A pooled uniform buffer holding 8 u32 (kernel params). */
  private uniform(values: number[]): GPUBuffer {
    const buffer = this.pool.acquire(32, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'params');
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
      this.afterSubmit(() => this.pool.release(params));
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
      this.afterSubmit(() => this.pool.release(params));
    }
  }

  private encodeMatrix(encoder: GPUCommandEncoder, rows: DeviceRows, queries: GPUBuffer, m: number, out: GPUBuffer): void {
    const pipeline = this.pipelines.get('matrix', rows.rowType, { CHUNKS: rows.stride / 4 });
    for (const chunk of rows.chunks) {
      const count = Math.min(chunk.capacityRows, rows.rows - chunk.firstRow);
      if (count <= 0) continue;
      const panels = Math.ceil(count / 4);
      const params = this.uniform([m, count, panels, chunk.firstRow, rows.rows, 0, 0, 0]);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [chunk.buffer, queries, out, params]));
      pass.dispatchWorkgroups(Math.ceil(panels / 16), Math.ceil(m / 16));
      pass.end();
      this.afterSubmit(() => this.pool.release(params));
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

  // ---------------------------------------------------------------------------------------------

  private pendingRelease: Array<() => void> = [];

  /** Run `release` once the work submitted so far is done (at the end of the current call). */
  private afterSubmit(release: () => void): void {
    this.pendingRelease.push(release);
  }

  /**
   * Return a call's buffers. Safe as soon as its work was submitted: the queue runs any later
   * writeBuffer or dispatch that reuses them after this call's commands.
   */
  private releaseAll(buffers: GPUBuffer[], temporary?: DeviceRows): void {
    for (const buffer of buffers) this.pool.release(buffer);
    // Large one-shot row buffers are not kept: they would hold device memory outside the budget.
    if (temporary) {
      for (const chunk of temporary.chunks) {
        if (chunk.buffer.size > TEMPORARY_POOL_MAX) this.pool.discard(chunk.buffer);
        else this.pool.release(chunk.buffer);
      }
    }
    const pending = this.pendingRelease;
    this.pendingRelease = [];
    for (const release of pending) release();
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

/** Bytes a corpus of `rows` takes on the device. */
function deviceBytes(rows: number, stride: number, rowType: RowType): number {
  return roundUp4(rows) * stride * (rowType === 'f16' ? 2 : 4);
}

function roundUp4(rows: number): number {
  return Math.ceil(rows / 4) * 4;
}
