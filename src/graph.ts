import type { CpuMemory } from './cpu/cpu-memory.js';
import { HybridError } from './errors.js';
import { assertFloat32Array, describe } from './validate.js';

/** What createGraph takes: edges from[i] -> to[i] with weight[i] (default 1). */
export interface GraphInput {
  nodeCount: number;
  from: Uint32Array;
  to: Uint32Array;
  weight?: Float32Array;
  /** Store each edge u-v (u != v) as u->v and v->u; a self-loop once. */
  undirected?: boolean;
}

/** How a node's outgoing activation is divided: not, by its out-degree, or by its square root. */
export type FanMode = 'none' | 'outDegree' | 'sqrtOutDegree';

let nextGraphId = 1;

/**
 * A directed weighted graph, validated and stored as CSR by target (what the pull kernels read,
 * in WASM memory: offsets, sources, weights, with each node's incoming edges in input order)
 * and by source (in JS: offsets, targets; the out-degrees divide activation for the fan modes).
 * Parallel edges are kept (they add up); self-loops are allowed. Create with `engine.createGraph`.
 */
export class Graph {
  readonly nodeCount: number;
  /** Stored directed edges (an undirected edge u-v with u != v counts twice). */
  readonly edgeCount: number;
  /** @internal */
  readonly id = nextGraphId++;
  /** @internal byte addresses in WASM memory: u32[n + 1], u32[E], f32[E] */
  readonly inOffsets: number;
  /** @internal */
  readonly inSources: number;
  /** @internal */
  readonly inWeights: number;
  /** Out-degree of every node (stored edges leaving it). */
  readonly outDegree: Uint32Array;
  /** CSR by source: the edges leaving node u are outTargets[outOffsets[u] .. outOffsets[u + 1]]. */
  readonly outOffsets: Uint32Array;
  readonly outTargets: Uint32Array;
  private readonly memory: CpuMemory;
  private readonly fanBlocks = new Map<FanMode, number>();
  private readonly released: (graph: Graph) => void;
  private disposed = false;

  /** @internal use engine.createGraph */
  constructor(memory: CpuMemory, input: GraphInput, released: (graph: Graph) => void) {
    this.memory = memory;
    this.released = released;
    const { nodeCount, sources, targets, weights } = expand(input);
    const n = nodeCount;
    const e = sources.length;
    this.nodeCount = n;
    this.edgeCount = e;
    // CSR by target (stable counting sort: incoming edges keep their input order).
    const inOffsets = new Uint32Array(n + 1);
    for (let i = 0; i < e; i++) inOffsets[targets[i]! + 1]!++;
    for (let v = 0; v < n; v++) inOffsets[v + 1]! += inOffsets[v]!;
    const fill = inOffsets.slice(0, n);
    const inSources = new Uint32Array(e);
    const inWeights = new Float32Array(e);
    for (let i = 0; i < e; i++) {
      const at = fill[targets[i]!]!++;
      inSources[at] = sources[i]!;
      inWeights[at] = weights[i]!;
    }
    // CSR by source.
    this.outDegree = new Uint32Array(n);
    for (let i = 0; i < e; i++) this.outDegree[sources[i]!]!++;
    this.outOffsets = new Uint32Array(n + 1);
    for (let u = 0; u < n; u++) this.outOffsets[u + 1] = this.outOffsets[u]! + this.outDegree[u]!;
    const outFill = this.outOffsets.slice(0, n);
    this.outTargets = new Uint32Array(e);
    for (let i = 0; i < e; i++) this.outTargets[outFill[sources[i]!]!++] = targets[i]!;
    // Into WASM memory for the kernels.
    const arena = memory.arena;
    this.inOffsets = arena.alloc((n + 1) * 4);
    this.inSources = arena.alloc(Math.max(1, e) * 4);
    this.inWeights = arena.alloc(Math.max(1, e) * 4);
    arena.u32.set(inOffsets, this.inOffsets >>> 2);
    arena.u32.set(inSources, this.inSources >>> 2);
    arena.f32.set(inWeights, this.inWeights >>> 2);
  }

  /** @internal 1 / fan(u) for every node, in WASM memory (built once per mode). */
  fanInverse(mode: FanMode): number {
    let ptr = this.fanBlocks.get(mode);
    if (ptr === undefined) {
      ptr = this.memory.arena.alloc(Math.max(4, this.nodeCount * 4));
      const values = new Float32Array(this.nodeCount);
      for (let u = 0; u < this.nodeCount; u++) values[u] = fanInverseOf(this.outDegree[u]!, mode);
      this.memory.arena.f32.set(values, ptr >>> 2);
      this.fanBlocks.set(mode, ptr);
    }
    return ptr;
  }

