// The graph store: a validated directed weighted graph in the CPU's WASM memory, stored twice:
// by target (what a pull reads) and by source (what a push reads), both in the canonical order
// that fixes every sum (asm/spread.ts).
import type { CpuMemory } from '../cpu/cpu-memory.js';
import { HybridError } from '../errors.js';
import { saveGraphFile } from '../store/format/save.js';
import { graphToBytes } from '../store/format/to-bytes.js';
import type { GraphImage } from '../store/format/types.js';
import { assertFloat32Array, describe } from '../validate.js';
import { byTargetThenSource, expandOffsets, offsetsOf, stableSortBy } from './csr-build.js';
import type { FanMode } from './types.js';

/** What createGraph takes: edges from[i] -> to[i] with weight[i] (default 1). */
export interface GraphInput {
  nodeCount: number;
  from: Uint32Array;
  to: Uint32Array;
  weight?: Float32Array;
  /** Store each edge u-v (u != v) as u->v and v->u; a self-loop once. */
  undirected?: boolean;
}

/**
 * @internal
 * A graph's stored edges in the canonical order: the CSR by target, each node's incoming edges by
 * ascending source, parallel edges in input order (what `Graph.canonicalEdges` exports and
 * `Graph.fromCanonical` rebuilds an identical graph from; issue 15 saves and loads these).
 */
export interface CanonicalEdges {
  nodeCount: number;
  /** u32[nodeCount + 1]: node v's incoming edges are offsets[v] .. offsets[v + 1]. */
  offsets: Uint32Array;
  /** u32[E]: the source of each incoming edge. */
  sources: Uint32Array;
  /** f32[E]: its weight. */
  weights: Float32Array;
}

let nextGraphId = 1;

/**
 * A directed weighted graph, validated and stored in WASM memory as two CSRs: by target (offsets,
 * sources, weights; each node's incoming edges by ascending source, parallel edges in input order)
 * and by source (offsets, targets, weights; each node's outgoing edges by ascending target,
 * parallel edges in input order). That order is the one every activation sum follows, whichever
 * way a hop goes. Parallel edges are kept (they add up); self-loops are allowed. Create with
 * `engine.createGraph`. (It is the SpreadGraph the backends read.)
 */
export class Graph {
  readonly nodeCount: number;
  /** Stored directed edges (an undirected edge u-v with u != v counts twice). */
  readonly edgeCount: number;
  /** @internal */
  readonly id = nextGraphId++;
  /** Out-degree of every node (stored edges leaving it). */
  readonly outDegree: Uint32Array;
  /** @internal nodes with no edge out */
  readonly sinkCount: number;
  /** @internal byte addresses in WASM memory: u32[n + 1], u32[E], f32[E] (by target) */
  readonly inOffsets: number;
  /** @internal */
  readonly inSources: number;
  /** @internal */
  readonly inWeights: number;
  /** @internal byte addresses in WASM memory: u32[n + 1], u32[E], f32[E] (by source) */
  readonly outOffsets: number;
  /** @internal */
  readonly outTargets: number;
  /** @internal */
  readonly outWeights: number;
  private readonly memory: CpuMemory;
  private readonly fanBlocks = new Map<FanMode, number>();
  /** f32[n]: the largest |weight| out of each node (built on first use), or -1. */
  private boundBlock = -1;
  /** @internal the most edges into one node */
  readonly maxInDegree: number;
  private readonly released: (graph: Graph) => void;
  private disposed = false;
  private inFlight = 0;
  private freed = false;

  /** @internal use engine.createGraph (fromInput) or fromCanonical */
  private constructor(memory: CpuMemory, csr: BothCsrs, released: (graph: Graph) => void) {
    this.memory = memory;
    this.released = released;
    const n = csr.in.offsets.length - 1;
    this.nodeCount = n;
    this.edgeCount = csr.in.sources.length;
    this.outDegree = new Uint32Array(n);
    let sinks = 0;
    for (let u = 0; u < n; u++) {
      this.outDegree[u] = csr.out.offsets[u + 1]! - csr.out.offsets[u]!;
      if (this.outDegree[u] === 0) sinks++;
    }
    this.sinkCount = sinks;
    let most = 0;
    for (let v = 0; v < n; v++) most = Math.max(most, csr.in.offsets[v + 1]! - csr.in.offsets[v]!);
    this.maxInDegree = most;
    const arena = memory.arena;
    const blocks: number[] = [];
    const put = (data: Uint32Array | Float32Array) => {
      const ptr = arena.alloc(Math.max(4, data.byteLength));
      blocks.push(ptr);
      if (data instanceof Uint32Array) arena.u32.set(data, ptr >>> 2);
      else arena.f32.set(data, ptr >>> 2);
      return ptr;
    };
    try {
      this.inOffsets = put(csr.in.offsets);
      this.inSources = put(csr.in.sources);
      this.inWeights = put(csr.in.weights);
      this.outOffsets = put(csr.out.offsets);
      this.outTargets = put(csr.out.targets);
      this.outWeights = put(csr.out.weights);
    } catch (error) {
      for (const ptr of blocks) arena.free(ptr);
      throw error;
    }
  }

