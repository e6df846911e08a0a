// Activation spreading on the GPU (kernels/spread.wgsl): the graph resident on the device (both
// CSRs, 1 / fan per mode, the high in-degree nodes), and one call recorded as one submission:
// the seeds, then per hop plan / mark / size / pull / heavy / build / clear, each hop choosing on
// the device between marking its frontier's targets and pulling into those only (sparse), and
// pulling into every node (dense), with indirect dispatches sized by the device itself.
import type { CpuMemory } from '../cpu/cpu-memory.js';
import { BufferUsage, MAX_WORKGROUPS_PER_DIMENSION } from '../gpu/constants.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import { listColumn } from './sparse.js';
import { PUSH_PULL_CROSSOVER, pushLimit } from './strategy.js';
import type { FanMode, SpreadGraph, SpreadJob, SpreadOutcome } from './types.js';

/** In-degree from which a dense hop sums a node with a whole workgroup (kernels/spread.wgsl). */
const HEAVY_IN_DEGREE = 256;
/** GPUBufferUsage.INDIRECT (constants.ts lists the others). */
const INDIRECT = 0x0100;
/** u32 dispatch sizes per hop: mark, pull, heavy, build, clear (x, y, z each). */
const ARGS_PER_HOP = 15;
const ARGS = { mark: 0, pull: 3, heavy: 6, build: 9, clear: 12 } as const;
const STRATEGY_CODE = { auto: 0, push: 1, pull: 2 } as const;

/** What spreading needs of the GPU backend (GpuBackend passes its own). */
export interface GpuSpreadHost {
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  readonly memory: CpuMemory;
  /** A pooled buffer owned by the call being recorded. */
  acquire(bytes: number, usage: number, label: string): GPUBuffer;
  /** A pooled result buffer (NaN-filled first when outputs are poisoned). */
  output(bytes: number, label: string): GPUBuffer;
  /** writeBuffer from WASM memory. */
  writeFromMemory(buffer: GPUBuffer, offset: number, ptr: number, bytes: number): void;
  /** Throws an out-of-memory GpuError when `bytes` exceed one storage binding. */
  assertBindable(bytes: number, what: string): void;
}

/** A recorded call (GpuBackend's Recorded): what to submit, what to read back, how to finish. */
export interface RecordedCall<T> {
  encoder: GPUCommandEncoder;
  readback?: { bytes: number; copies: Array<{ buffer: GPUBuffer; bytes: number }> };
  finish: (data: ArrayBuffer | null) => T;
}

/** A graph on the device. */
interface DeviceGraph {
  inOffsets: GPUBuffer;
  inSources: GPUBuffer;
  inWeights: GPUBuffer;
  outOffsets: GPUBuffer;
  outTargets: GPUBuffer;
  heavyNodes: GPUBuffer;
  heavyCount: number;
  fanInverse: Map<FanMode, GPUBuffer>;
}

/** The GPU backend's spreading. */
export class GpuSpreading {
  private readonly host: GpuSpreadHost;
  private readonly graphs = new Map<number, DeviceGraph>();

  constructor(host: GpuSpreadHost) {
    this.host = host;
  }

