// The one place the benchmark suite reaches inside an engine: the threads module measures the
// worker split below its threshold, which needs the CPU backend's threshold set to 0. (The
// package's tests have their own hooks in src/testing.ts, which is not built into dist/.)
import type { CpuBackend } from '../cpu/cpu-backend.js';
import type { HybridEngine } from '../engine.js';

/** The engine's CPU backend (its worker pool and the pool's work threshold). */
export function cpuBackendOf(engine: HybridEngine): CpuBackend {
  return (engine as unknown as { cpu: CpuBackend }).cpu;
}
