import { readTextFile } from '#platform';
import { parse as parseToml } from 'smol-toml';
import { resolveConfig, type ConfigOverrides, type CpuStrategyConfig, type HybridConfig } from './config.js';
import { HybridError } from './errors.js';

/**
 * TOML keys by table (`[gpu]`, `[gpu.thresholds]`, `[gpu.telemetry]`) and the config field each
 * sets. Both spellings of a key (`min_batch_size` and `gpu_min_batch_size`, ...) are accepted (a file giving both with different values is an error).
 */
const TOML_KEYS: Record<string, Record<string, keyof HybridConfig | 'enabled'>> = {
  gpu: {
    enabled: 'enabled',
    gpu_min_batch_size: 'gpuMinBatchSize', min_batch_size: 'gpuMinBatchSize',
    force_cpu_mode: 'forceCpuMode',
    vram_safety_margin: 'vramSafetyMargin',
    gpu_recovery_ms: 'gpuRecoveryMs', recovery_ms: 'gpuRecoveryMs',
    exploration_rate: 'explorationRate',
    verify_sample_rate: 'verifySampleRate',
    gpu_timeout_ms: 'gpuTimeoutMs', timeout_ms: 'gpuTimeoutMs',
  },
  'gpu.thresholds': {
    gpu_speedup_threshold: 'gpuSpeedupThreshold', speedup_threshold: 'gpuSpeedupThreshold',
    gpu_success_rate_threshold: 'gpuSuccessRateThreshold', success_rate_threshold: 'gpuSuccessRateThreshold',
  },
  'gpu.telemetry': {
    telemetry_enabled: 'telemetryEnabled', enabled: 'telemetryEnabled',
    performance_window_size: 'performanceWindowSize', performance_window: 'performanceWindowSize',
  },
};

/** `[cpu.strategy]` keys (what `calibrate` writes) and the cpuStrategy field each sets. */
const CPU_STRATEGY_KEYS: Record<string, keyof CpuStrategyConfig> = {
  kernels: 'kernels',
  bound_kernel: 'boundKernel',
  batch_kernel: 'batchKernel',
  split_min_bytes: 'splitMinBytes',
};

/**
 * Config fields from TOML text with the tables `[gpu]`, `[gpu.thresholds]` and
 * `[gpu.telemetry]` (README, "Config"), plus `[cpu.strategy]` (cpuStrategy, as `calibrate` writes
 * it). `[gpu] enabled = false` means `forceCpuMode = true`. Unknown tables or keys and bad values
 * are INVALID_CONFIG errors naming the key.
 */
export function parseConfigToml(text: string, source = 'TOML'): ConfigOverrides {
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw new HybridError('INVALID_CONFIG', `${source}: not valid TOML (${(error as Error).message.split('\n')[0]})`, 'toml');
  }
  const fields: Record<string, unknown> = {};
  const setBy: Record<string, string> = {};
  for (const [top, value] of Object.entries(document)) {
    if (top === 'cpu' && isTable(value)) {
      visitCpu(value);
      continue;
    }
    if (top !== 'gpu' || !isTable(value)) {
      throw new HybridError('INVALID_CONFIG', `${source}: unknown table or key '${top}' (expected [gpu] or [cpu.strategy])`, top);
    }
    visit('gpu', value);
  }
  function visitCpu(table: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(table)) {
      if (key !== 'strategy' || !isTable(value)) throw new HybridError('INVALID_CONFIG', `${source}: unknown key 'cpu.${key}'`, `cpu.${key}`);
      const strategy: Record<string, unknown> = {};
      for (const [name, inner] of Object.entries(value)) {
        const field = CPU_STRATEGY_KEYS[name];
        if (!field) throw new HybridError('INVALID_CONFIG', `${source}: unknown key 'cpu.strategy.${name}'`, `cpu.strategy.${name}`);
        strategy[field] = inner;
        setBy[`cpuStrategy.${field}`] = `cpu.strategy.${name}`;
      }
      fields.cpuStrategy = strategy;
    }
  }
  function visit(path: string, table: Record<string, unknown>): void {
    const keys = TOML_KEYS[path];
    for (const [key, value] of Object.entries(table)) {
      const name = `${path}.${key}`;
      if (isTable(value) && TOML_KEYS[name]) {
        visit(name, value);
        continue;
      }
      const field = keys?.[key];
      if (!field) throw new HybridError('INVALID_CONFIG', `${source}: unknown key '${name}'`, name);
      const [target, mapped] = field === 'enabled'
        ? ['forceCpuMode', typeof value === 'boolean' ? !value : value] as const
        : [field, value] as const;
      if (target in fields && fields[target] !== mapped) {
        throw new HybridError('INVALID_CONFIG',
          `${source}: '${name}' and '${setBy[target]}' both set ${target} to different values`, name);
      }
      fields[target] = mapped;
      setBy[target] = name;
    }
  }
  try {
    resolveConfig(fields);
  } catch (error) {
    if (error instanceof HybridError && error.argument) {
      const key = Object.entries(setBy).find(([field]) => field === error.argument)?.[1] ?? error.argument;
      throw new HybridError('INVALID_CONFIG', `${source}: '${key}': ${error.message}`, key);
    }
    throw error;
  }
  return fields as ConfigOverrides;
}