  /** Record one call (run by GpuBackend.run inside its error scopes). */
  record(job: SpreadJob): RecordedCall<SpreadOutcome> {
    const { host } = this;
    const { device } = host;
    const { graph, cols, k, seeds } = job;
    const n = graph.nodeCount;
    const hops = job.decays.length;
    const count = n * cols;
    host.assertBindable(count * 4, 'the activations of the seed sets');
    host.assertBindable(n * 12, 'the frontier lists');
    const g = this.resident(graph);
    const fan = this.fanInverse(graph, g, job.fan);
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_DST;
    const ga = host.acquire(count * 4, storage, 'spread g');
    const gb = host.acquire(count * 4, storage, 'spread g');
    const total = host.output(count * 4, 'totals');
    const lists = host.acquire(n * 12, storage, 'frontier lists');
    const mark = host.acquire(n * 4, storage, 'marks');
    const countersBytes = (hops + 1) * 16;
    const counters = host.acquire(countersBytes, storage | BufferUsage.COPY_SRC, 'spread counters');
    const args = host.acquire((hops + 1) * ARGS_PER_HOP * 4, BufferUsage.STORAGE | INDIRECT | BufferUsage.COPY_DST, 'dispatch sizes');
    // Labelled 'activation' as the seed activations were before (test/faults.test.ts corrupts those).
    const seedValues = host.acquire(Math.max(16, seeds.values.byteLength), storage, 'activation');
    const encoder = device.createCommandEncoder();
    for (const buffer of [ga, gb, total, mark, counters]) encoder.clearBuffer(buffer);
    // The seeds: their nodes as hop 0's frontier (at list A), their count and out-edges.
    const lists0 = [0, n, 2 * n];
    if (seeds.nodes.length > 0) {
      device.queue.writeBuffer(lists, 0, seeds.nodes as Uint32Array<ArrayBuffer>);
      device.queue.writeBuffer(seedValues, 0, seeds.values as Float32Array<ArrayBuffer>);
    }
    const constants = { COLS: cols, HEAVY: HEAVY_IN_DEGREE };
    const pipeline = (entry: string) => host.pipelines.get('spread', 'f32', constants, entry);
    const limit = pushLimit(graph, PUSH_PULL_CROSSOVER.gpu);
    const paramsFor = (hop: number, listCur: number, listNext: number, decay: number) => {
      const buffer = host.acquire(64, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'params');
      const data = new ArrayBuffer(64);
      new Uint32Array(data, 0, 12).set([n, hop, g.heavyCount, Math.min(limit, 0xffffffff), STRATEGY_CODE[job.strategy],
        listCur, listNext, lists0[2]!, 0, seeds.nodes.length, k, 0]);
      new Float32Array(data, 48, 4).set([decay, job.threshold, job.maxActivation, 0]);
      device.queue.writeBuffer(buffer, 0, data);
      return buffer;
    };
    // Hop 0's counters: the seed frontier (the counters buffer is cleared by the encoder first,
    // so these go in through a tiny copy after it).
    const start = host.acquire(16, BufferUsage.COPY_SRC | BufferUsage.COPY_DST, 'spread start');
    device.queue.writeBuffer(start, 0, Uint32Array.from([seeds.nodes.length, Math.min(seeds.edges, 0xffffffff), 0, 0]));
    encoder.copyBufferToBuffer(start, 0, counters, 0, 16);
    const shared = { 0: g.inOffsets, 1: g.inSources, 2: g.inWeights, 3: g.outOffsets, 4: g.outTargets, 5: fan,
      8: total, 9: lists, 10: mark, 11: counters, 12: args, 13: g.heavyNodes, 14: seedValues };
    const pass = encoder.beginComputePass();
    const dispatch = (entry: string, buffers: Record<number, GPUBuffer>, size: number | [GPUBuffer, number]) => {
      const p = pipeline(entry);
      pass.setPipeline(p);
      pass.setBindGroup(0, this.bindGroup(p, entry, buffers));
      if (typeof size === 'number') pass.dispatchWorkgroups(size);
      else pass.dispatchWorkgroupsIndirect(size[0], size[1]);
    };
    if (seeds.nodes.length > 0) {
      dispatch('seed', { ...shared, 6: ga, 15: paramsFor(0, lists0[0]!, lists0[1]!, 0) },
        Math.min(Math.ceil(seeds.nodes.length / 64), MAX_WORKGROUPS_PER_DIMENSION));
    }
    let [cur, next] = [ga, gb];
    let [listCur, listNext] = [lists0[0]!, lists0[1]!];
    job.decays.forEach((decay, index) => {
      const hop = index + 1;
      const buffers = { ...shared, 6: cur, 7: next, 15: paramsFor(hop, listCur, listNext, decay) };
      const at = (slot: number) => [args, (hop * ARGS_PER_HOP + slot) * 4] as [GPUBuffer, number];
      dispatch('plan', buffers, 1);
      dispatch('mark', buffers, at(ARGS.mark));
      dispatch('size', buffers, 1);
      dispatch('pull', buffers, at(ARGS.pull));
      if (g.heavyCount > 0) dispatch('heavy', buffers, at(ARGS.heavy));
      dispatch('build', buffers, at(ARGS.build));
      dispatch('clear', buffers, at(ARGS.clear));
      [cur, next] = [next, cur];
      [listCur, listNext] = [listNext, listCur];
    });
    pass.end();
    return {
      encoder,
      readback: { bytes: count * 4 + countersBytes, copies: [{ buffer: total, bytes: count * 4 }, { buffer: counters, bytes: countersBytes }] },
      finish: (data) => {
        const totals = new Float32Array(data!, 0, count);
        const modes = new Uint32Array(data!, count * 4, (hops + 1) * 4);
        let pushHops = 0, pullHops = 0;
        for (let h = 1; h <= hops; h++) {
          if (modes[h * 4 + 3] === 1) pushHops++;
          else if (modes[h * 4 + 3] === 2) pullHops++;
        }
        const sets = job.output === 'sparse'
          ? Array.from({ length: k }, (_, j) => listColumn(totals, n, cols, j))
          : columns(totals, n, cols, k);
        return { totals: sets, pushHops, pullHops };
      },
    };
  }

