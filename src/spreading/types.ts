// The shapes the parts of activation spreading share: the engine builds a SpreadJob, a backend
// (backend.ts) runs it and answers a SpreadOutcome. This file imports nothing, so that backend.ts
// can name these types without pulling in the graph store or the CPU memory.

/** How a node's outgoing activation is divided: not, by its out-degree, or by its square root. */
export type FanMode = 'none' | 'outDegree' | 'sqrtOutDegree';

/**
 * Which way hops go: `push` from the frontier's out-edges (on the GPU: mark the frontier's
 * targets, compact them, pull into those only), `pull` over every node's in-edges, or `auto`:
 * per hop, push while the frontier's out-edges are few against the graph's (strategy.ts).
 * Every strategy gives the same bits.
 */
export type SpreadStrategy = 'auto' | 'push' | 'pull';

/**
 * What a spreading call returns per seed set: `dense`, a Float32Array of nodeCount totals, or
 * `sparse`, only the nodes whose total is not 0 (SparseTotals). The same numbers either way.
 */
export type SpreadOutput = 'dense' | 'sparse';

/**
 * A seed set's non-zero totals (`output: 'sparse'`): nodes ascending, values[i] the total of
 * nodes[i], every value non-zero; the shape of a SeedSet, so it can seed another call. Exactly the
 * non-zero entries of the dense result, bit for bit.
 */
export interface SparseTotals {
  nodes: Uint32Array;
  values: Float32Array;
}

/** What a backend reads of a graph: its sizes and where its CSR blocks sit in WASM memory. */
export interface SpreadGraph {
  readonly id: number;
  readonly nodeCount: number;
  readonly edgeCount: number;
  /** Out-degree of every node. */
  readonly outDegree: Uint32Array;
  /** Nodes with no edge out. */
  readonly sinkCount: number;
  /** Byte addresses of the CSR by target: u32[n + 1] offsets, u32[E] sources, f32[E] weights. */
  readonly inOffsets: number;
  readonly inSources: number;
  readonly inWeights: number;
  /** Byte addresses of the CSR by source: u32[n + 1] offsets, u32[E] targets, f32[E] weights. */
  readonly outOffsets: number;
  readonly outTargets: number;
  readonly outWeights: number;
  /** Byte address of f32[n]: 1 / fan(u) for every node (built once per mode). */
  fanInverse(mode: FanMode): number;
  /** The most edges into one node. */
  readonly maxInDegree: number;
  /** Byte address of f32[n]: per node, the largest sum of |weight| over its edges into one node (built once). */
  outWeightBound(): number;
}

/**
 * The seed sets of a call, validated and summed (duplicates add up in float64, then f32): the
 * nodes with any non-zero value, ascending, and their values, `cols` floats per node (seed set j in
 * column j, padding columns 0). `edges`: the out-edges of those nodes; `setEdges`: the same summed
 * over the seed sets each node is seeded in (the first hop's push work).
 */
export interface StagedSeeds {
  nodes: Uint32Array;
  values: Float32Array;
  edges: number;
  setEdges: number;
}

/** A validated spreading call. */
export interface SpreadJob {
  graph: SpreadGraph;
  /** Seed sets (columns). */
  k: number;
  /** Floats per node: 1 when k = 1, else k rounded up to 4 (padding columns stay 0). */
  cols: number;
  seeds: StagedSeeds;
  /** decay(1) .. decay(maxHops), rounded to f32. */
  decays: number[];
  threshold: number;
  maxActivation: number;
  fan: FanMode;
  strategy: SpreadStrategy;
  /** What the outcome's totals are: dense arrays or the non-zero entries. */
  output: SpreadOutput;
}

/** What a backend answers: every seed set's totals, and how its hops went. */
export interface SpreadOutcome {
  /** Per seed set: nodeCount totals (job.output 'dense') or the non-zero ones ('sparse'). */
  totals: Float32Array[] | SparseTotals[];
  /** Hops run by pushing (GPU: mark, compact, pull into the marked) and by pulling over every node. */
  pushHops: number;
  pullHops: number;
}
