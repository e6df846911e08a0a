import type { Corpus, IndexDtype, RowBlock, RowLayout } from '../backend.js';
import { HybridError } from '../errors.js';
import { WasmArena } from './arena.js';
import { instantiateKernels, type KernelExports, type WasmSource } from './kernels.js';

/** dim rounded up to the f32x4 width: the row stride of padded rows and panels. */
export function strideFor(dim: number): number {
  return (dim + 3) & ~3;
}

/** Bytes of a panel region holding `rows` rows (whole panels of 4). */
export function panelRegionBytes(rows: number, stride: number): number {
  return Math.ceil(rows / 4) * 4 * stride * 4;
}

/** Input rows converted per step when writing panels: ~1 MiB, so the staging copy stays in L2. */
const PANEL_STEP_BYTES = 1 << 20;

/** A block of rows staged for one call; `release()` returns its memory. */
export interface StagedRows extends RowBlock {
  release(): void;
}

/**
 * The CPU side's memory: the WASM kernels, the arena over their linear memory, staging of
 * call inputs (copied in, checked for NaN/Infinity, laid out) and the index corpora. Shared by
 * the CPU backend (which computes in place) and a GPU backend (which uploads from here).
 */
export class CpuMemory {
  readonly arena: WasmArena;
  readonly kernels: KernelExports;
  readonly wasmSource: WasmSource;
  readonly wasmBytes: number;
  /** The compiled kernels (worker threads instantiate the same module over the same memory). */
  readonly module: WebAssembly.Module;
  /** Whether the linear memory is shared (a SharedArrayBuffer that worker threads can use). */
  readonly shared: boolean;
  private nextCorpusId = 1;

  private constructor(arena: WasmArena, kernels: KernelExports, module: WebAssembly.Module,
    source: WasmSource, bytes: number, shared: boolean) {
    this.arena = arena;
    this.kernels = kernels;
    this.module = module;
    this.wasmSource = source;
    this.wasmBytes = bytes;
    this.shared = shared;
  }

  /**
   * `shared`: a shared linear memory (WASM threads). A shared memory reserves its maximum size up
   * front, so where 4 GiB of address space cannot be reserved, 1 GiB is asked for instead.
   */
  static async create(shared = false): Promise<CpuMemory> {
    let memory: WebAssembly.Memory;
    if (shared) {
      try {
        memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
      } catch {
        memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
      }
    } else {
      memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
    }
    const { exports, module, source, bytes } = await instantiateKernels(memory, shared);
    return new CpuMemory(new WasmArena(memory, exports.heapBase()), exports, module, source, bytes, shared);
  }

  /** Queries: checked, `padded` to the stride and normalised (zero rows stay zero). */
  stageQueries(input: Float32Array, dim: number, argument: string): StagedRows {
    const rows = input.length / dim;
    const stride = strideFor(dim);
    const ptr = this.arena.alloc(rows * stride * 4);
    return this.staged(ptr, rows, dim, 'padded', () => {
      this.arena.f32.set(input, ptr >>> 2);
      this.assertFinite(ptr, input.length, dim, 0, argument);
      this.kernels.padRows(ptr, rows, dim, stride);
      this.kernels.normalizeRows(ptr, rows, stride);
    });
  }

  /** Staged queries (padded rows, same dim) copied one after another into one block. */
  joinRows(blocks: readonly RowBlock[]): StagedRows {
    const { dim, stride } = blocks[0]!;
    const rows = blocks.reduce((sum, b) => sum + b.rows, 0);
    const ptr = this.arena.alloc(rows * stride * 4);
    return this.staged(ptr, rows, dim, 'padded', () => {
      const f32 = this.arena.f32;
      let at = ptr >>> 2;
      for (const block of blocks) {
        const floats = block.rows * stride;
        f32.copyWithin(at, block.ptr >>> 2, (block.ptr >>> 2) + floats);
        at += floats;
      }
    });
  }

  /**
   * Rows checked and laid out as `panels`, each scaled by a power of two (exact, changes no
   * cosine); normalised too when `normalize`.
   */
  stagePanels(input: Float32Array, dim: number, argument: string, normalize: boolean): StagedRows {
    const rows = input.length / dim;
    const ptr = this.arena.alloc(panelRegionBytes(rows, strideFor(dim)));
    return this.staged(ptr, rows, dim, 'panels', () => this.writePanels(input, dim, argument, ptr, 0, normalize));
  }

  /**
   * Write `input` (packed rows) into the panel region `panels` from row `first` on (normalised
   * when `normalize`), about 1 MiB of input at a time through a small staging block. Throws
   * NON_FINITE (naming the position in `input`) before any row of the offending step is written.
   */
  writePanels(input: Float32Array, dim: number, argument: string, panels: number, first: number,
    normalize: boolean): void {
    const rows = input.length / dim;
    const stride = strideFor(dim);
    const step = Math.max(1, Math.floor(PANEL_STEP_BYTES / (dim * 4)));
    const stage = this.arena.alloc(Math.min(rows, step) * dim * 4 + 64);
    const scratch = stage + Math.min(rows, step) * dim * 4;
    try {
      for (let r0 = 0; r0 < rows; r0 += step) {
        const count = Math.min(step, rows - r0);
        this.arena.f32.set(input.subarray(r0 * dim, (r0 + count) * dim), stage >>> 2);
        if (this.kernels.toPanels(stage, count, dim, panels, first + r0, stride, scratch) !== 0) {
          this.assertFinite(stage, count * dim, dim, r0, argument);
        }
        if (normalize) this.kernels.normalizePanelRows(panels, first + r0, count, stride);
      }
    } finally {
      this.arena.free(stage);
    }
  }

