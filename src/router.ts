import type { BackendChoice, BackendKind } from './backend.js';
import type { HybridConfig } from './config.js';
import type { Operation } from './telemetry.js';

/** One call as the router sees it. */
export interface RouteInput {
  operation: Operation;
  /** cosine: queries x rows; spreading: nodes x seed sets. */
  batchSize: number;
  requested: BackendChoice;
  gpuAvailable: boolean;
}

/** The router's answer: a backend and the reason telemetry counts. */
export interface RouteDecision {
  backend: BackendKind;
  reason: string;
}

/**
 * Pure decision function (DESIGN.md, "The router"), first matching rule wins:
 * 1. a backend named on the call (`forced`);
 * 2. `forceCpuMode` or no GPU -> cpu (`force-cpu`, `no-gpu`);
 * 3. batch below the operation's minimum -> cpu (`below-min-batch`);
 * otherwise gpu (`gpu-untested`). The health and speedup rules (4, 5), which need the rolling
 * window's success rate and speedup, come with the router issue.
 */
export function routeCall(config: HybridConfig, call: RouteInput): RouteDecision {
  if (call.requested !== 'auto') return { backend: call.requested, reason: 'forced' };
  if (config.forceCpuMode) return { backend: 'cpu', reason: 'force-cpu' };
  if (!call.gpuAvailable) return { backend: 'cpu', reason: 'no-gpu' };
  const minimum = config.operations[call.operation]?.gpuMinBatchSize ?? config.gpuMinBatchSize;
  if (call.batchSize < minimum) return { backend: 'cpu', reason: 'below-min-batch' };
  return { backend: 'gpu', reason: 'gpu-untested' };
}