  /** @internal a graph from createGraph's input (validated; see GraphInput). */
  static fromInput(memory: CpuMemory, input: GraphInput, released: (graph: Graph) => void): Graph {
    const { nodeCount, sources, targets, weights } = expand(input);
    return new Graph(memory, bothCsrs(byTargetThenSource({ sources, targets, weights }, nodeCount), nodeCount), released);
  }

  /**
   * @internal
   * A graph rebuilt from `canonicalEdges()` of another: the same CSRs in and out, so the same
   * results bit for bit. Checked (offsets, node ids, the order, finite weights): INVALID_ARGUMENT
   * names what is wrong.
   */
  static fromCanonical(memory: CpuMemory, edges: CanonicalEdges, released: (graph: Graph) => void): Graph {
    assertCanonical(edges);
    const sorted = { sources: edges.sources, targets: expandOffsets(edges.offsets), weights: edges.weights };
    return new Graph(memory, bothCsrs(sorted, edges.nodeCount), released);
  }

  /** @internal copies of the stored edges in the canonical order (see CanonicalEdges). */
  canonicalEdges(): CanonicalEdges {
    const arena = this.memory.arena;
    const e = this.edgeCount;
    return {
      nodeCount: this.nodeCount,
      offsets: arena.u32.slice(this.inOffsets >>> 2, (this.inOffsets >>> 2) + this.nodeCount + 1),
      sources: arena.u32.slice(this.inSources >>> 2, (this.inSources >>> 2) + e),
      weights: arena.f32.slice(this.inWeights >>> 2, (this.inWeights >>> 2) + e),
    };
  }

  /**
   * @internal bytes the two CSRs take in WASM memory: by target (n + 1) * 4 + 8E, by source the
   * same (plus 4n per fan mode used, and the JS out-degrees, 4n).
   */
  get storedBytes(): number {
    return 2 * ((this.nodeCount + 1) * 4 + this.edgeCount * 8);
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

  /**
   * @internal per node, the most its out-edges can carry into one target: the largest sum of
   * |weight| over its (parallel) edges to one node, rounded up (0 for a node with none), in WASM
   * memory, built on first use: a push hop's light-source test (src/spreading/prune.ts).
   */
  outWeightBound(): number {
    if (this.boundBlock < 0) {
      const arena = this.memory.arena;
      const ptr = arena.alloc(Math.max(4, this.nodeCount * 4));
      const offsets = arena.u32.subarray(this.outOffsets >>> 2, (this.outOffsets >>> 2) + this.nodeCount + 1);
      const weights = arena.f32.subarray(this.outWeights >>> 2, (this.outWeights >>> 2) + this.edgeCount);
      const targets = arena.u32.subarray(this.outTargets >>> 2, (this.outTargets >>> 2) + this.edgeCount);
      const bound = new Float32Array(this.nodeCount);
      for (let u = 0; u < this.nodeCount; u++) {
        // Parallel edges add up into one target: the bound is the largest sum of |w| over one
        // target's edges (adjacent: each node's out-edges are by ascending target).
        let most = 0, run = 0;
        for (let e = offsets[u]!; e < offsets[u + 1]!; e++) {
          run = e > offsets[u]! && targets[e] === targets[e - 1] ? run + Math.abs(weights[e]!) : Math.abs(weights[e]!);
          most = Math.max(most, run);
        }
        // Rounded up to f32 (never below the sum).
        bound[u] = Math.fround(most * (1 + 2 ** -23));
      }
      arena.f32.set(bound, ptr >>> 2);
      this.boundBlock = ptr;
    }
    return this.boundBlock;
  }

  /**
   * Write the graph to a file at `path` (Node), atomically (a temporary file, fsync, rename, fsync
   * of the folder: an earlier file at `path` stays whole if anything fails; IO_ERROR with the file
   * system's error as `cause`). `hs.loadGraph` reads it back into a graph that spreads to the same
   * bits. The format: docs/FORMAT.md ("Graph files").
   */
  async save(path: string): Promise<void> {
    if (arguments.length !== 1) throw new HybridError('INVALID_ARGUMENT', `save(path) takes 1 argument, got ${arguments.length}`, 'arguments');
    if (typeof path !== 'string' || path.length === 0) {
      throw new HybridError('INVALID_ARGUMENT', `path must be a non-empty string, got ${describe(path)}`, 'path');
    }
    const image = this.fileImage();
    await saveGraphFile(path, image);
  }

  /** The graph as the bytes of a graph file (the same bytes `save` writes), in every runtime. */
  async toBytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (arguments.length !== 0) throw new HybridError('INVALID_ARGUMENT', `toBytes() takes no arguments, got ${arguments.length}`, 'arguments');
    return graphToBytes(this.fileImage());
  }

