// Activation spreading on the CPU: the hop loop over the WASM kernels (asm/spread.ts), each hop
// pushed from the frontier or pulled over every node (strategy.ts), pull hops shared out across
// the worker pool by node ranges. One loop (a generator of kernel-call steps) serves both the
// pooled path and the synchronous one-thread path (the GPU cross-check re-runs jobs with it).
import type { CpuMemory } from '../cpu/cpu-memory.js';
import type { WasmArena } from '../cpu/arena.js';
import type { KernelCall } from '../cpu/pool.js';
import { splitByEdges } from './partition.js';
import { lightBudget } from './prune.js';
import { SpreadScratch } from './scratch.js';
import { cpuCrossover, hopDirection, pushLimit } from './strategy.js';
import type { SparseTotals, SpreadJob, SpreadOutcome } from './types.js';

/** How a step runs: `parts` shares, the first one on this thread when `here` (cpu-backend's Plan). */
export interface ExecPlan {
  parts: number;
  here: boolean;
}

/** What spreading needs of the CPU backend: its threads (CpuBackend's plan and execute). */
export interface CpuExecutor {
  /** Parts and placement for a step of `work` bytes. */
  plan(work: number): ExecPlan;
  /** Run the parts (see CpuBackend.execute; spreading never asks for a re-run). */
  execute(plan: ExecPlan, rerun: boolean, parts: KernelCall[][]): number[][] | Promise<number[][]>;
  /** Whether an error is the pool failing (the job then starts over on this thread). */
  isPoolFailure(error: unknown): boolean;
}

/** One step of the hop loop: kernel calls in parts, and how to run them. */
interface Step {
  plan: ExecPlan;
  parts: KernelCall[][];
}

const INLINE: ExecPlan = { parts: 1, here: true };

/** spreadHopPull's mode bits (asm/spread.ts): gNext may be stale on entry; g' is not needed (last hop). */
const GNEXT_DIRTY = 1;
const DROP_G = 2;

/** Clean scratch blocks kept per graph between calls (the most recent ones). */
const CACHED_SCRATCH = 2;

/** The CPU backend's spreading. */
export class CpuSpreading {
  private readonly memory: CpuMemory;
  private readonly exec: CpuExecutor;
  private readonly cache = new Map<number, SpreadScratch[]>();

  constructor(memory: CpuMemory, exec: CpuExecutor) {
    this.memory = memory;
    this.exec = exec;
  }

  /**
   * Run a job, pull hops over the pool when large enough. A hop adds into the totals, so a part
   * cannot simply be run again: if the pool fails during the job, the whole job starts again on
   * this thread from its seeds (with fresh blocks: the ones in use may be half written).
   */
  async spread(job: SpreadJob): Promise<SpreadOutcome> {
    const scratch = this.take(job);
    const steps = this.steps(job, scratch, true);
    try {
      let step = steps.next();
      while (!step.done) {
        const pending = this.exec.execute(step.value.plan, false, step.value.parts);
        step = steps.next(pending instanceof Promise ? await pending : pending);
      }
      this.put(job, scratch);
      return step.value;
    } catch (error) {
      abandon(steps, scratch);
      if (!this.exec.isPoolFailure(error)) throw error;
      return this.spreadNow(job);
    }
  }

  /** Run a job on this thread, synchronously. */
  spreadNow(job: SpreadJob): SpreadOutcome {
    const scratch = this.take(job);
    const steps = this.steps(job, scratch, false);
    try {
      let step = steps.next();
      while (!step.done) step = steps.next(step.value.parts.map((calls) => this.runHere(calls)));
      this.put(job, scratch);
      return step.value;
    } catch (error) {
      abandon(steps, scratch);
      throw error;
    }
  }

  /** Free the blocks kept for a graph (it was disposed). */
  releaseGraph(graphId: number): void {
    for (const scratch of this.cache.get(graphId) ?? []) scratch.free();
    this.cache.delete(graphId);
  }

  /** Bytes of scratch kept now for a graph. */
  scratchBytes(graphId: number): number {
    return (this.cache.get(graphId) ?? []).reduce((sum, s) => sum + s.bytes, 0);
  }

  private take(job: SpreadJob): SpreadScratch {
    const list = this.cache.get(job.graph.id);
    const at = list ? list.findIndex((s) => s.cols === job.cols) : -1;
    if (at >= 0) return list!.splice(at, 1)[0]!;
    return new SpreadScratch(this.memory.arena, job.graph.nodeCount, job.cols);
  }

  private put(job: SpreadJob, scratch: SpreadScratch): void {
    let list = this.cache.get(job.graph.id);
    if (!list) this.cache.set(job.graph.id, (list = []));
    list.push(scratch);
    while (list.length > CACHED_SCRATCH) list.shift()!.free();
  }

