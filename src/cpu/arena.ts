import { HybridError } from '../errors.js';

const PAGE_BYTES = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit
/** Growth ahead of need: 1/8 of the memory, at least 16 MiB and at most 256 MiB (in pages). */
const MIN_STEP_PAGES = 256;
const MAX_STEP_PAGES = 4096;
/** Every block starts on a cache line, so rows never straddle lines needlessly. */
const ALIGN = 64;

interface FreeBlock {
  start: number;
  size: number;
}

/**
 * Allocator over the WASM module's linear memory. The kernels never allocate; every buffer
 * they touch (index rows, staged queries, scores, heaps) is a block from here.
 *
 * First fit over an address-ordered free list with coalescing, then a bump pointer `top`;
 * freeing the block just below `top` lowers `top`. Memory grows ahead in steps (an eighth of its
 * size, 16 to 256 MiB: never by doubling what it holds) so that repeated growth does not land
 * every copy on fresh, never-touched pages, and it never shrinks (WASM cannot), but freed blocks
 * are reused, so an index created and disposed a thousand times costs the memory of one.
 *
 * Before growing it asks `available` (the platform's view of the RAM this process may still
 * use; null where there is none): a growth the machine cannot back is OUT_OF_MEMORY naming the
 * request, rather than a process the kernel kills later.
 *
 * Views (`f32`, `u32`) are re-created after `memory.grow`, which detaches the old buffer.
 */
export class WasmArena {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top: number;
  private readonly freeList: FreeBlock[] = [];
  private readonly sizes = new Map<number, number>();
  private buffer: ArrayBuffer | null = null;
  private f32View = new Float32Array(0);
  private u32View = new Uint32Array(0);

  /** Largest size this memory may reach (4 GiB, or less: tests force small memories). */
  readonly limitBytes: number;
  private readonly available: () => number | null;

  constructor(memory: WebAssembly.Memory, base: number, limitBytes = MAX_PAGES * PAGE_BYTES,
    available: () => number | null = () => null) {
    this.memory = memory;
    this.base = roundUp(base, ALIGN);
    this.top = this.base;
    this.limitBytes = Math.min(limitBytes, MAX_PAGES * PAGE_BYTES);
    this.available = available;
  }

  /** Bytes that could still be allocated here (free blocks and room up to the limit). */
  get roomBytes(): number {
    let free = this.limitBytes - this.top;
    for (const block of this.freeList) free += block.size;
    return free;
  }

  /** Whether a block of `bytes` fits (a free block, or room at the top) without passing the limit. */
  fits(bytes: number): boolean {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    if (this.top + size <= this.limitBytes) return true;
    return this.freeList.some((block) => block.size >= size);
  }

  /** Float32 view of all of memory (re-created after growth). */
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }

  /** Uint32 view of all of memory (re-created after growth). */
  get u32(): Uint32Array {
    this.refresh();
    return this.u32View;
  }

  /** Bytes of linear memory reserved so far (what the process pays). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes in live blocks. */
  get liveBytes(): number {
    let total = 0;
    for (const size of this.sizes.values()) total += size;
    return total;
  }

  /** Number of live blocks. */
  get liveBlocks(): number {
    return this.sizes.size;
  }

  /**
   * A block of at least `bytes` bytes, 64-byte aligned. Throws OUT_OF_MEMORY past the limit, or
   * when the machine cannot back the growth; `what` names the request in that message.
   */
  alloc(bytes: number, what = 'a block'): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    for (let i = 0; i < this.freeList.length; i++) {
      const block = this.freeList[i]!;
      if (block.size < size) continue;
      const start = block.start;
      if (block.size === size) this.freeList.splice(i, 1);
      else {
        block.start += size;
        block.size -= size;
      }
      this.sizes.set(start, size);
      return start;
    }
    const start = this.top;
    this.ensureCapacity(start + size, size, what);
    this.top = start + size;
    this.sizes.set(start, size);
    return start;
  }

  /** Return a block from `alloc`. Freeing an unknown address is a programming error. */
  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`WasmArena.free: ${ptr} is not a live block`);
    this.sizes.delete(ptr);
    // Insert in address order (binary search: many calls in flight leave many holes), then merge
    // with the neighbours it touches.
    let i = 0;
    let hi = this.freeList.length;
    while (i < hi) {
      const mid = (i + hi) >>> 1;
      if (this.freeList[mid]!.start < ptr) i = mid + 1;
      else hi = mid;
    }
    this.freeList.splice(i, 0, { start: ptr, size });
    const next = this.freeList[i + 1];
    const current = this.freeList[i]!;
    if (next && current.start + current.size === next.start) {
      current.size += next.size;
      this.freeList.splice(i + 1, 1);
    }
    const previous = i > 0 ? this.freeList[i - 1] : undefined;
    let merged = current;
    if (previous && previous.start + previous.size === current.start) {
      previous.size += current.size;
      this.freeList.splice(i, 1);
      merged = previous;
    }
    if (merged.start + merged.size === this.top) {
      this.top = merged.start;
      this.freeList.splice(this.freeList.indexOf(merged), 1);
    }
  }

  /**
   * Fill every byte not in a live block with `value` (as f32), up to the end of memory. Tests
   * call it before a kernel runs, so that any output element a kernel fails to write shows.
   */
  poisonFree(value: number): void {
    const f32 = this.f32;
    for (const block of this.freeList) f32.fill(value, block.start >>> 2, (block.start + block.size) >>> 2);
    f32.fill(value, this.top >>> 2);
  }

  /** Size in bytes of a live block. */
  sizeOf(ptr: number): number {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`WasmArena.sizeOf: ${ptr} is not a live block`);
    return size;
  }

  private ensureCapacity(end: number, size: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const limitPages = Math.floor(this.limitBytes / PAGE_BYTES);
    const havePages = have / PAGE_BYTES;
    const needPages = Math.ceil(end / PAGE_BYTES);
    if (needPages > limitPages) {
      throw new HybridError('OUT_OF_MEMORY',
        `CPU memory: ${what} of ${formatBytes(size)} does not fit one WASM memory ` +
        `(${formatBytes(end)} needed, limit ${formatBytes(this.limitBytes)})`);
    }
    const step = Math.min(MAX_STEP_PAGES, Math.max(MIN_STEP_PAGES, Math.ceil(havePages / 8)));
    let wantPages = Math.min(limitPages, Math.max(needPages, havePages + step));
    const available = this.available();
    if (available !== null) {
      const needBytes = (needPages - havePages) * PAGE_BYTES;
      if (needBytes > available) {
        throw new HybridError('OUT_OF_MEMORY',
          `CPU memory: ${what} of ${formatBytes(size)} needs ${formatBytes(needBytes)} more, ` +
          `but this process has about ${formatBytes(available)} of RAM left`);
      }
      if ((wantPages - havePages) * PAGE_BYTES > available) wantPages = needPages;
    }
    try {
      this.memory.grow(wantPages - havePages);
    } catch {
      try {
        this.memory.grow(needPages - havePages);
      } catch (error) {
        throw new HybridError('OUT_OF_MEMORY',
          `CPU memory: ${what} of ${formatBytes(size)}: could not grow WASM memory to ` +
          `${formatBytes(needPages * PAGE_BYTES)} (${String(error)})`);
      }
    }
  }

  private refresh(): void {
    const buffer = this.memory.buffer as ArrayBuffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.f32View = new Float32Array(buffer);
    this.u32View = new Uint32Array(buffer);
  }
}

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

/** Bytes as a short human figure (for error messages). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
