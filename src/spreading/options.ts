// The options of spreadActivation / spreadActivationBatch: their types, defaults (README,
// "Activation spreading") and checks, resolved into what a SpreadJob carries.
import type { BackendChoice } from '../types.js';
import { HybridError } from '../errors.js';
import { backendOption, describe, optionsObject } from '../validate.js';
import type { FanMode, SpreadOutput, SpreadStrategy } from './types.js';

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
  /**
   * Push from the frontier, pull over every node, or choose per hop (default 'auto'); the
   * results are the same bits whichever is used, only the time differs.
   */
  strategy?: SpreadStrategy;
  /**
   * `'dense'` (default): each seed set's totals as a Float32Array over every node. `'sparse'`:
   * only the nodes whose total is not 0, as `{ nodes, values }` (nodes ascending): the same
   * values, and a call that touches a few nodes of a large graph then costs what it touches
   * (no array over every node to allocate and zero).
   */
  output?: SpreadOutput;
  backend?: BackendChoice;
}

/** Initial activations: values[i] at node nodes[i] (duplicates add up). */
export interface SeedSet {
  nodes: Uint32Array;
  values: Float32Array;
}

const OPTION_KEYS = ['maxHops', 'decay', 'threshold', 'fan', 'maxActivation', 'strategy', 'output', 'backend'];

/** @internal The options, checked and resolved (decay(h) per hop, f32 thresholds). */
export type ResolvedSpreadOptions = ReturnType<typeof resolveSpreadOptions>;

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
  const strategy = opts.strategy ?? 'auto';
  if (strategy !== 'auto' && strategy !== 'push' && strategy !== 'pull') {
    throw new HybridError('INVALID_ARGUMENT', `strategy must be 'auto', 'push' or 'pull', got ${describe(strategy)}`, 'strategy');
  }
  const output = opts.output ?? 'dense';
  if (output !== 'dense' && output !== 'sparse') {
    throw new HybridError('INVALID_ARGUMENT', `output must be 'dense' or 'sparse', got ${describe(output)}`, 'output');
  }
  const decay = decayFunction(opts.decay ?? { kind: 'exponential', rate: 0.7 });
  const decays: number[] = [];
  for (let h = 1; h <= maxHops; h++) decays.push(Math.fround(decay(h)));
  return { maxHops, threshold: Math.fround(threshold), maxActivation: Math.fround(maxActivation), fan, decays,
    strategy: strategy as SpreadStrategy, output: output as SpreadOutput, requested: backendOption(opts.backend), seeds: opts[seedKey] };
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
