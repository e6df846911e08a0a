// The CPU strategy a batch took (stats().cpuStrategy), as a note beside its figure: the bench
// suite shows, per shape, which of the CPU backend's batch paths the measurement chose here.
import type { HybridEngine } from '../engine.js';

/**
 * Run `call` once and name the batch path(s) it took on the CPU (the stats().cpuStrategy.batches
 * keys it counted, such as `f32/int8-batch/winograd`) and the kernels module; '' when it took none
 * (a single query, or the GPU).
 */
export async function batchPathOf(engine: HybridEngine, call: () => Promise<unknown>): Promise<string> {
  const before = { ...engine.stats().cpuStrategy.batches };
  await call();
  const strategy = engine.stats().cpuStrategy;
  const taken = Object.entries(strategy.batches).filter(([name, count]) => count > (before[name] ?? 0)).map(([name]) => name);
  return taken.length === 0 ? '' : `CPU strategy ${taken.join(' + ')} (${strategy.kernels} kernels)`;
}
