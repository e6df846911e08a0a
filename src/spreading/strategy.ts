// Which way a hop goes (direction-optimizing traversal: Beamer et al., SC 2012; Ligra's edgeMap),
// and how much work a call is expected to be (the router's batch size for spreading).
import type { SpreadStrategy } from './types.js';

/**
 * A hop pushes while its push work is at most this share of the graph's edges plus nodes (what a
 * pull reads and visits); else it pulls. Push work: the frontier's out-edges, on the CPU with K > 1
 * summed over the seed sets each frontier node is active in (the CPU pushes set by set; one pull
 * serves every set with SIMD over the columns), on the GPU once (it marks the union's targets).
 * Measured on this machine (`npm run bench:spreading -- --only crossover`; docs/PERFORMANCE.md, v0.9).
 */
export const PUSH_PULL_CROSSOVER = { cpu: 0.05, cpuSets: 0.1, gpu: 0.05 } as const;

/** The graph's sizes the choice reads. */
interface Sizes {
  readonly nodeCount: number;
  readonly edgeCount: number;
}

/** Push or pull for a hop whose push work (see PUSH_PULL_CROSSOVER) is `work`. */
export function hopDirection(strategy: SpreadStrategy, work: number, graph: Sizes, crossover: number): 'push' | 'pull' {
  if (strategy !== 'auto') return strategy;
  return work <= crossover * (graph.edgeCount + graph.nodeCount) ? 'push' : 'pull';
}

/** The largest frontier out-edge count that still pushes (the GPU's plan kernel compares with it). */
export function pushLimit(graph: Sizes, crossover: number): number {
  return Math.floor(crossover * (graph.edgeCount + graph.nodeCount));
}

/**
 * The work a call is expected to be, in edges x seed sets: the seeds' out-edges on the first hop,
 * growing by the mean out-degree per hop (the frontier's reach in a random graph), each hop capped
 * at every edge plus every node (a pull). Thresholds that cut the frontier are not foreseen, so it
 * errs high for sparse calls; it is what the router sees as the batch size (`spreading`).
 */
export function estimatedWork(graph: Sizes, seedEdges: number, hops: number, k: number): number {
  const cap = graph.edgeCount + graph.nodeCount;
  const branching = Math.max(1, graph.edgeCount / graph.nodeCount);
  let frontier = seedEdges;
  let work = 0;
  for (let h = 0; h < hops; h++) {
    work += Math.min(cap, frontier);
    frontier = Math.min(cap, frontier * branching);
  }
  return Math.max(1, Math.round(work * k));
}