/**
 * Read a TOML config file (Node only; in a browser it throws INVALID_CONFIG: pass the text to
 * parseConfigToml); see parseConfigToml for the layout.
 */
export async function loadConfig(path: string): Promise<ConfigOverrides> {
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (error) {
    throw new HybridError('INVALID_CONFIG', `cannot read config file ${path}: ${(error as Error).message}`, 'path');
  }
  return parseConfigToml(text, path);
}

/**
 * Environment variables that override config fields in createHybrid (applied last). A field
 * written `cpuStrategy.kernels` sets that key of cpuStrategy.
 */
export const ENV_OVERRIDES: Record<string, keyof HybridConfig | `cpuStrategy.${keyof CpuStrategyConfig}`> = {
  HYBRID_SIMILARITY_FORCE_CPU: 'forceCpuMode',
  HYBRID_SIMILARITY_GPU_MIN_BATCH_SIZE: 'gpuMinBatchSize',
  HYBRID_SIMILARITY_GPU_SPEEDUP_THRESHOLD: 'gpuSpeedupThreshold',
  HYBRID_SIMILARITY_GPU_SUCCESS_RATE_THRESHOLD: 'gpuSuccessRateThreshold',
  HYBRID_SIMILARITY_PERFORMANCE_WINDOW_SIZE: 'performanceWindowSize',
  HYBRID_SIMILARITY_TELEMETRY_ENABLED: 'telemetryEnabled',
  HYBRID_SIMILARITY_VRAM_SAFETY_MARGIN: 'vramSafetyMargin',
  HYBRID_SIMILARITY_GPU_RECOVERY_MS: 'gpuRecoveryMs',
  HYBRID_SIMILARITY_EXPLORATION_RATE: 'explorationRate',
  HYBRID_SIMILARITY_VERIFY_SAMPLE_RATE: 'verifySampleRate',
  HYBRID_SIMILARITY_GPU_TIMEOUT_MS: 'gpuTimeoutMs',
  HYBRID_SIMILARITY_CPU_THREADS: 'cpuThreads',
  HYBRID_SIMILARITY_OFF_MAIN_THREAD: 'offMainThread',
  HYBRID_SIMILARITY_WARMUP: 'warmup',
  HYBRID_SIMILARITY_CPU_KERNELS: 'cpuStrategy.kernels',
};

const BOOLEAN_FIELDS = new Set<string>(['forceCpuMode', 'telemetryEnabled', 'offMainThread', 'warmup']);

/** Config fields from `env` (process.env in Node); a bad value is INVALID_CONFIG naming the variable. */
export function configFromEnv(env: Record<string, string | undefined>): ConfigOverrides {
  const fields: Record<string, unknown> = {};
  for (const [variable, field] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    let value: unknown;
    if (BOOLEAN_FIELDS.has(field)) {
      if (/^(1|true|yes|on)$/i.test(raw)) value = true;
      else if (/^(0|false|no|off)$/i.test(raw)) value = false;
      else value = raw;
    } else {
      value = /^[-+0-9.eE]+$/.test(raw.trim()) ? Number(raw) : raw;
    }
    const [name, key] = field.split('.') as [keyof HybridConfig, string | undefined];
    const entry = key === undefined ? value : { ...(fields[name] as object | undefined), [key]: value };
    try {
      resolveConfig({ [name]: key === undefined ? value : { [key]: value } });
    } catch (error) {
      throw new HybridError('INVALID_CONFIG', `environment ${variable}=${JSON.stringify(raw)}: ${(error as Error).message}`, variable);
    }
    fields[name] = entry;
  }
  return fields as ConfigOverrides;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
