import type { BackendChoice } from './types.js';
import type { CpuMemory } from './cpu/cpu-memory.js';
import { HybridError } from './errors.js';
import type { FanMode, Graph } from './graph.js';
import { backendOption, describe, optionsObject } from './validate.js';

/** decay(h) for hop h = 1 .. maxHops. A number is a constant factor. */
export type Decay =
  | number
  | { kind: 'exponential'; rate?: number }
  | { kind: 'power'; exponent: number }
  | { kind: 'linear'; slope: number };

/** Options of spreadActivation / spreadActivationBatch (defaults in README, "Activation spreading"). */
export interface SpreadOptions {
  /** Hops (default 4; 0 returns the clamped seeds). */
  maxHops?: number;
  /** Default { kind: 'exponential', rate: 0.7 }: decay(h) = exp(-0.7 h). */
  decay?: Decay;
  /** |c| below it is cut to 0 (default 0.01). */
  threshold?: number;
  /** How a node's activation is divided among its out-edges (default 'none'). */
  fan?: FanMode;
  /** Totals are clamped to [0, maxActivation] (default 1). */
  maxActivation?: number;
  backend?: BackendChoice;
}

/** Initial activations: values[i] at node nodes[i] (duplicates add up). */
export interface SeedSet {
  nodes: Uint32Array;
  values: Float32Array;
}

/** A validated spreading call, its seeds staged in WASM memory. */
export interface SpreadJob {
  graph: Graph;
  /** Seed sets (columns). */
  k: number;
  /** Floats per node: 1 when k = 1, else k rounded up to 4 (padding columns stay 0). */
  cols: number;
  /** Byte address of f0: nodeCount x cols floats. */
  seeds: number;
  /** decay(1) .. decay(maxHops), rounded to f32. */
  decays: number[];
  threshold: number;
  maxActivation: number;
  fan: FanMode;
}

const OPTION_KEYS = ['maxHops', 'decay', 'threshold', 'fan', 'maxActivation', 'backend'];

/** @internal Check the options and resolve decay(h) per hop. */
export function resolveSpreadOptions(options: unknown, seedKey: 'seeds' | 'seedSets') {
  const opts = optionsObject<SpreadOptions & Record<string, unknown>>(options, [...OPTION_KEYS, seedKey]);
  const maxHops = opts.maxHops ?? 4;
  if (typeof maxHops !== 'number' || !Number.isInteger(maxHops) || maxHops < 0 || maxHops > 1000) {
    throw new HybridError('INVALID_ARGUMENT', `maxHops must be an integer in [0, 1000], got ${describe(maxHops)}`, 'maxHops');
  }
  const threshold = opts.threshold ?? 0.01;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
    throw new HybridError('INVALID_ARGUMENT', `threshold must be a finite number >= 0, got ${describe(threshold)}`, 'threshold');
  }
  const maxActivation = opts.maxActivation ?? 1;
  if (typeof maxActivation !== 'number' || !Number.isFinite(maxActivation) || maxActivation < 0) {
    throw new HybridError('INVALID_ARGUMENT', `maxActivation must be a finite number >= 0, got ${describe(maxActivation)}`, 'maxActivation');
  }
  const fan = opts.fan ?? 'none';
  if (fan !== 'none' && fan !== 'outDegree' && fan !== 'sqrtOutDegree') {
    throw new HybridError('INVALID_ARGUMENT', `fan must be 'none', 'outDegree' or 'sqrtOutDegree', got ${describe(fan)}`, 'fan');
  }
  const decay = decayFunction(opts.decay ?? { kind: 'exponential', rate: 0.7 });
  const decays: number[] = [];
  for (let h = 1; h <= maxHops; h++) decays.push(Math.fround(decay(h)));
  return { maxHops, threshold: Math.fround(threshold), maxActivation: Math.fround(maxActivation), fan, decays,
    requested: backendOption(opts.backend), seeds: opts[seedKey] };
}