  private runHere(calls: KernelCall[]): number[] {
    const kernels = this.memory.kernels as unknown as Record<string, (...args: number[]) => number | undefined>;
    return calls.map(([name, ...args]) => kernels[name]!(...args) ?? 0);
  }

  /**
   * The hop loop. The frontier (nodes with a non-zero activation in any column, ascending) and
   * its out-edge count decide each hop's direction; `ever` lists every node whose total may be
   * non-zero (seeds and frontiers), so that the totals are read out and cleared in O(touched),
   * unless it outgrows the node count (then every node is read). Yields kernel-call steps and
   * gets back their results; returns the totals. Leaves `scratch` clean.
   *
   * After a pull hop its input g is cleared at once only when it is listed and small; a large one
   * is left in `acc` (accDirty) for the next pull to overwrite row by row (GNEXT_DIRTY: the
   * kernel's stores instead of a pass over n x cols floats here, on this thread, between hops),
   * and cleared whole only before a push or at the end. The last hop's g' is never read: a last
   * pull stores none (DROP_G) and leaves its gNext zero.
   */
  private *steps(job: SpreadJob, s: SpreadScratch, pooled: boolean): Generator<Step, SpreadOutcome, number[][]> {
    const { graph, cols, seeds } = job;
    const { arena, kernels } = this.memory;
    const n = graph.nodeCount;
    const fan = graph.fanInverse(job.fan);
    const bound = graph.outWeightBound();
    const bits = Math.max(1, 32 - Math.clz32(n - 1));
    let count = seeds.nodes.length;
    // Push work: the frontier's out-edges, summed over the seed sets each node is active in.
    let work = seeds.setEdges;
    const crossover = cpuCrossover(n, cols);
    arena.u32.set(seeds.nodes, s.frontier >>> 2);
    const staged = arena.alloc(Math.max(16, seeds.values.byteLength));
    try {
      arena.f32.set(seeds.values, staged >>> 2);
      kernels.spreadStart(s.frontier, count, staged, s.g, s.total, fan, cols, job.maxActivation);
    } finally {
      arena.free(staged);
    }
    arena.u32.copyWithin(s.ever >>> 2, s.frontier >>> 2, (s.frontier >>> 2) + count);
    let everCount = count;
    let dense = false;
    /** Whether the frontier is listed (false after a pull hop left more than its cap). */
    let listed = true;
    let pushHops = 0;
    let pullHops = 0;
    /** Whether acc may hold a stale g (see above); whether g may be non-zero outside what the frontier lists. */
    let accDirty = false;
    let gClean = false;
    const common = [job.threshold, job.maxActivation, s.info] as const;
    for (let h = 0; h < job.decays.length; h++) {
      const decay = job.decays[h]!;
      if (count === 0) break; // the frontier died out: no later hop adds anything
      if (hopDirection(job.strategy, work, graph, crossover) === 'push') {
        pushHops++;
        if (accDirty) this.clearAll(s.acc, n, cols);
        accDirty = false;
        const plan = pooled ? onePart(this.exec.plan(work * 8)) : INLINE;
        const out = [graph.outOffsets, graph.outTargets, graph.outWeights, fan, s.g, s.acc, s.total, s.frontier, count, s.next, s.marks] as const;
        const light = [bound, lightBudget(job.threshold, decay, graph.maxInDegree)] as const;
        // K > 1: one list per seed set, of up to `count` nodes each, and their sizes.
        const lists = cols === 1 ? 0 : arena.alloc(Math.max(16, job.k * (count + 1) * 4));
        let kept: number;
        try {
          [[kept]] = (yield {
            plan,
            parts: [[cols === 1
              ? ['spreadHopPush', ...out, ...light, decay, ...common]
              : ['spreadHopPushSets', ...out, s.live, s.touched, lists, cols, job.k, ...light, decay, ...common]]],
          }) as [[number]];
        } finally {
          if (lists) arena.free(lists);
        }
        kernels.sortNodes(s.next, kept, s.sortTmp, s.counts, bits);
        count = kept;
        work = arena.u32[(s.info >>> 2) + 1]!;
      } else {
        pullHops++;
        const plan = pooled ? this.exec.plan((graph.edgeCount + n) * cols * 8) : INLINE;
        const ranges = splitByEdges(arena.u32.subarray(graph.inOffsets >>> 2, (graph.inOffsets >>> 2) + n + 1), plan.parts);
        // A frontier of more than `cap` nodes has more than the push limit of edges out (sinks
        // aside): the next hop pulls whatever, and its list is not needed.
        const last = h === job.decays.length - 1;
        // Forced pull: no push follows. The last hop: none follows, and once every node is read at
        // the end (dense) its list serves nothing either.
        const cap = job.strategy === 'pull' || (last && dense) ? 0 : Math.min(n, pushLimit(graph, crossover) + graph.sinkCount);
        const mode = (accDirty ? GNEXT_DIRTY : 0) | (last ? DROP_G : 0);
        const results = yield {
          plan,
          parts: ranges.map(([a, b], p) => [['spreadHopPull', graph.inOffsets, graph.inSources, graph.inWeights, graph.outOffsets,
            fan, s.g, s.acc, s.total, a, b, cols, decay, job.threshold, job.maxActivation, s.next + a * 4, cap, s.info + p * 8, mode]]),
        };
        const u32 = arena.u32;
        let at = 0;
        work = 0;
        for (let p = 0; p < ranges.length; p++) {
          at += results[p]![0]!;
          work += u32[(s.info >>> 2) + p * 2 + 1]!;
        }
        // The input g: cleared now when listed and few, else left for the next pull (or a push,
        // or the end) to clear whole.
        const few = listed && count * 8 <= n;
        if (few) this.memory.kernels.clearRows(s.g, s.frontier, count, cols);
        s.swapRows();
        accDirty = !few;
        gClean = last;
        count = at;
        listed = at <= cap;
        if (listed) {
          // Each part listed its active nodes from its range's start: close the gaps.
          let to = 0;
          ranges.forEach(([a], p) => {
            const kept = results[p]![0]!;
            if (to !== a) u32.copyWithin((s.next >>> 2) + to, (s.next >>> 2) + a, (s.next >>> 2) + a + kept);
            to += kept;
          });
          // K = 1: the kernel leaves the out-edges to us; counted only up to where push cannot win.
          if (cols === 1 && !last) work = frontierEdges(u32.subarray(s.next >>> 2, (s.next >>> 2) + at), graph.outDegree, pushLimit(graph, crossover));
        } else {
          work = Infinity;
        }
      }
      s.swapFrontier();
      if (listed && !dense && everCount + count <= n) {
        arena.u32.copyWithin((s.ever >>> 2) + everCount, s.frontier >>> 2, (s.frontier >>> 2) + count);
        everCount += count;
      } else {
        dense = true;
      }
    }
    if (!gClean) this.clear(s.g, s.frontier, listed ? count : n, n, cols);
    if (accDirty) this.clearAll(s.acc, n, cols);
    // One column: read densely (one copy) once the listed nodes would touch most pages of the
    // array anyway. More columns: the dense read transposes n x cols floats in JS (~7 ms for
    // 118k x 16 here), never cheaper than the rows of the listed nodes (at most n of them).
    // Sparse output: the listed nodes, deduplicated and sorted, unless they are a good share of
    // every node (then one pass over all nodes lists them in order).
    const totals = job.output === 'sparse'
      ? this.readSparse(job, s, dense || everCount * 4 > n ? -1 : everCount)
      : this.readTotals(job, s, dense || (cols === 1 && everCount * 64 > n) ? -1 : everCount);
    return { totals, pushHops, pullHops };
  }

