import { HybridError } from './errors.js';
import { describe } from './validate.js';

/** Per-operation overrides of the router's thresholds. */
export interface OperationConfig {
  /** Smallest batch (cosine: queries x rows; spreading: estimated edges touched x seed sets) sent to the GPU. */
  gpuMinBatchSize?: number;
}

/** Dynamic batching of concurrent searches. */
export interface BatchingConfig {
  maxWaitMs: number;
  targetBatchSize: number;
}

/** The engine's configuration (README, "Config"); every field has a default. */
export interface HybridConfig {
  /** Smallest batch sent to the GPU (default 64). */
  gpuMinBatchSize: number;
  /** Minimum measured GPU speedup to prefer the GPU (default 1.5). */
  gpuSpeedupThreshold: number;
  /** GPU success rate below which the GPU is rested (default 0.95). */
  gpuSuccessRateThreshold: number;
  /** Samples kept per operation and backend (default 100). */
  performanceWindowSize: number;
  /** Never use the GPU (default false). */
  forceCpuMode: boolean;
  /** Record latencies and decisions (default true). */
  telemetryEnabled: boolean;
  /** Share of the device's buffer budget we may fill (default 0.8). */
  vramSafetyMargin: number;
  /** Per-operation overrides (spreading's gpuMinBatchSize defaults to 512). */
  operations: { cosine?: OperationConfig; spreading?: OperationConfig };
  /** How long an unhealthy GPU rests before a probe call (default 30000 ms). */
  gpuRecoveryMs: number;
  /** Share of calls sent to the slower backend to keep its estimate fresh (default 0.02). */
  explorationRate: number;
  /** Share of GPU results re-checked on the CPU (default 0). */
  verifySampleRate: number;
  /** Limit on one GPU readback (default 10000 ms). */
  gpuTimeoutMs: number;
  /** CPU threads to use (default: cores available). */
  cpuThreads: number;
  /** Run large CPU calls off the main thread (default true). */
  offMainThread: boolean;
  /** Merge concurrent searches (default false). */
  batching: false | BatchingConfig;
  /**
   * Warm up in createHybrid (default true): start the worker threads, run every kernel (compiling
   * GPU pipelines) and, with a GPU, give the router a first speedup estimate; see warmup().
   */
  warmup: boolean;
}

function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const cores = nav?.hardwareConcurrency;
  return typeof cores === 'number' && cores >= 1 ? cores : 1;
}

/** The defaults (README, "Config"). */
export function defaultConfig(): HybridConfig {
  return {
    gpuMinBatchSize: 64,
    gpuSpeedupThreshold: 1.5,
    gpuSuccessRateThreshold: 0.95,
    performanceWindowSize: 100,
    forceCpuMode: false,
    telemetryEnabled: true,
    vramSafetyMargin: 0.8,
    operations: { cosine: {}, spreading: { gpuMinBatchSize: 512 } },
    gpuRecoveryMs: 30000,
    explorationRate: 0.02,
    verifySampleRate: 0,
    gpuTimeoutMs: 10000,
    cpuThreads: defaultThreads(),
    offMainThread: true,
    batching: false,
    warmup: true,
  };
}

type Check = (value: unknown, field: string) => void;

const integerAtLeast = (min: number): Check => (value, field) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    bad(field, value, `an integer >= ${min}`);
  }
};
const numberIn = (min: number, max: number, openMin = false): Check => (value, field) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value > max ||
      (openMin ? value <= min : value < min)) {
    bad(field, value, `a number in ${openMin ? '(' : '['}${min}, ${max}]`);
  }
};
const boolean: Check = (value, field) => {
  if (typeof value !== 'boolean') bad(field, value, 'true or false');
};
const operationConfig: Check = (value, field) => {
  if (typeof value !== 'object' || value === null) bad(field, value, 'an object');
  for (const [key, inner] of Object.entries(value as object)) {
    if (key !== 'gpuMinBatchSize') unknown(`${field}.${key}`);
    integerAtLeast(1)(inner, `${field}.${key}`);
  }
};

const checks: Record<keyof HybridConfig, Check> = {
  gpuMinBatchSize: integerAtLeast(1),
  gpuSpeedupThreshold: numberIn(0, Number.MAX_VALUE, true),
  gpuSuccessRateThreshold: numberIn(0, 1),
  performanceWindowSize: integerAtLeast(1),
  forceCpuMode: boolean,
  telemetryEnabled: boolean,
  vramSafetyMargin: numberIn(0, 1, true),
  operations: (value, field) => {
    if (typeof value !== 'object' || value === null) bad(field, value, 'an object');
    for (const [key, inner] of Object.entries(value as object)) {
      if (key !== 'cosine' && key !== 'spreading') unknown(`${field}.${key}`);
      operationConfig(inner, `${field}.${key}`);
    }
  },
  gpuRecoveryMs: numberIn(0, Number.MAX_VALUE),
  explorationRate: numberIn(0, 1),
  verifySampleRate: numberIn(0, 1),
  gpuTimeoutMs: numberIn(0, Number.MAX_VALUE, true),
  cpuThreads: integerAtLeast(1),
  offMainThread: boolean,
  batching: (value, field) => {
    if (value === false) return;
    if (typeof value !== 'object' || value === null) bad(field, value, 'false or { maxWaitMs, targetBatchSize }');
    const entries = value as Record<string, unknown>;
    for (const key of Object.keys(entries)) {
      if (key !== 'maxWaitMs' && key !== 'targetBatchSize') unknown(`${field}.${key}`);
    }
    numberIn(0, 2 ** 31 - 1)(entries.maxWaitMs, `${field}.maxWaitMs`); // setTimeout's limit
    integerAtLeast(1)(entries.targetBatchSize, `${field}.targetBatchSize`);
  },
  warmup: boolean,
};

/**
 * Defaults overlaid with `overrides`, every field checked: a wrong type, a value out of range
 * or an unknown field throws INVALID_CONFIG naming the field and what it accepts.
 */
export function resolveConfig(overrides: Record<string, unknown>): HybridConfig {
  const config = defaultConfig();
  for (const [field, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const check = checks[field as keyof HybridConfig];
    if (!check) unknown(field);
    check(value, field);
  }
  const merged = { ...config, ...stripUndefined(overrides) } as HybridConfig;
  const operations = overrides.operations as HybridConfig['operations'] | undefined;
  merged.operations = {
    cosine: { ...config.operations.cosine, ...operations?.cosine },
    spreading: { ...config.operations.spreading, ...operations?.spreading },
  };
  return merged;
}

function stripUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

function bad(field: string, value: unknown, accepted: string): never {
  throw new HybridError('INVALID_CONFIG',
    `config.${field} is ${describe(value)}; it must be ${accepted}`, field);
}

function unknown(field: string): never {
  throw new HybridError('INVALID_CONFIG', `config.${field} is not a known field`, field);
}
