import { HybridError } from '../errors.js';
import { formatBytes } from './arena.js';
import type { KernelChoice } from './kernels.js';
import { MemoryRegion } from './memory-region.js';

/** How large regions get and how much of each index segments may fill. */
export interface RegionLimits {
  /** Most bytes of one WASM memory (default 4 GiB, the wasm32 limit; tests use less). */
  regionBytes: number;
  /** Segments placed in region 0, the engine's own memory (default 1 GiB: the rest is staging). */
  firstRegionStoreBytes: number;
  /** Room kept free in every other region for calls' scratch (default 256 MiB). */
  headroomBytes: number;
}

export const DEFAULT_REGION_LIMITS: RegionLimits = {
  regionBytes: 4 * 1024 ** 3,
  firstRegionStoreBytes: 1024 ** 3,
  headroomBytes: 256 * 1024 ** 2,
};

/**
 * The engine's WASM memories: region 0 first, then as many more as index segments need. Each
 * new region is announced to listeners (the worker pool instantiates the kernels over it).
 */
export class MemorySet {
  readonly regions: MemoryRegion[];
  readonly limits: RegionLimits;
  private readonly shared: boolean;
  private readonly listeners: Array<(region: MemoryRegion) => void> = [];
  /** A region being created (placements wait for it rather than creating two). */
  private creating: Promise<MemoryRegion> | null = null;

  /** The kernels module every region instantiates (the first region's). */
  private readonly kernels: KernelChoice;

  constructor(first: MemoryRegion, shared: boolean, limits: RegionLimits = DEFAULT_REGION_LIMITS, kernels: KernelChoice = 'auto') {
    this.regions = [first];
    this.shared = shared;
    this.limits = limits;
    this.kernels = kernels;
  }

  /** Region `id`. */
  region(id: number): MemoryRegion {
    return this.regions[id]!;
  }

  /** Call `listener` for every region created from now on. */
  onRegion(listener: (region: MemoryRegion) => void): void {
    this.listeners.push(listener);
  }

  /** Bytes of linear memory reserved over every region. */
  get memoryBytes(): number {
    return this.regions.reduce((sum, r) => sum + r.arena.memoryBytes, 0);
  }

  /**
   * The region where `bytes` of segment data go: the first whose budget and free space take them,
   * else a new region. OUT_OF_MEMORY names `what` when no region could ever hold them.
   */
  async place(bytes: number, what: string): Promise<MemoryRegion> {
    for (;;) {
      for (const region of this.regions) {
        if (region.storeBytes + bytes <= region.storeBudget && region.arena.fits(bytes)) return region;
      }
      const budget = this.limits.regionBytes - this.limits.headroomBytes;
      if (bytes > budget) {
        throw new HybridError('OUT_OF_MEMORY',
          `CPU memory: ${what} of ${formatBytes(bytes)} does not fit one WASM memory ` +
          `(at most ${formatBytes(budget)} of index data each)`);
      }
      if (this.creating) {
        await this.creating;
        continue;
      }
      this.creating = MemoryRegion.create(this.regions.length, this.shared, this.limits.regionBytes, budget, this.kernels);
      try {
        const region = await this.creating;
        this.regions.push(region);
        for (const listener of this.listeners) listener(region);
      } catch (error) {
        throw new HybridError('OUT_OF_MEMORY',
          `CPU memory: could not create another WASM memory for ${what} (${String(error)})`);
      } finally {
        this.creating = null;
      }
    }
  }
}
