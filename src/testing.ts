// Hooks for this package's own tests; not exported from the package entry point.
import type { HybridEngine } from './engine.js';
import type { WasmArena } from './cpu/arena.js';
import type { CpuMemory } from './cpu/cpu-memory.js';

/** The engine's WASM arena (memory growth, live blocks, poisoning). */
export function arenaOf(engine: HybridEngine): WasmArena {
  return (engine as unknown as { memory: CpuMemory }).memory.arena;
}

/** Fill all free WASM memory with NaN, so an unwritten output element shows as NaN. */
export function poisonFreeMemory(engine: HybridEngine): void {
  arenaOf(engine).poisonFree(Number.NaN);
}

/** The engine's CPU memory: kernels, arena, staging (for tests that call kernels directly). */
export function memoryOf(engine: HybridEngine): CpuMemory {
  return (engine as unknown as { memory: CpuMemory }).memory;
}
