import type { BackendChoice, BackendKind } from './backend.js';
import type { HybridConfig } from './config.js';
import { sizeClass, type Operation, type RouterView } from './telemetry.js';

/** One call as the router sees it. */
export interface RouteInput {
  operation: Operation;
  /** cosine: queries x rows; spreading: nodes x seed sets. */
  batchSize: number;
  requested: BackendChoice;
  /** A GPU device is held (a lost one still counts: it is unhealthy, not absent). */
  gpuAvailable: boolean;
}

/** The router's answer: a backend and the reason telemetry counts. */
export interface RouteDecision {
  backend: BackendKind;
  reason: RouteReason;
}

export type RouteReason =
  | 'forced' | 'force-cpu' | 'no-gpu' | 'below-min-batch' | 'gpu-unhealthy' | 'probe'
  | 'gpu-slower' | 'gpu-faster' | 'gpu-untested' | 'explore';

/** A view with no history: what the router sees with telemetry off. */
export const NO_HISTORY: RouterView = {
  gpuSuccessRate: null,
  unhealthySince: null,
  probeInFlight: false,
  speedup: () => null,
};

/** The smallest batch the GPU gets for an operation (per-operation override first). */
export function minBatchFor(config: HybridConfig, operation: Operation): number {
  return config.operations[operation]?.gpuMinBatchSize ?? config.gpuMinBatchSize;
}

/**
 * Pure decision function (README, "The GPU and the router"); the first rule that matches wins:
 * 1. a backend named on the call: that backend (`forced`);
 * 2. `forceCpuMode`, or no GPU: cpu (`force-cpu`, `no-gpu`);
 * 3. batch below the operation's minimum: cpu (`below-min-batch`);
 * 4. GPU unhealthy (its success rate over the window fell under the threshold, or its device was
 *    lost): cpu (`gpu-unhealthy`) until `gpuRecoveryMs` has passed, then one call probes the GPU
 *    (`probe`) while the others stay on the CPU;
 * 5. speedup known for this size class (or a neighbour): below the threshold cpu (`gpu-slower`),
 *    else gpu (`gpu-faster`); with probability `explorationRate` the other backend (`explore`);
 * 6. otherwise gpu (`gpu-untested`), with probability `explorationRate` cpu (`explore`), so that
 *    the CPU's side of the speedup gets measured too.
 * `now` is the engine's clock (ms); `random` a draw in [0, 1).
 */
export function routeCall(config: HybridConfig, view: RouterView, call: RouteInput, now: number, random: number): RouteDecision {
  if (call.requested !== 'auto') return { backend: call.requested, reason: 'forced' };
  if (config.forceCpuMode) return { backend: 'cpu', reason: 'force-cpu' };
  if (!call.gpuAvailable) return { backend: 'cpu', reason: 'no-gpu' };
  if (call.batchSize < minBatchFor(config, call.operation)) return { backend: 'cpu', reason: 'below-min-batch' };
  if (view.unhealthySince !== null) {
    if (view.probeInFlight || now - view.unhealthySince < config.gpuRecoveryMs) {
      return { backend: 'cpu', reason: 'gpu-unhealthy' };
    }
    return { backend: 'gpu', reason: 'probe' };
  }
  const explore = random < config.explorationRate;
  const speedup = view.speedup(sizeClass(call.batchSize));
  if (speedup !== null) {
    const faster = speedup >= config.gpuSpeedupThreshold;
    if (explore) return { backend: faster ? 'cpu' : 'gpu', reason: 'explore' };
    return faster ? { backend: 'gpu', reason: 'gpu-faster' } : { backend: 'cpu', reason: 'gpu-slower' };
  }
  if (explore) return { backend: 'cpu', reason: 'explore' };
  return { backend: 'gpu', reason: 'gpu-untested' };
}

/** Whether a GPU success rate means the GPU must rest (rule 4). */
export function isUnhealthy(config: HybridConfig, successRate: number | null): boolean {
  return successRate !== null && successRate < config.gpuSuccessRateThreshold;
}