  /** A new, empty index corpus. */
  createCorpus(dim: number, dtype: IndexDtype): CorpusStore {
    return new CorpusStore(this, this.nextCorpusId++, dim, dtype);
  }

  /** Throw NON_FINITE naming the first NaN/Infinity among `count` packed floats at `ptr`. */
  private assertFinite(ptr: number, count: number, dim: number, firstRow: number, argument: string): void {
    const bad = this.kernels.findNonFinite(ptr, count);
    if (bad < 0) return;
    const value = this.arena.f32[(ptr >>> 2) + bad];
    const position = firstRow * dim + bad;
    const where = dim === count && firstRow === 0
      ? `${argument}[${position}]`
      : `${argument}[${position}] (row ${Math.floor(position / dim)}, column ${position % dim})`;
    throw new HybridError('NON_FINITE', `${where} is ${String(value)}: every value must be finite`, argument);
  }

  private staged(ptr: number, rows: number, dim: number, layout: RowLayout, fill: () => void): StagedRows {
    try {
      fill();
    } catch (error) {
      this.arena.free(ptr);
      throw error;
    }
    const arena = this.arena;
    let released = false;
    return {
      ptr, rows, dim, stride: strideFor(dim), layout,
      release() {
        if (released) return;
        released = true;
        arena.free(ptr);
      },
    };
  }
}

/**
 * Corpora with at least this many rows, of at least COMPACT_MIN_DIM values each, keep an int8
 * copy for single-query top-k (asm/compact.ts): below that the f32 scan is already short, and
 * int8 rows of fewer than 32 values save little against their metadata.
 */
export const COMPACT_MIN_ROWS = 4096;
export const COMPACT_MIN_DIM = 32;

/** The int8 copy of a corpus (asm/compact.ts): panels of 16-byte chunks, plus row metadata. */
export interface CompactCopy {
  readonly compact: number;
  readonly meta: number;
  /** dim rounded up to 16: int8 values per row. */
  readonly qstride: number;
}

/**
 * An index's rows in WASM memory, normalised once on `append` and laid out as panels; read by
 * every search. Capacity doubles as rows are appended (one copy per doubling); `dispose()`
 * frees it. Large corpora also keep an int8 copy for single-query top-k, built with the rows
 * (so the first search costs what later ones do) and extended to new rows only.
 */
export class CorpusStore implements Corpus {
  readonly id: number;
  readonly dim: number;
  readonly stride: number;
  readonly dtype: IndexDtype;
  readonly layout = 'panels' as const;
  private readonly memory: CpuMemory;
  private block = 0;
  private capacity = 0;
  private size = 0;
  private disposed = false;
  private compactBlock = 0;
  private compactMeta = 0;
  private compactCapacity = 0;
  private compactRows = 0;

  constructor(memory: CpuMemory, id: number, dim: number, dtype: IndexDtype) {
    this.memory = memory;
    this.id = id;
    this.dim = dim;
    this.stride = strideFor(dim);
    this.dtype = dtype;
  }

  get ptr(): number {
    return this.block;
  }

  get rows(): number {
    return this.size;
  }

  /** Append packed rows (checked, normalised). On a NaN/Infinity no row is added. */
  append(vectors: Float32Array, argument: string): void {
    const added = vectors.length / this.dim;
    if (added === 0) return;
    this.reserve(this.size + added);
    this.memory.writePanels(vectors, this.dim, argument, this.block, this.size, true);
    this.size += added;
    if (this.size >= COMPACT_MIN_ROWS && this.dim >= COMPACT_MIN_DIM) this.compactCopy();
  }

  /** The int8 copy, brought up to date with every row (quantising only rows added since). */
  compactCopy(): CompactCopy {
    const qstride = (this.dim + 15) & ~15;
    const arena = this.memory.arena;
    if (this.compactCapacity < this.size) {
      const capacity = this.capacity;
      const compact = arena.alloc(Math.ceil(capacity / 4) * qstride * 4);
      const meta = arena.alloc(Math.ceil(capacity / 4) * 48);
      if (this.compactCapacity > 0) {
        const u8 = new Uint8Array(arena.memory.buffer);
        const panels = Math.ceil(this.compactRows / 4);
        u8.copyWithin(compact, this.compactBlock, this.compactBlock + panels * qstride * 4);
        u8.copyWithin(meta, this.compactMeta, this.compactMeta + panels * 48);
        arena.free(this.compactBlock);
        arena.free(this.compactMeta);
      }
      this.compactBlock = compact;
      this.compactMeta = meta;
      this.compactCapacity = capacity;
    }
    if (this.compactRows < this.size) {
      this.memory.kernels.quantizePanelRows(this.block, this.compactRows, this.size - this.compactRows,
        this.stride, this.compactBlock, this.compactMeta, qstride);
      this.compactRows = this.size;
    }
    return { compact: this.compactBlock, meta: this.compactMeta, qstride };
  }

  /** Free the rows. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.compactCapacity > 0) {
      this.memory.arena.free(this.compactBlock);
      this.memory.arena.free(this.compactMeta);
      this.compactCapacity = 0;
    }
    if (this.capacity > 0) this.memory.arena.free(this.block);
    this.block = 0;
    this.capacity = 0;
    this.size = 0;
  }

  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = Math.ceil(Math.max(rows, this.capacity * 2, 16) / 4) * 4;
    const arena = this.memory.arena;
    const block = arena.alloc(panelRegionBytes(capacity, this.stride));
    if (this.capacity > 0) {
      const from = this.block >>> 2;
      arena.f32.copyWithin(block >>> 2, from, from + panelRegionBytes(this.size, this.stride) / 4);
      arena.free(this.block);
    }
    this.block = block;
    this.capacity = capacity;
  }
}
