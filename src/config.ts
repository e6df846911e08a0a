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

/** The int8 bound kernels of batched top-k (asm/batch-dots.ts); relaxed-pairs needs the relaxed-SIMD module. */
export type BoundKernel = 'winograd' | 'relaxed-pairs';

/**
 * How a batch of queries over f32/f16 rows with an int8 prefilter is answered: the batched int8
 * bound kernel with an exact re-rank, the one-query int8 kernel once per query, or (f32 rows only)
 * the f32 all-scores kernel. Every one gives the exact scan's results, bit for bit.
 */
export type BatchKernel = 'int8-batch' | 'per-query' | 'f32-matrix';

/**
 * How the CPU backend chooses between its kernels. 'auto' (the default of each) means measured on
 * this machine at first use (short timings; `calibrate` measures longer and writes the choices as
 * TOML); a value given here is used as it is. stats().cpuStrategy shows what was chosen and why.
 */
export interface CpuStrategyConfig {
  /** Kernels module: 'auto' (the relaxed-SIMD build where WebAssembly.validate accepts it) or 'baseline'. */
  kernels: 'auto' | 'baseline';
  /** The bound kernel of int8 batches (a relaxed one on a baseline engine falls back to measuring). */
  boundKernel: 'auto' | BoundKernel;
  /** Batches over f32/f16 rows with a prefilter ('f32-matrix' applies to f32 rows; f16 rows then use 'int8-batch'). */
  batchKernel: 'auto' | BatchKernel;
  /** Smallest call (bytes of rows read x queries) split across threads, or 'auto'. */
  splitMinBytes: 'auto' | number;
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
  /** How the CPU backend chooses between kernels (default: every choice 'auto', measured at first use). */
  cpuStrategy: CpuStrategyConfig;
}

/** Config fields as callers give them: any subset, and any subset of cpuStrategy's keys. */
export type ConfigOverrides = Partial<Omit<HybridConfig, 'cpuStrategy'>> & { cpuStrategy?: Partial<CpuStrategyConfig> };

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
    cpuStrategy: { kernels: 'auto', boundKernel: 'auto', batchKernel: 'auto', splitMinBytes: 'auto' },
  };
}

const BOUND_KERNELS: readonly BoundKernel[] = ['winograd', 'relaxed-pairs'];
const BATCH_KERNELS: readonly BatchKernel[] = ['int8-batch', 'per-query', 'f32-matrix'];

type Check = (value: unknown, field: string) => void;

/** The most threads `cpuThreads` may ask for (a worker each; 1000 took 55 s to start here). */
const MAX_CPU_THREADS = 256;
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

const oneOf = (values: readonly string[]): Check => (value, field) => {
  if (typeof value !== 'string' || !values.includes(value)) bad(field, value, `one of ${values.map((v) => `'${v}'`).join(', ')}`);
};
const strategyChecks: Record<keyof CpuStrategyConfig, Check> = {
  kernels: oneOf(['auto', 'baseline']),
  boundKernel: oneOf(['auto', ...BOUND_KERNELS]),
  batchKernel: oneOf(['auto', ...BATCH_KERNELS]),
  splitMinBytes: (value, field) => {
    if (value !== 'auto') integerAtLeast(0)(value, field);
  },
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
  cpuThreads: (value, field) => {
    // Each thread is a worker with its own kernel instances: past this, a typo, not a machine.
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CPU_THREADS) {
      bad(field, value, `an integer in [1, ${MAX_CPU_THREADS}]`);
    }
  },
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
  cpuStrategy: (value, field) => {
    if (typeof value !== 'object' || value === null) bad(field, value, 'an object');
    for (const [key, inner] of Object.entries(value as object)) {
      const check = strategyChecks[key as keyof CpuStrategyConfig];
      if (!check) unknown(`${field}.${key}`);
      if (inner !== undefined) check(inner, `${field}.${key}`);
    }
  },
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
  const strategy = overrides.cpuStrategy as Partial<CpuStrategyConfig> | undefined;
  merged.cpuStrategy = { ...config.cpuStrategy, ...(strategy ? stripUndefined(strategy as Record<string, unknown>) : {}) };
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
