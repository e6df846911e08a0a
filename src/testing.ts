// Hooks for this package's own tests; not exported from the package entry point.
import type { HybridEngine } from './engine.js';
import type { WasmArena } from './cpu/arena.js';
import type { CpuMemory } from './cpu/cpu-memory.js';
import type { GpuBackend } from './gpu/gpu-backend.js';
import type { CpuBackend } from './cpu/cpu-backend.js';
import { DEFAULT_STORE_LIMITS, storeLimits, type StoreLimits } from './store/limits.js';
import { DEFAULT_QUEUE_ITEM_BYTES, overlapped } from './cpu/store-calls.js';
import { keyMarking } from './store/selection.js';

/** The engine's WASM arena (memory growth, live blocks, poisoning). */
export function arenaOf(engine: HybridEngine): WasmArena {
  return (engine as unknown as { memory: CpuMemory }).memory.arena;
}

/**
 * Fill all free WASM memory with NaN, and have the GPU backend (if any) fill its output buffers
 * with NaN before each kernel, so that an unwritten output element shows as NaN.
 */
export function poisonFreeMemory(engine: HybridEngine): void {
  arenaOf(engine).poisonFree(Number.NaN);
  const gpu = gpuOf(engine);
  if (gpu) gpu.poisonOutputs = true;
}

/** The engine's GPU backend, or null. */
export function gpuOf(engine: HybridEngine): GpuBackend | null {
  return (engine as unknown as { gpu: GpuBackend | null }).gpu;
}

/** The engine's CPU memory: kernels, arena, staging (for tests that call kernels directly). */
export function memoryOf(engine: HybridEngine): CpuMemory {
  return (engine as unknown as { memory: CpuMemory }).memory;
}

/** The engine's CPU backend (its worker pool, the pool's work threshold). */
export function cpuOf(engine: HybridEngine): CpuBackend {
  return (engine as unknown as { cpu: CpuBackend }).cpu;
}

/**
 * Change the store's sizes for engines and indexes created from now on (small segments and
 * memories make tests cross every boundary); `resetStoreLimits` restores the defaults.
 */
export function setStoreLimits(limits: Partial<Omit<StoreLimits, 'regions'>> & { regions?: Partial<StoreLimits['regions']> }): void {
  const { regions, ...rest } = limits;
  Object.assign(storeLimits, rest);
  if (regions) Object.assign(storeLimits.regions, regions);
}

export function resetStoreLimits(): void {
  Object.assign(storeLimits, { ...DEFAULT_STORE_LIMITS, regions: { ...DEFAULT_STORE_LIMITS.regions } });
}

/** How many top-k calls have made their key filter's selection beside their bounds pass (src/cpu/store-calls.ts). */
export function overlappedCalls(): number {
  return overlapped.calls;
}

/**
 * Mark a filter's default keys through the key table or through a bitmap of keys in every call
 * from now on (undefined: by cost, the default; src/store/selection.ts).
 */
export function forceKeyMarking(path: 'table' | 'bits' | undefined): void {
  keyMarking.force = path;
}

/** Bytes of int8 rows per item of an overlapped call's bounds queue (src/cpu/store-calls.ts); undefined restores the default. */
export function setBoundsQueueItemBytes(bytes: number | undefined): void {
  overlapped.itemBytes = bytes ?? DEFAULT_QUEUE_ITEM_BYTES;
}