  /** Forget a disposed graph's device copy. */
  releaseGraph(graphId: number): void {
    const g = this.graphs.get(graphId);
    if (!g) return;
    for (const buffer of [g.inOffsets, g.inSources, g.inWeights, g.outOffsets, g.outTargets, g.heavyNodes, ...g.fanInverse.values()]) {
      buffer.destroy();
    }
    this.graphs.delete(graphId);
  }

  /** Forget every graph (the backend is disposed). */
  releaseAll(): void {
    for (const id of [...this.graphs.keys()]) this.releaseGraph(id);
  }

  /** The graph on the device (both CSRs, the high in-degree nodes), uploaded once. */
  private resident(graph: SpreadGraph): DeviceGraph {
    let g = this.graphs.get(graph.id);
    if (g) return g;
    const { host } = this;
    const n = graph.nodeCount;
    const e = Math.max(1, graph.edgeCount);
    host.assertBindable(e * 4, 'the graph\'s edges');
    const u32 = host.memory.arena.u32;
    const offsets = u32.subarray(graph.inOffsets >>> 2, (graph.inOffsets >>> 2) + n + 1);
    const heavy: number[] = [];
    for (let v = 0; v < n; v++) if (offsets[v + 1]! - offsets[v]! >= HEAVY_IN_DEGREE) heavy.push(v);
    const made: GPUBuffer[] = [];
    try {
      const upload = (ptr: number, bytes: number, label: string) => {
        const buffer = this.create(bytes, label);
        made.push(buffer);
        host.writeFromMemory(buffer, 0, ptr, Math.ceil(bytes / 4) * 4);
        return buffer;
      };
      const heavyNodes = this.create(Math.max(1, heavy.length) * 4, 'graph heavy nodes');
      made.push(heavyNodes);
      host.device.queue.writeBuffer(heavyNodes, 0, Uint32Array.from(heavy.length ? heavy : [0]));
      g = {
        inOffsets: upload(graph.inOffsets, (n + 1) * 4, 'graph in-offsets'),
        inSources: upload(graph.inSources, graph.edgeCount * 4, 'graph sources'),
        inWeights: upload(graph.inWeights, graph.edgeCount * 4, 'graph weights'),
        outOffsets: upload(graph.outOffsets, (n + 1) * 4, 'graph out-offsets'),
        outTargets: upload(graph.outTargets, graph.edgeCount * 4, 'graph targets'),
        heavyNodes,
        heavyCount: heavy.length,
        fanInverse: new Map(),
      };
    } catch (error) {
      for (const buffer of made) buffer.destroy();
      throw error;
    }
    this.graphs.set(graph.id, g);
    return g;
  }

  /** 1 / fan(u) on the device: the CPU's f32 values, uploaded once per mode. */
  private fanInverse(graph: SpreadGraph, g: DeviceGraph, mode: FanMode): GPUBuffer {
    let buffer = g.fanInverse.get(mode);
    if (!buffer) {
      buffer = this.create(graph.nodeCount * 4, `graph 1/fan ${mode}`);
      this.host.writeFromMemory(buffer, 0, graph.fanInverse(mode), graph.nodeCount * 4);
      g.fanInverse.set(mode, buffer);
    }
    return buffer;
  }

  private create(bytes: number, label: string): GPUBuffer {
    return this.host.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST, label });
  }

  /** A bind group of the bindings the pipeline uses (its 'auto' layout lists no others). */
  private bindGroup(pipeline: GPUComputePipeline, entry: string, buffers: Record<number, GPUBuffer>): GPUBindGroup {
    const used = BINDINGS[entry]!;
    return this.host.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: used.map((binding) => ({ binding, resource: { buffer: buffers[binding]! } })),
    });
  }
}

/** The bindings each entry point of kernels/spread.wgsl reads or writes (15: params). */
const BINDINGS: Record<string, number[]> = {
  seed: [5, 6, 8, 9, 14, 15],
  plan: [11, 12, 15],
  mark: [3, 4, 9, 10, 11, 15],
  size: [11, 12, 15],
  pull: [0, 1, 2, 5, 6, 7, 8, 9, 11, 15],
  heavy: [0, 1, 2, 5, 6, 7, 8, 13, 15],
  build: [3, 7, 9, 10, 11, 15],
  clear: [6, 9, 11, 15],
};

/** Each seed set's column of the interleaved totals (n x cols) as its own array. */
function columns(totals: Float32Array, n: number, cols: number, k: number): Float32Array[] {
  if (cols === 1) return [totals.slice()];
  return Array.from({ length: k }, (_, j) => {
    const column = new Float32Array(n);
    for (let v = 0; v < n; v++) column[v] = totals[v * cols + j]!;
    return column;
  });
}
