import type { Backend, RowBlock } from '../backend.js';
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
import { PipelineCache } from './pipelines.js';
import { rowBytesOf } from '../store/dtype.js';
import type { CorpusView, PositionTopK, SegmentView, Selection } from '../store/types.js';
import { METRIC_CODE } from '../store/types.js';

/** Invocations per workgroup of the scan, normalise and top-k kernels. */
const WG = 64;
/** Scores per workgroup of the partial top-k (kernels/topk.wgsl). */
const TOP_K_BLOCK = 1024;
/** Largest k selected on the GPU; above it all scores come back and the CPU selects. */
const GPU_TOP_K_MAX = 64;
/** One-shot row buffers above this size are destroyed after the call instead of pooled. */
const TEMPORARY_POOL_MAX = 16 << 20;
/** Bytes copied out of a shared WASM memory per writeBuffer (bounds the temporary copy). */
const WRITE_STEP_BYTES = 16 << 20;

/** One storage binding's worth of panel rows. */
interface RowChunk {
  buffer: GPUBuffer;
  firstRow: number;
  capacityRows: number;
}

/** A one-shot call's rows on the device, split into bindings no larger than maxStorageBufferBindingSize. */
interface DeviceRows {
  chunks: RowChunk[];
  stride: number;
  /** Rows whose data is on the device. */
  rows: number;
  /** Rows per full chunk (a multiple of 4). */
  chunkRows: number;
  bytes: number;
}

/**
 * An index segment on the device: its stored rows (bytes as in WASM memory: every segment fits one
 * storage binding, src/store/limits.ts) and, for i8 rows, their metadata. Rows are appended only,
 * so a later call uploads only the rows added since (from the start of their panel).
 */
interface DeviceSegment {
  data: GPUBuffer;
  meta: GPUBuffer | null;
  rows: number;
  bytes: number;
}

/** A call's queries on the device, in the form the index's dtype reads. */
interface DeviceQueries {
  buffer: GPUBuffer;
  /** 16-byte words per query. */
  words: number;
  /** i8: each query's scale s_q and |q|^2 (asm/score-i8.ts). */
  scales: Float32Array;
  squares: Float32Array;
}