  /** @internal */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal a call starts using the graph */
  retain(): void {
    this.inFlight++;
  }

  /** @internal a call that used the graph settled */
  settle(): void {
    this.inFlight--;
    if (this.disposed && this.inFlight === 0) this.free();
  }

  /**
   * Free the graph (CPU and GPU copies). Further calls throw DISPOSED; calls already running
   * finish first (the memory is freed when the last one settles). Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.inFlight === 0) this.free();
  }

  private inFlight = 0;
  private freed = false;

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    this.released(this);
    const arena = this.memory.arena;
    for (const ptr of [this.inOffsets, this.inSources, this.inWeights, ...this.fanBlocks.values()]) arena.free(ptr);
    this.fanBlocks.clear();
  }
}

/** 1 / fan(u): 1, 1 / outDegree, or 1 / sqrt(outDegree) (a node with no edges out is never read). */
export function fanInverseOf(degree: number, mode: FanMode): number {
  if (mode === 'none' || degree === 0) return 1;
  return mode === 'outDegree' ? 1 / degree : 1 / Math.sqrt(degree);
}

/** Validate, then list the stored directed edges (undirected edges doubled, self-loops once). */
function expand(input: GraphInput): { nodeCount: number; sources: Uint32Array; targets: Uint32Array; weights: Float32Array } {
  if (typeof input !== 'object' || input === null) {
    throw new HybridError('INVALID_ARGUMENT', `createGraph takes { nodeCount, from, to, weight?, undirected? }, got ${describe(input)}`, 'graph');
  }
  for (const key of Object.keys(input)) {
    if (!['nodeCount', 'from', 'to', 'weight', 'undirected'].includes(key)) {
      throw new HybridError('INVALID_ARGUMENT', `graph.${key} is not a known field (known: nodeCount, from, to, weight, undirected)`, key);
    }
  }
  const { nodeCount, from, to, weight, undirected } = input;
  if (typeof nodeCount !== 'number' || !Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 2 ** 31) {
    throw new HybridError('INVALID_ARGUMENT', `nodeCount must be an integer >= 1, got ${describe(nodeCount)}`, 'nodeCount');
  }
  for (const [name, array] of [['from', from], ['to', to]] as const) {
    if (!(array instanceof Uint32Array)) {
      throw new HybridError('INVALID_ARGUMENT', `${name} must be a Uint32Array, got ${describe(array)}`, name);
    }
  }
  if (from.length !== to.length) {
    throw new HybridError('DIMENSION_MISMATCH', `from has ${from.length} edges, to has ${to.length}`, 'to');
  }
  if (weight !== undefined) {
    assertFloat32Array(weight, 'weight');
    if (weight.length !== from.length) {
      throw new HybridError('DIMENSION_MISMATCH', `weight has ${weight.length} values for ${from.length} edges`, 'weight');
    }
  }
  if (undirected !== undefined && typeof undirected !== 'boolean') {
    throw new HybridError('INVALID_ARGUMENT', `undirected must be true or false, got ${describe(undirected)}`, 'undirected');
  }
  for (let i = 0; i < from.length; i++) {
    if (from[i]! >= nodeCount) throw new HybridError('UNKNOWN_NODE', `edge ${i}: from[${i}] = ${from[i]} is not a node (nodeCount ${nodeCount})`, 'from');
    if (to[i]! >= nodeCount) throw new HybridError('UNKNOWN_NODE', `edge ${i}: to[${i}] = ${to[i]} is not a node (nodeCount ${nodeCount})`, 'to');
    if (weight && !Number.isFinite(weight[i]!)) {
      throw new HybridError('NON_FINITE', `edge ${i}: weight[${i}] is ${weight[i]}: every weight must be finite`, 'weight');
    }
  }
  const weights = weight ?? new Float32Array(from.length).fill(1);
  if (!undirected) return { nodeCount, sources: from, targets: to, weights };
  let count = 0;
  for (let i = 0; i < from.length; i++) count += from[i] === to[i] ? 1 : 2;
  const sources = new Uint32Array(count);
  const targets = new Uint32Array(count);
  const doubled = new Float32Array(count);
  let at = 0;
  for (let i = 0; i < from.length; i++) {
    sources[at] = from[i]!; targets[at] = to[i]!; doubled[at++] = weights[i]!;
    if (from[i] !== to[i]) { sources[at] = to[i]!; targets[at] = from[i]!; doubled[at++] = weights[i]!; }
  }
  return { nodeCount, sources, targets, weights: doubled };
}
