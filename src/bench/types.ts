// The shapes of the benchmark suite: modules yield groups of tasks timed on the same data; the
// runner times them with tinybench and reports figures. See runner.ts for how they run.
import type { BackendChoice } from '../types.js';
import type { HybridEngine } from '../engine.js';

/** Our implementation's name in figures; every other implementation is a peer. */
export const OURS = 'hybrid-similarity';

/** One timed call: ours on a backend, or a peer's. */
export interface BenchTask {
  /** OURS, or the peer's name (e.g. 'usearch'). */
  implementation: string;
  /** Our backend; absent for peers. */
  backend?: BackendChoice;
  /** The call timed (awaited when it returns a promise). */
  fn: () => unknown;
  /** Said beside the figure (e.g. 'software adapter: checks the harness, not GPU speed'). */
  note?: string;
}

/** Tasks timed one after another on the same data, after their results were checked. */
export interface BenchGroup {
  /** What is timed, e.g. 'search top-10', 'cosineSimilarity'. With shape and implementation it names a figure. */
  operation: string;
  /** The batch size the router sees: cosine, queries x rows; spreading, nodes x seed sets. */
  batch: number;
  /** What the batch counts, e.g. 'rows (one query)', 'queries x rows', 'nodes x seed sets'. */
  batchUnit: string;
  /** The shape in words, e.g. '1 x 65536 x 384'. */
  shape: string;
  /** Which of the router's operations (and so which gpuMinBatchSize) the calls go through. */
  routedAs: 'cosine' | 'spreading';
  tasks: BenchTask[];
}

/** What a module gets from the runner. */
export interface BenchContext {
  engine: HybridEngine;
  quick: boolean;
  /** Largest corpus (rows) a module should build. */
  maxRows: number;
  /** Row length of the cosine sweeps (peers keep their own, 768). */
  dim: number;
  /** The engine's GPU: none, a software rasteriser (lavapipe, SwiftShader), or hardware. */
  gpu: 'none' | 'software' | 'hardware';
  /**
   * Whether to time our GPU backend on calls that read this many bytes: there is a GPU, the data
   * fits its memory budget, and on a software rasteriser the call is small enough not to stall
   * the run (its figures only check the harness).
   */
  timeOnGpu(bytes: number): boolean;
  /** Record a peer that could not be measured, with the reason (shown in the report). */
  missing(implementation: string, reason: string): void;
  /** A progress line (stderr in the CLI). */
  progress(message: string): void;
}

/**
 * A benchmark module: a name and an async generator of groups. Set up data before a `yield`,
 * check every task's results against a float64 reference there (throw a BenchCheckError when
 * ours is wrong; report a wrong peer with `context.missing` and leave it out), and free what
 * the group used after the `yield` returns (the runner has timed the group by then).
 */
export interface BenchModule {
  name: string;
  description: string;
  /** The module's figure groups, made (and their results checked) one at a time. */
  groups(context: BenchContext): AsyncGenerator<BenchGroup, void, void>;
}

/** One figure of the report: an implementation (and backend) on one operation and shape. */
export interface BenchFigure {
  /** `operation | shape | implementation[/backend]`: stable across runs, the baselines' key. */
  id: string;
  module: string;
  operation: string;
  batch: number;
  batchUnit: string;
  shape: string;
  routedAs: 'cosine' | 'spreading';
  implementation: string;
  backend: BackendChoice | null;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Median absolute deviation of the samples (ms). */
  madMs: number;
  samples: number;
  /** Batch items per second at the median. */
  perSecond: number;
  /** Peers: this median over ours (CPU) in the same group; > 1 means ours is that many times faster. */
  vsOurs: number | null;
  note?: string;
}

/** The smallest batch from which the GPU stays faster by gpuSpeedupThreshold, per swept operation. */
export interface Crossover {
  operation: string;
  routedAs: 'cosine' | 'spreading';
  /** null: the GPU never got (and stayed) that much faster in the batches measured. */
  batch: number | null;
  speedupThreshold: number;
  /** The engine's gpuMinBatchSize for this operation (what the run was configured with). */
  gpuMinBatchSize: number;
  /** CPU median over GPU median per batch. */
  speedups: Array<{ batch: number; speedup: number }>;
}

/** The machine a report was measured on. */
export interface MachineDescription {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  wasm: { source: 'url' | 'inline'; bytes: number; simd: boolean };
  gpu: null | {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    /** A CPU emulation (lavapipe, SwiftShader): its figures check the harness, not GPU speed. */
    software: boolean;
    features: string[];
    limits: Record<string, number>;
  };
}

/** What `runSuite` returns (and `hybrid-similarity bench --json` prints). */
export interface SuiteReport {
  schema: 'hybrid-similarity/bench-suite@1';
  date: string;
  quick: boolean;
  durationS: number;
  machine: MachineDescription;
  /** The router settings the run used. */
  config: { gpuMinBatchSize: { cosine: number; spreading: number }; gpuSpeedupThreshold: number };
  /** tinybench settings. */
  timing: { timeMs: number; warmupTimeMs: number; minIterations: number; warmupIterations: number };
  modules: string[];
  rows: BenchFigure[];
  /** Peers (or backends) not measured, with why. */
  missing: Array<{ implementation: string; reason: string }>;
  /** Tasks that threw while being timed. */
  errors: Array<{ id: string; error: string }>;
  crossovers: Crossover[];
}

/** A result of ours that disagrees with the float64 reference: the run stops. */
export class BenchCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchCheckError';
  }
}