  /** Zero the rows of the `count` nodes listed at `list` in `block` (all n rows when that is faster, or count is n). */
  private clear(block: number, list: number, count: number, n: number, cols: number): void {
    if (count * 8 > n) this.clearAll(block, n, cols);
    else this.memory.kernels.clearRows(block, list, count, cols);
  }

  /** Zero a block of n x cols floats. */
  private clearAll(block: number, n: number, cols: number): void {
    this.memory.kernels.clearBlock(block, n * cols * 4);
  }

  /**
   * Each seed set's totals as its own array, and `total` cleared: from the `everCount` nodes
   * listed in `ever` (duplicates allowed), or every node when everCount is -1.
   */
  private readTotals(job: SpreadJob, s: SpreadScratch, everCount: number): Float32Array[] {
    const { k, cols } = job;
    const n = job.graph.nodeCount;
    const { arena, kernels } = this.memory;
    const f32 = arena.f32;
    const t = s.total >>> 2;
    const out = Array.from({ length: k }, () => new Float32Array(n));
    if (everCount < 0) {
      if (cols === 1) out[0]!.set(f32.subarray(t, t + n));
      else {
        for (let j = 0; j < k; j++) {
          const column = out[j]!;
          for (let v = 0; v < n; v++) column[v] = f32[t + v * cols + j]!;
        }
      }
      this.clearAll(s.total, n, cols);
      return out;
    }
    // Only non-zero totals are written: the arrays are fresh (zero), and a page of one that is
    // never written is never touched (a node active in one seed set writes one array, not K).
    const ever = arena.u32.subarray(s.ever >>> 2, (s.ever >>> 2) + everCount);
    if (cols === 1) {
      const column = out[0]!;
      for (let i = 0; i < everCount; i++) {
        const x = f32[t + ever[i]!]!;
        if (x !== 0) column[ever[i]!] = x;
      }
    } else {
      for (let i = 0; i < everCount; i++) {
        const base = t + ever[i]! * cols;
        for (let j = 0; j < k; j++) {
          const x = f32[base + j]!;
          if (x !== 0) out[j]![ever[i]!] = x;
        }
      }
    }
    kernels.clearRows(s.total, s.ever, everCount, cols);
    return out;
  }

