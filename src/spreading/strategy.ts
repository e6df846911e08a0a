// Which way a hop goes (direction-optimizing traversal: Beamer et al., SC 2012; Ligra's edgeMap),
// and how much work a call is expected to be (the router's batch size for spreading).
import type { SpreadStrategy } from './types.js';

/**
 * A hop pushes while its push work is at most a share of the graph's edges plus nodes (what a
 * pull reads and visits); else it pulls. Push work: the frontier's out-edges, on the CPU summed
 * over the seed sets each frontier node is active in (the CPU pushes set by set, one pull serves
 * every set with SIMD over the columns), on the GPU once (it marks the union's targets).
 *
 * The CPU's share was measured (`npm run bench:spreading -- --only crossover`, docs/PERFORMANCE.md
 * v0.9): one hop from frontiers of growing size, push against pull. One seed set: push paid up to
 * 18% on the 118k-node semantic graph, whose n floats fit in L2 (the push's scattered adds hit
 * cache), but only up to 2% on a 1M-node graph (they miss). Pulling K sets costs more per edge (the
 * rows are K floats wide); the share for cols columns grew like cols^0.6 on the semantic graph
 * (K 4: 0.19; K 16: 0.6 in a first run, push work 0.36 and 0.48 in two later ones: 0.08 * 16^0.6 =
 * 0.42). So: `small` for graphs of up to `smallNodes` nodes, `large` above, times
 * cols^setExponent. The GPU's is not measured on a real GPU (none lent); see PERFORMANCE.md.
 */
export const PUSH_PULL_CROSSOVER = {
  cpu: { small: 0.08, large: 0.02, smallNodes: 262_144, setExponent: 0.6 },
  gpu: 0.05,
} as const;

/** The CPU's push share (of edges + nodes) for a graph of `nodeCount` nodes and `cols` columns. */
export function cpuCrossover(nodeCount: number, cols: number): number {
  const c = PUSH_PULL_CROSSOVER.cpu;
  return (nodeCount <= c.smallNodes ? c.small : c.large) * cols ** c.setExponent;
}

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