  /** What a graph file holds: the canonical edges, copied now (later calls may move WASM memory). */
  private fileImage(): GraphImage {
    if (this.disposed) throw new HybridError('DISPOSED', 'this graph has been disposed', 'graph');
    const { offsets, sources, weights } = this.canonicalEdges();
    return { header: { nodeCount: this.nodeCount, edgeCount: this.edgeCount, options: [] }, offsets, sources, weights };
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

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    this.released(this);
    const arena = this.memory.arena;
    for (const ptr of [this.inOffsets, this.inSources, this.inWeights, this.outOffsets, this.outTargets, this.outWeights,
      ...this.fanBlocks.values()]) arena.free(ptr);
    this.fanBlocks.clear();
    if (this.boundBlock >= 0) arena.free(this.boundBlock);
    this.boundBlock = -1;
  }
}

/** 1 / fan(u): 1, 1 / outDegree, or 1 / sqrt(outDegree) (a node with no edges out is never read). */
export function fanInverseOf(degree: number, mode: FanMode): number {
  if (mode === 'none' || degree === 0) return 1;
  return mode === 'outDegree' ? 1 / degree : 1 / Math.sqrt(degree);
}

/** Stored directed edges, in input order. */
interface EdgeList {
  nodeCount: number;
  sources: Uint32Array;
  targets: Uint32Array;
  weights: Float32Array;
}

/** A graph's two CSRs (what the constructor stores). */
interface BothCsrs {
  in: { offsets: Uint32Array; sources: Uint32Array; weights: Float32Array };
  out: { offsets: Uint32Array; targets: Uint32Array; weights: Float32Array };
}

/**
 * Both CSRs from the edges in the canonical in-order (by target, then source, then input): the
 * CSR by source is a stable sort of that sequence by source, so each source's edges come by
 * ascending target, parallel edges in the same order as in the CSR by target.
 */
function bothCsrs(sorted: { sources: Uint32Array; targets: Uint32Array; weights: Float32Array }, n: number): BothCsrs {
  const inCsr = { offsets: offsetsOf(sorted.targets, n), sources: sorted.sources, weights: sorted.weights };
  const bySource = stableSortBy(sorted, 'sources', n);
  return { in: inCsr, out: { offsets: offsetsOf(bySource.sources, n), targets: bySource.targets, weights: bySource.weights } };
}

/** Check a CanonicalEdges (fromCanonical's input, e.g. read back from a file). */
function assertCanonical(edges: CanonicalEdges): void {
  const bad = (message: string, argument: string) => new HybridError('INVALID_ARGUMENT', `canonical graph: ${message}`, argument);
  const { nodeCount: n, offsets, sources, weights } = edges;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31) throw bad(`nodeCount must be an integer >= 1, got ${describe(n)}`, 'nodeCount');
  if (!(offsets instanceof Uint32Array) || offsets.length !== n + 1) throw bad(`offsets must be a Uint32Array of nodeCount + 1 = ${n + 1}`, 'offsets');
  if (!(sources instanceof Uint32Array)) throw bad('sources must be a Uint32Array', 'sources');
  if (!(weights instanceof Float32Array) || weights.length !== sources.length) throw bad(`weights must be a Float32Array of ${sources.length}`, 'weights');
  if (offsets[0] !== 0 || offsets[n] !== sources.length) throw bad(`offsets must run from 0 to ${sources.length}`, 'offsets');
  for (let v = 0; v < n; v++) {
    if (offsets[v + 1]! < offsets[v]!) throw bad(`offsets[${v + 1}] < offsets[${v}]`, 'offsets');
    for (let i = offsets[v]!; i < offsets[v + 1]!; i++) {
      if (sources[i]! >= n) throw bad(`sources[${i}] = ${sources[i]} is not a node`, 'sources');
      if (i > offsets[v]! && sources[i]! < sources[i - 1]!) throw bad(`node ${v}'s sources are not ascending at ${i}`, 'sources');
      if (!Number.isFinite(weights[i]!)) throw bad(`weights[${i}] is ${weights[i]}`, 'weights');
    }
  }
}

/** Validate, then list the stored directed edges (undirected edges doubled, self-loops once). */
function expand(input: GraphInput): EdgeList {
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