  /**
   * The non-zero totals of each seed set, nodes ascending, copied out of WASM memory; `total`
   * cleared. From the listed nodes (deduplicated and sorted) or every node in order: for K > 1 all
   * sets in one pass (listTotalsSets) while their entries fit in `next` and `frontier` (free once
   * the hops are done), else, and for K = 1, one set at a time (listTotals).
   */
  private readSparse(job: SpreadJob, s: SpreadScratch, everCount: number): SparseTotals[] {
    const { k, cols } = job;
    const n = job.graph.nodeCount;
    const { arena, kernels } = this.memory;
    const bits = Math.max(1, 32 - Math.clz32(n - 1));
    const list = everCount < 0 ? 0 : s.ever;
    const count = everCount < 0 ? n : everCount;
    let out: SparseTotals[] | null = null;
    if (k > 1) {
      const sizes = arena.alloc(Math.max(16, k * 8));
      try {
        const pairs = kernels.listTotalsSets(s.total, list, count, cols, k, s.touched, s.next, s.frontier, sizes, n,
          s.marks, s.sortTmp, s.counts, bits);
        if (pairs >= 0) {
          const at = sizes >>> 2;
          const all = copyOut(arena, s.next, s.frontier, pairs);
          out = Array.from({ length: k }, (_, j) => {
            const start = arena.u32[at + k + j]!;
            const end = start + arena.u32[at + j]!;
            return { nodes: all.nodes.subarray(start, end), values: all.values.subarray(start, end) };
          });
        }
      } finally {
        arena.free(sizes);
      }
    }
    if (!out) {
      out = [];
      for (let j = 0; j < k; j++) {
        const got = kernels.listTotals(s.total, list, count, cols, j, s.next, s.frontier, s.marks, s.sortTmp, s.counts, bits);
        out.push({
          nodes: arena.u32.slice(s.next >>> 2, (s.next >>> 2) + got),
          values: arena.f32.slice(s.frontier >>> 2, (s.frontier >>> 2) + got),
        });
      }
    }
    if (everCount < 0) this.clearAll(s.total, n, cols);
    else kernels.clearRows(s.total, s.ever, everCount, cols);
    return out;
  }
}

/**
 * `count` node ids at `nodes` and their totals at `values` (WASM memory), copied out into one
 * ArrayBuffer (nodes, then values), which every set's arrays view: a typed array of more than 64
 * bytes costs ~1-2 us to allocate here (V8 puts it outside its heap), a view of one ~0.05 us, and
 * a 16-set call made two arrays per set. (One set keeps its two slices: those of up to 16 entries
 * are on V8's heap, cheaper than an ArrayBuffer.)
 */
function copyOut(arena: WasmArena, nodes: number, values: number, count: number): SparseTotals {
  const buffer = new ArrayBuffer(count * 8);
  const out = { nodes: new Uint32Array(buffer, 0, count), values: new Float32Array(buffer, count * 4, count) };
  out.nodes.set(arena.u32.subarray(nodes >>> 2, (nodes >>> 2) + count));
  out.values.set(arena.f32.subarray(values >>> 2, (values >>> 2) + count));
  return out;
}

/** Out-edges of the listed nodes, counted until they pass `limit` (then limit + 1). */
function frontierEdges(list: Uint32Array, outDegree: Uint32Array, limit: number): number {
  let edges = 0;
  for (let i = 0; i < list.length && edges <= limit; i++) edges += outDegree[list[i]!]!;
  return edges;
}

/**
 * After a failed step: end the loop (its `finally` blocks free what the step held) and free the
 * scratch, which may be half written.
 */
function abandon(steps: Generator<Step, SpreadOutcome, number[][]>, scratch: SpreadScratch): void {
  try {
    steps.return(undefined as unknown as SpreadOutcome);
  } finally {
    scratch.free();
  }
}

/** A push hop is one part: on this thread, or (offMainThread) on one worker. */
function onePart(plan: ExecPlan): ExecPlan {
  return plan.here ? INLINE : { parts: 1, here: false };
}