/** @internal decay(h) from the option (validated). */
export function decayFunction(decay: unknown): (h: number) => number {
  const finite = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new HybridError('INVALID_ARGUMENT', `decay.${name} must be a finite number, got ${describe(value)}`, `decay.${name}`);
    }
    return value;
  };
  if (typeof decay === 'number') {
    const factor = finite(decay, 'factor');
    return () => factor;
  }
  if (typeof decay !== 'object' || decay === null) {
    throw new HybridError('INVALID_ARGUMENT', `decay must be a number or { kind, ... }, got ${describe(decay)}`, 'decay');
  }
  const d = decay as Record<string, unknown>;
  const allowed: Record<string, string[]> = { exponential: ['kind', 'rate'], power: ['kind', 'exponent'], linear: ['kind', 'slope'] };
  const keys = allowed[String(d.kind)];
  if (!keys) {
    throw new HybridError('INVALID_ARGUMENT', `decay.kind must be 'exponential', 'power' or 'linear', got ${describe(d.kind)}`, 'decay.kind');
  }
  for (const key of Object.keys(d)) {
    if (!keys.includes(key)) throw new HybridError('INVALID_ARGUMENT', `decay.${key} is not an option of a ${String(d.kind)} decay`, `decay.${key}`);
  }
  if (d.kind === 'exponential') {
    const rate = d.rate === undefined ? 0.7 : finite(d.rate, 'rate');
    return (h) => Math.exp(-rate * h);
  }
  if (d.kind === 'power') {
    const exponent = finite(d.exponent, 'exponent');
    return (h) => (h + 1) ** -exponent;
  }
  const slope = finite(d.slope, 'slope');
  return (h) => Math.max(0, 1 - slope * h);
}

/** @internal Floats per node for k seed sets. */
export function columnsFor(k: number): number {
  return k === 1 ? 1 : Math.ceil(k / 4) * 4;
}

/**
 * @internal
 * f0 in WASM memory (nodeCount x cols floats): seed set j in column j; duplicate nodes add up.
 * Unknown nodes, non-finite values and mismatched lengths are errors naming the seed set.
 */
export function stageSeeds(memory: CpuMemory, graph: Graph, seedSets: unknown[], argument: string): { ptr: number; cols: number } {
  const k = seedSets.length;
  const cols = columnsFor(k);
  const n = graph.nodeCount;
  const values = new Float64Array(n * cols);
  seedSets.forEach((set, j) => {
    const name = k === 1 && argument === 'seeds' ? 'seeds' : `${argument}[${j}]`;
    if (typeof set !== 'object' || set === null) {
      throw new HybridError('INVALID_ARGUMENT', `${name} must be { nodes: Uint32Array, values: Float32Array }, got ${describe(set)}`, name);
    }
    const { nodes, values: v } = set as Partial<SeedSet>;
    if (!(nodes instanceof Uint32Array)) throw new HybridError('INVALID_ARGUMENT', `${name}.nodes must be a Uint32Array, got ${describe(nodes)}`, `${name}.nodes`);
    if (!(v instanceof Float32Array)) throw new HybridError('INVALID_ARGUMENT', `${name}.values must be a Float32Array, got ${describe(v)}`, `${name}.values`);
    if (nodes.length !== v.length) {
      throw new HybridError('DIMENSION_MISMATCH', `${name}: ${nodes.length} nodes but ${v.length} values`, `${name}.values`);
    }
    for (let i = 0; i < nodes.length; i++) {
      if (nodes[i]! >= n) throw new HybridError('UNKNOWN_NODE', `${name}.nodes[${i}] = ${nodes[i]} is not a node (nodeCount ${n})`, `${name}.nodes`);
      if (!Number.isFinite(v[i]!)) throw new HybridError('NON_FINITE', `${name}.values[${i}] is ${v[i]}: every value must be finite`, `${name}.values`);
      values[nodes[i]! * cols + j] = values[nodes[i]! * cols + j]! + v[i]!;
    }
  });
  const ptr = memory.arena.alloc(Math.max(16, n * cols * 4));
  memory.arena.f32.set(Float32Array.from(values), ptr >>> 2);
  return { ptr, cols };
}
