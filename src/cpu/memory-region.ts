import { memoryAvailable } from '#platform';
import { WasmArena } from './arena.js';
import { instantiateKernels, type KernelChoice, type KernelExports } from './kernels.js';

const PAGE_BYTES = 65536;
const MAX_PAGES = 65536;

/**
 * One WASM linear memory with its own allocator and its own instance of the kernels. An index
 * larger than one memory (4 GiB, and AssemblyScript has no Memory64) spreads its segments over
 * several regions (src/cpu/memory-set.ts); a kernel only ever reads the region it runs in, so
 * every call stages its inputs in each region it touches. Region 0 is the engine's first memory
 * (staging, graphs, one-shot calls, and small indexes).
 */
export class MemoryRegion {
  readonly id: number;
  readonly memory: WebAssembly.Memory;
  readonly arena: WasmArena;
  readonly kernels: KernelExports;
  /** Whether the memory is shared (worker threads instantiate the kernels over it too). */
  readonly shared: boolean;
  /** Most bytes of index segments this region takes; the rest stays free for calls' scratch. */
  readonly storeBudget: number;
  /** Bytes of index segments placed here now. */
  storeBytes = 0;

  private constructor(id: number, memory: WebAssembly.Memory, arena: WasmArena, kernels: KernelExports,
    shared: boolean, storeBudget: number) {
    this.id = id;
    this.memory = memory;
    this.arena = arena;
    this.kernels = kernels;
    this.shared = shared;
    this.storeBudget = storeBudget;
  }

  /**
   * A new region of at most `limitBytes`, with the kernels module `kernels` chooses. A shared memory
   * reserves its maximum up front, so where that much address space cannot be reserved a quarter of
   * it is asked for instead.
   */
  static async create(id: number, shared: boolean, limitBytes: number, storeBudget: number,
    kernels: KernelChoice = 'auto'): Promise<MemoryRegion> {
    const maximum = Math.min(MAX_PAGES, Math.max(2, Math.floor(limitBytes / PAGE_BYTES)));
    let memory: WebAssembly.Memory;
    let pages = maximum;
    try {
      memory = new WebAssembly.Memory({ initial: 2, maximum, shared });
    } catch (error) {
      if (!shared) throw error;
      pages = Math.max(2, maximum >> 2);
      memory = new WebAssembly.Memory({ initial: 2, maximum: pages, shared: true });
    }
    const { exports } = await instantiateKernels(memory, shared, kernels);
    const arena = new WasmArena(memory, exports.heapBase(), pages * PAGE_BYTES, memoryAvailable);
    return new MemoryRegion(id, memory, arena, exports, shared, Math.min(storeBudget, pages * PAGE_BYTES));
  }
}
