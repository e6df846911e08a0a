import type { RowBlock, RowLayout } from '../types.js';
import { HybridError } from '../errors.js';
import type { WasmArena } from './arena.js';
import { compileKernels, type KernelChoice, type KernelExports, type KernelModule, type WasmSource } from './kernels.js';
import { MemoryRegion } from './memory-region.js';
import { DEFAULT_REGION_LIMITS, MemorySet, type RegionLimits } from './memory-set.js';

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
 * The CPU side's memory: the engine's WASM memories (regions; region 0 is the engine's own, the
 * arena and kernels below are its), and staging of call inputs (copied in, checked for
 * NaN/Infinity, laid out) in region 0. Shared by the CPU backend (which computes in place) and a
 * GPU backend (which uploads from here). Index segments live in `regions` (src/store/segment.ts).
 */
export class CpuMemory {
  /** Region 0's allocator and kernels. */
  readonly arena: WasmArena;
  readonly kernels: KernelExports;
  readonly wasmSource: WasmSource;
  readonly wasmBytes: number;
  /** Which build of the kernels runs (relaxed SIMD where the engine validates it, unless asked for baseline). */
  readonly kernelModule: KernelModule;
  /** The compiled kernels (every region and worker thread instantiates this module). */
  readonly module: WebAssembly.Module;
  /** Whether the linear memories are shared (SharedArrayBuffers that worker threads can use). */
  readonly shared: boolean;
  readonly regions: MemorySet;

  private constructor(regions: MemorySet, module: WebAssembly.Module, source: WasmSource, bytes: number, shared: boolean,
    kernelModule: KernelModule) {
    const first = regions.region(0);
    this.regions = regions;
    this.arena = first.arena;
    this.kernels = first.kernels;
    this.module = module;
    this.wasmSource = source;
    this.wasmBytes = bytes;
    this.shared = shared;
    this.kernelModule = kernelModule;
  }

  /**
   * `shared`: shared linear memories (WASM threads). `limits`: region sizes (tests make them small).
   * `kernels`: which kernels module (src/cpu/kernels.ts).
   */
  static async create(shared = false, limits: RegionLimits = DEFAULT_REGION_LIMITS, kernels: KernelChoice = 'auto'): Promise<CpuMemory> {
    const { module, source, bytes, kind } = await compileKernels(shared, kernels);
    const first = await MemoryRegion.create(0, shared, limits.regionBytes, limits.firstRegionStoreBytes, kernels);
    return new CpuMemory(new MemorySet(first, shared, limits, kernels), module, source, bytes, shared, kind);
  }

  /** Queries: checked, `padded` to the stride and, unless `normalize` is false, normalised (zero rows stay zero). */
  stageQueries(input: Float32Array, dim: number, argument: string, normalize = true): StagedRows {
    const rows = input.length / dim;
    const stride = strideFor(dim);
    const ptr = this.arena.alloc(rows * stride * 4, argument);
    return this.staged(ptr, rows, dim, 'padded', () => {
      this.arena.f32.set(input, ptr >>> 2);
      this.assertFinite(ptr, input.length, dim, 0, argument);
      this.kernels.padRows(ptr, rows, dim, stride);
      if (normalize) this.kernels.normalizeRows(ptr, rows, stride);
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
    const ptr = this.arena.alloc(panelRegionBytes(rows, strideFor(dim)), argument);
    return this.staged(ptr, rows, dim, 'panels', () => writePanels(this.region0, input, dim, argument, ptr, 0, normalize, true));
  }

  private get region0(): MemoryRegion {
    return this.regions.region(0);
  }

  private assertFinite(ptr: number, count: number, dim: number, firstRow: number, argument: string): void {
    assertFinite(this.region0, ptr, count, dim, firstRow, argument);
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

/** Throw NON_FINITE naming the first NaN/Infinity among `count` packed floats at `ptr` of `region`. */
export function assertFinite(region: MemoryRegion, ptr: number, count: number, dim: number, firstRow: number,
  argument: string): void {
  const bad = region.kernels.findNonFinite(ptr, count);
  if (bad < 0) return;
  const value = region.arena.f32[(ptr >>> 2) + bad];
  const position = firstRow * dim + bad;
  const where = dim === count && firstRow === 0
    ? `${argument}[${position}]`
    : `${argument}[${position}] (row ${Math.floor(position / dim)}, column ${position % dim})`;
  throw new HybridError('NON_FINITE', `${where} is ${String(value)}: every value must be finite`, argument);
}

/**
 * Write `input` (packed rows) into the f32 panel region `panels` of `region` from row `first` on
 * (power-of-two scaled when `scale`, then normalised when `normalize`), about 1 MiB of input at a
 * time through a small staging block. Throws NON_FINITE (naming the position in `input`, counted
 * from `inputRow`) before any row of the offending step is written.
 */
export function writePanels(region: MemoryRegion, input: Float32Array, dim: number, argument: string, panels: number,
  first: number, normalize: boolean, scale: boolean, inputRow = 0): void {
  const rows = input.length / dim;
  const stride = strideFor(dim);
  const step = Math.max(1, Math.floor(PANEL_STEP_BYTES / (dim * 4)));
  const { arena, kernels } = region;
  const stage = arena.alloc(Math.min(rows, step) * dim * 4 + 64, 'staging');
  const scratch = stage + Math.min(rows, step) * dim * 4;
  try {
    for (let r0 = 0; r0 < rows; r0 += step) {
      const count = Math.min(step, rows - r0);
      arena.f32.set(input.subarray(r0 * dim, (r0 + count) * dim), stage >>> 2);
      if (kernels.toPanels(stage, count, dim, panels, first + r0, stride, scratch, scale ? 1 : 0) !== 0) {
        assertFinite(region, stage, count * dim, dim, inputRow + r0, argument);
      }
      if (normalize) kernels.normalizePanelRows(panels, first + r0, count, stride);
    }
  } finally {
    arena.free(stage);
  }
}