const KIND_CODE = { f32: 0, f16: 1, i8: 2 } as const;

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
  private readonly segments = new Map<number, DeviceSegment>();
  /** Bound where a kernel's optional binding is unused (i8 metadata, a top-k mask). */
  private readonly placeholder: GPUBuffer;
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
    this.placeholder = this.device.createBuffer({ size: 16, usage: BufferUsage.STORAGE, label: 'placeholder' });
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
    for (const segment of this.segments.values()) resident += segment.meta ? 2 : 1;
    return this.pool.bufferCount + resident;
  }

  /** Bytes of resident index segments now on the device. */
  get residentBytes(): number {
    let total = 0;
    for (const segment of this.segments.values()) total += segment.bytes;
    return total;
  }

  /**
   * Whether the index can be (or is) resident within the memory budget (each segment at its full
   * capacity, as it is uploaded), and whether one query's scores fit a storage binding.
   */
  canHold(view: CorpusView): boolean {
    if (view.rows * 4 > this.info.limits.maxStorageBufferBindingSize!) return false;
    let held = 0;
    let need = 0;
    for (const segment of view.segments) {
      const resident = this.segments.get(segment.id);
      held += resident?.bytes ?? 0;
      need += resident?.bytes ?? deviceBytes(view, segment);
    }
    return this.residentBytes - held + need <= this.info.memoryBudgetBytes;
  }

  cosineScores(query: RowBlock, vectors: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const n = vectors.rows;
      this.assertBindable(n * 4, 'the scores of one query');
      const rows = this.uploadTemporary(vectors);
      const q = this.uploadQueries(query);
      const out = this.output(n * 4, 'scores');
      const encoder = this.device.createCommandEncoder();
      this.encodeScan(encoder, rows, q, out);
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

  storeScores(view: CorpusView, query: RowBlock): Promise<Float32Array> {
    return this.run(() => {
      const n = view.rows;
      this.assertBindable(n * 4, 'the scores of one query');
      const resident = this.residentSegments(view);
      const q = this.uploadStoreQueries(view, query);
      const out = this.output(n * 4, 'scores');
      const encoder = this.device.createCommandEncoder();
      view.segments.forEach((segment, i) => {
        if (segment.rows > 0) this.encodeStoreScan(encoder, view, segment, resident[i]!, q, 0, out, view.bases[i]!);
      });
      return { encoder, readback: { bytes: n * 4, copies: [{ buffer: out, bytes: n * 4 }] }, finish: (data) => new Float32Array(data!) };
    }, view);
  }

  storeTopK(view: CorpusView, queries: RowBlock, k: number, selection: Selection): Promise<PositionTopK[]> {
    return this.run(() => {
      const m = queries.rows;
      const n = view.rows;
      const resident = this.residentSegments(view);
      const q = this.uploadStoreQueries(view, queries);
      const bits = maskBits(view, selection);
      let mask = this.placeholder;
      if (bits) {
        mask = this.acquire(bits.byteLength, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'mask');
        this.device.queue.writeBuffer(mask, 0, bits);
      }
      const encoder = this.device.createCommandEncoder();
      const blocks = Math.ceil(n / TOP_K_BLOCK);
      const onGpu = k <= GPU_TOP_K_MAX;
      const candidates = onGpu ? this.output(m * blocks * k * 8, 'candidates') : null;
      const copies: Array<{ buffer: GPUBuffer; bytes: number }> = [];
      const perQuery = m === 1 || view.dtype === 'i8';
      // Queries in batches whose M x N scores fit one storage binding.
      for (const [first, count] of this.queryBatches(m, n)) {
        const scores = this.output(count * n * 4, 'scores');
        view.segments.forEach((segment, i) => {
          if (segment.rows === 0 || selection.segments[i] === 'none') return;
          if (perQuery) {
            for (let j = 0; j < count; j++) this.encodeStoreScan(encoder, view, segment, resident[i]!, q, first + j, scores, j * n + view.bases[i]!);
          } else {
            this.encodeStoreMatrix(encoder, view, segment, resident[i]!, q.buffer, first, count, scores, view.bases[i]!, n);
          }
        });
        if (!onGpu) {
          copies.push({ buffer: scores, bytes: count * n * 4 });
          continue;
        }
        const params = this.uniform([n, blocks, first, 0]);
        const pipeline = this.pipelines.get('topk', 'f32', { WG, BLOCK: TOP_K_BLOCK, K: k, MASKED: bits ? 1 : 0 });
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, this.bindGroup(pipeline, [scores, candidates!, params, mask]));
        pass.dispatchWorkgroups(Math.min(blocks, MAX_WORKGROUPS_PER_DIMENSION), Math.min(count, MAX_WORKGROUPS_PER_DIMENSION));
        pass.end();
      }
      if (!onGpu) {
        // Every score comes back; the CPU's heap selects (same order and tie rule).
        return { encoder, readback: { bytes: m * n * 4, copies }, finish: (data) => this.selectOnCpu(new Float32Array(data!), m, n, k, bits) };
      }
      const bytes = m * blocks * k * 8;
      return { encoder, readback: { bytes, copies: [{ buffer: candidates!, bytes }] }, finish: (data) => mergeCandidates(new Uint32Array(data!), m, blocks, k) };
    }, view);
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

  releaseSegments(ids: readonly number[]): void {
    for (const id of ids) {
      const segment = this.segments.get(id);
      if (!segment) continue;
      segment.data.destroy();
      segment.meta?.destroy();
      this.segments.delete(id);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseSegments([...this.segments.keys()]);
    this.placeholder.destroy();
    this.spreading.releaseAll();
    this.pool.destroyAll();
    this.device.destroy();
  }

  // ---------------------------------------------------------------------------------------------
  // One call: record and submit inside WebGPU error scopes, then wait (bounded) for the results.

  private async run<T>(record: () => Recorded<T>, view?: CorpusView, graphId?: number): Promise<T> {
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
      // index's device copy is dropped (re-uploaded by the next GPU call).
      for (const buffer of owned) {
        if (failed || (buffer.label === 'rows' && buffer.size > TEMPORARY_POOL_MAX)) this.pool.discard(buffer);
        else this.pool.release(buffer);
      }
      if (failed && view) this.releaseSegments(view.segments.map((segment) => segment.id));
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

  /**
   * After an out-of-memory error: one-shot rows go in buffers half as large from now on (at least
   * one panel each), and resident index segments are dropped, to be uploaded again when used.
   */
  halveChunks(): void {
    this.chunkLimitBytes = Math.max(1 << 16, Math.floor(this.chunkLimitBytes / 2));
    this.releaseSegments([...this.segments.keys()]);
  }

  /** Rows per binding of a one-shot call: whole panels within the chunk limit. */
  private chunkRowsFor(stride: number): number {
    return Math.max(1, Math.floor(this.chunkLimitBytes / (stride * 16))) * 4;
  }

  /** Every segment of the view on the device, with the rows added since the last call uploaded. */
  private residentSegments(view: CorpusView): DeviceSegment[] {
    return view.segments.map((segment) => {
      let resident = this.segments.get(segment.id);
      if (!resident) {
        const dataBytes = rowBytesOf(view.dtype, view.dim, segment.capacity);
        const metaBytes = view.dtype === 'i8' ? Math.ceil(segment.capacity / 4) * 32 : 0;
        resident = {
          data: this.createRowBuffer(dataBytes),
          meta: metaBytes ? this.createRowBuffer(metaBytes) : null,
          rows: 0,
          bytes: dataBytes + metaBytes,
        };
        this.segments.set(segment.id, resident);
      }
      if (resident.rows < segment.rows) {
        // From the start of the last partly filled panel, to the end of the last panel.
        const from = Math.floor(resident.rows / 4);
        const to = Math.ceil(segment.rows / 4);
        const panelBytes = rowBytesOf(view.dtype, view.dim, 4);
        this.writeFromMemory(resident.data, from * panelBytes, segment.data + from * panelBytes, (to - from) * panelBytes, segment.region);
        if (resident.meta) this.writeFromMemory(resident.meta, from * 32, segment.meta + from * 32, (to - from) * 32, segment.region);
        resident.rows = segment.rows;
      }
      return resident;
    });
  }

  /** A one-shot call's rows on the device (released after the call). */
  private uploadTemporary(block: RowBlock): DeviceRows {
    const chunkRows = this.chunkRowsFor(block.stride);
    const rows: DeviceRows = { chunks: [], stride: block.stride, rows: 0, chunkRows, bytes: 0 };
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

  private createRowBuffer(bytes: number): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(16, bytes),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC,
      label: 'resident rows',
    });
  }


  /** Copy f32 panel rows [from, to) (from a multiple of 4) from WASM memory region 0 into the chunks. */
  private writeRows(rows: DeviceRows, block: RowBlock, from: number, to: number): void {
    const panelFloats = block.stride * 4;
    for (const chunk of rows.chunks) {
      const start = Math.max(from, chunk.firstRow);
      const end = Math.min(to, chunk.firstRow + chunk.capacityRows);
      if (start >= end) continue;
      const panels = Math.ceil((end - chunk.firstRow) / 4) - (start - chunk.firstRow) / 4;
      const srcOffset = block.ptr + (start / 4) * panelFloats * 4;
      const dstPanel = (start - chunk.firstRow) / 4;
      this.writeFromMemory(chunk.buffer, dstPanel * panelFloats * 4, srcOffset, panels * panelFloats * 4);
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
   * queue.writeBuffer of `bytes` bytes of WASM memory region `region` from byte `ptr`. A shared
   * memory (worker threads) is copied out first, WRITE_STEP_BYTES at a time: Dawn's Node binding
   * crashes the process on a SharedArrayBuffer source (seen with webgpu 0.6.2), and WebGPU
   * implementations copy the data at this call anyway.
   */
  private writeFromMemory(buffer: GPUBuffer, offset: number, ptr: number, bytes: number, region = 0): void {
    const source = this.memory.regions.region(region).memory.buffer;
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

  /**
   * The queries in the form the index's dtype reads: f32 as staged (padded to 4, normalised for
   * cosine); f16 padded to the f16 stride; i8 quantised to 16 bits on the CPU (asm/score-i8.ts:
   * the same integers the CPU kernels use) and sent as i32.
   */
  private uploadStoreQueries(view: CorpusView, queries: RowBlock): DeviceQueries {
    const m = queries.rows;
    const scales = new Float32Array(m);
    const squares = new Float32Array(m);
    if (view.dtype === 'f32') return { buffer: this.uploadQueries(queries), words: queries.stride / 4, scales, squares };
    const { arena, kernels } = this.memory;
    const f32 = arena.f32;
    if (view.dtype === 'f16') {
      const stride = view.stride;
      const data = new Float32Array(m * stride);
      for (let j = 0; j < m; j++) {
        const from = (queries.ptr >>> 2) + j * queries.stride;
        data.set(f32.subarray(from, from + queries.stride), j * stride);
      }
      const buffer = this.acquire(data.byteLength, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'queries');
      this.device.queue.writeBuffer(buffer, 0, data);
      return { buffer, words: stride / 4, scales, squares };
    }
    const stride = view.prefilterStride;
    const q16 = arena.alloc(stride * 2, 'query');
    const info = arena.alloc(16, 'query');
    try {
      const data = new Int32Array(m * stride);
      for (let j = 0; j < m; j++) {
        kernels.quantizeQuery16(queries.ptr + j * queries.stride * 4, queries.stride, q16, stride, info);
        data.set(new Int16Array(arena.memory.buffer, q16, stride), j * stride);
        scales[j] = arena.f32[info >>> 2]!;
        squares[j] = arena.f32[(info >>> 2) + 3]!;
      }
      const buffer = this.acquire(data.byteLength, BufferUsage.STORAGE | BufferUsage.COPY_DST, 'queries');
      this.device.queue.writeBuffer(buffer, 0, data);
      return { buffer, words: stride / 4, scales, squares };
    } finally {
      arena.free(info);
      arena.free(q16);
    }
  }

  /** A pooled uniform buffer holding 8 32-bit values: u32 first, then f32s at `floatsAt`. */
  private uniformMixed(values: number[], floats: number[], floatsAt: number): GPUBuffer {
    const buffer = this.acquire(32, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'params');
    const data = new ArrayBuffer(32);
    new Uint32Array(data).set(values);
    new Float32Array(data, floatsAt * 4, floats.length).set(floats);
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
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

  /** The one-shot scan: cosine of raw rows (METRIC 3) into `out`. */
  private encodeScan(encoder: GPUCommandEncoder, rows: DeviceRows, query: GPUBuffer, out: GPUBuffer): void {
    const pipeline = this.pipelines.get('scan', 'f32', { WG, CHUNKS: rows.stride / 4, KIND: 0, METRIC: 3 });
    for (const chunk of rows.chunks) {
      const count = Math.min(chunk.capacityRows, rows.rows - chunk.firstRow);
      if (count <= 0) continue;
      const panels = Math.ceil(count / 4);
      const params = this.uniform([count, panels, chunk.firstRow, 0]);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bindGroup(pipeline, [chunk.buffer, query, out, params, this.placeholder]));
      pass.dispatchWorkgroups(Math.min(panels, MAX_WORKGROUPS_PER_DIMENSION));
      pass.end();
    }
  }

  /** Query `j` against one index segment, its scores into `out` from `outOffset`. */
  private encodeStoreScan(encoder: GPUCommandEncoder, view: CorpusView, segment: SegmentView, resident: DeviceSegment,
    q: DeviceQueries, j: number, out: GPUBuffer, outOffset: number): void {
    const chunks = view.stride / (view.dtype === 'f32' ? 4 : view.dtype === 'f16' ? 8 : 16);
    const pipeline = this.pipelines.get('scan', 'f32', { WG, CHUNKS: chunks, KIND: KIND_CODE[view.dtype], METRIC: METRIC_CODE[view.metric] });
    const panels = Math.ceil(segment.rows / 4);
    const params = this.uniformMixed([segment.rows, panels, outOffset, j * q.words], [q.scales[j]!, q.squares[j]!], 4);
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(pipeline, [resident.data, q.buffer, out, params, resident.meta ?? this.placeholder]));
    pass.dispatchWorkgroups(Math.min(panels, MAX_WORKGROUPS_PER_DIMENSION));
    pass.end();
  }

  /** Queries first .. first+m-1 against one f32/f16 segment (the tiled kernel), into `out` (m x N). */
  private encodeStoreMatrix(encoder: GPUCommandEncoder, view: CorpusView, segment: SegmentView, resident: DeviceSegment,
    queries: GPUBuffer, first: number, m: number, out: GPUBuffer, outOffset: number, outStride: number): void {
    const pipeline = this.pipelines.get('matrix', 'f32', {
      CHUNKS: view.stride / 4, KIND: KIND_CODE[view.dtype], METRIC: METRIC_CODE[view.metric],
    });
    const panels = Math.ceil(segment.rows / 4);
    const panelTiles = Math.ceil(panels / 16);
    const queryTiles = Math.ceil(m / 16);
    const params = this.uniform([m, segment.rows, panels, outOffset, outStride, panelTiles, queryTiles, first]);
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(pipeline, [resident.data, queries, out, params]));
    pass.dispatchWorkgroups(Math.min(panelTiles, MAX_WORKGROUPS_PER_DIMENSION), Math.min(queryTiles, MAX_WORKGROUPS_PER_DIMENSION));
    pass.end();
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
    const pipeline = this.pipelines.get('matrix', 'f32', { CHUNKS: rows.stride / 4, KIND: 0, METRIC: 0 });
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

  /**
   * Top-k on the CPU of scores read back (k above GPU_TOP_K_MAX): the WASM heap, same order, rows
   * whose bit in `bits` (if any) is clear never offered.
   */
  private selectOnCpu(scores: Float32Array, m: number, n: number, k: number, bits: Uint32Array<ArrayBuffer> | null): PositionTopK[] {
    const { arena, kernels } = this.memory;
    const block = arena.alloc(n * 4);
    const mask = bits ? arena.alloc(bits.byteLength) : 0;
    const heapScores = arena.alloc(k * 4);
    const heapIndices = arena.alloc(k * 4);
    const state = arena.alloc(4);
    try {
      if (bits) arena.u32.set(bits, mask >>> 2);
      const results: PositionTopK[] = [];
      for (let q = 0; q < m; q++) {
        arena.f32.set(scores.subarray(q * n, (q + 1) * n), block >>> 2);
        arena.u32[state >>> 2] = 0;
        if (bits) kernels.selectMasked(block, n, 0, k, heapScores, heapIndices, state, mask);
        else kernels.selectTopK(block, n, 0, k, heapScores, heapIndices, state);
        const size = arena.u32[state >>> 2]!;
        kernels.sortHeap(heapScores, heapIndices, size);
        results.push({
          positions: arena.u32.slice(heapIndices >>> 2, (heapIndices >>> 2) + size),
          scores: arena.f32.slice(heapScores >>> 2, (heapScores >>> 2) + size),
        });
      }
      return results;
    } finally {
      for (const ptr of [state, heapIndices, heapScores]) arena.free(ptr);
      if (mask) arena.free(mask);
      arena.free(block);
    }
  }
}

/** Merge per-block candidates (score bits, position) into each query's top-k. */
function mergeCandidates(data: Uint32Array, m: number, blocks: number, k: number): PositionTopK[] {
  const scores = new Float32Array(data.buffer, data.byteOffset, data.length);
  const results: PositionTopK[] = [];
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
    results.push({ positions: indices, scores: values });
  }
  return results;
}

/** Device bytes of a segment at full capacity (rows, and i8 metadata). */
function deviceBytes(view: CorpusView, segment: SegmentView): number {
  return rowBytesOf(view.dtype, view.dim, segment.capacity) + (view.dtype === 'i8' ? Math.ceil(segment.capacity / 4) * 32 : 0);
}

/**
 * The rows a masked top-k may return, one bit per position, or null when every stored row may
 * (no dead rows, no filter).
 */
function maskBits(view: CorpusView, selection: Selection): Uint32Array<ArrayBuffer> | null {
  if (selection.segments.every((s) => s === null)) return null;
  const bits = new Uint32Array(Math.ceil(view.rows / 32) + 1);
  view.segments.forEach((segment, i) => {
    const chosen = selection.segments[i]!;
    if (chosen === 'none' || segment.rows === 0) return;
    const base = view.bases[i]!;
    const source = chosen === null ? null : chosen === 'live' ? segment.liveBits() : chosen;
    for (let r = 0; r < segment.rows; r++) {
      if (source && ((source[r >>> 5]! >>> (r & 31)) & 1) === 0) continue;
      const p = base + r;
      bits[p >>> 5]! |= 1 << (p & 31);
    }
  });
  return bits;
}
