// Presets, TOML files in the tuning guide's layout (both spellings), environment overrides, and
// every bad value with an error naming it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  configFromEnv, createHybrid, ENV_OVERRIDES, loadConfig, parseConfigToml, presets,
} from '../src/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

describe('presets', () => {
  it('carry the tuning guide\'s numbers and make valid engines', async () => {
    expect(presets.consumer.lowLatency).toMatchObject({ gpuMinBatchSize: 128, gpuSpeedupThreshold: 2.0, gpuSuccessRateThreshold: 0.98 });
    expect(presets.datacenter.highThroughput).toMatchObject({ gpuMinBatchSize: 32, gpuSpeedupThreshold: 1.2, vramSafetyMargin: 0.7, performanceWindowSize: 500 });
    expect(presets.gpu.t4).toEqual({ gpuMinBatchSize: 80, vramSafetyMargin: 0.8, gpuSpeedupThreshold: 1.5 });
    for (const group of Object.values(presets)) {
      for (const preset of Object.values(group)) {
        const hs = await createHybrid({ ...preset, gpu: null });
        for (const [field, value] of Object.entries(preset)) expect(hs.config[field as keyof typeof hs.config]).toBe(value);
        await hs.dispose();
      }
    }
  });
});

describe('TOML', () => {
  it('reads the guide\'s files in both spellings', async () => {
    expect(await loadConfig(join(fixtures, 'datacenter-high-throughput.toml'))).toEqual({
      gpuMinBatchSize: 32, forceCpuMode: false, vramSafetyMargin: 0.7, gpuSpeedupThreshold: 1.2,
      gpuSuccessRateThreshold: 0.95, telemetryEnabled: true, performanceWindowSize: 500,
    });
    expect(await loadConfig(join(fixtures, 'consumer-high-throughput.toml'))).toEqual({
      gpuMinBatchSize: 64, forceCpuMode: false, gpuSpeedupThreshold: 1.3, gpuSuccessRateThreshold: 0.95,
      telemetryEnabled: true, performanceWindowSize: 200,
    });
  });

  it('[gpu] enabled = false means forceCpuMode', async () => {
    const fields = parseConfigToml('[gpu]\nenabled = false\nmin_batch_size = 100\n');
    expect(fields).toEqual({ forceCpuMode: true, gpuMinBatchSize: 100 });
    const hs = await createHybrid({ ...fields });
    expect(hs.info().gpu).toBeNull();
    await hs.dispose();
  });

  it('set the CPU threads (cpuThreads defaults to the cores available)', async () => {
    const { availableParallelism } = await import('node:os');
    const plain = await createHybrid({ gpu: null });
    expect(plain.config.cpuThreads).toBe(availableParallelism());
    await plain.dispose();
    process.env.HYBRID_SIMILARITY_CPU_THREADS = '3';
    process.env.HYBRID_SIMILARITY_OFF_MAIN_THREAD = '0';
    const hs = await createHybrid({ gpu: null, cpuThreads: 1 });
    expect(hs.config.cpuThreads).toBe(3);
    expect(hs.info().cpu).toMatchObject({ threads: 3, offMainThread: false, sharedMemory: true });
    await hs.dispose();
    process.env.HYBRID_SIMILARITY_CPU_THREADS = '0';
    await expect(createHybrid({ gpu: null })).rejects.toThrow(/HYBRID_SIMILARITY_CPU_THREADS="0".*cpuThreads/);
  });

  it.each([
    ['[gpu]\nmin_batch_size = 0', /'gpu.min_batch_size'.*integer >= 1/],
    ['[gpu.thresholds]\nsuccess_rate_threshold = 1.5', /'gpu.thresholds.success_rate_threshold'.*\[0, 1\]/],
    ['[gpu.telemetry]\nenabled = "yes"', /'gpu.telemetry.enabled'.*true or false/],
    ['[gpu]\nmin_batch = 3', /unknown key 'gpu.min_batch'/],
    ['[disk]\nthreads = 2', /unknown table or key 'disk'/],
    ['[cpu]\nthreads = 2', /unknown key 'cpu.threads'/],
    ['[gpu.thresholds]\nspeedup_threshold = 1.2\ngpu_speedup_threshold = 1.4', /both set gpuSpeedupThreshold/],
    ['[gpu\nmin_batch_size = 3', /not valid TOML/],
  ])('%j is INVALID_CONFIG naming the key', (text, message) => {
    expect(() => parseConfigToml(text)).toThrow(message);
    try {
      parseConfigToml(text);
    } catch (error) {
      expect((error as { code: string }).code).toBe('INVALID_CONFIG');
    }
  });

  it('a missing file is INVALID_CONFIG naming the path', async () => {
    await expect(loadConfig(join(fixtures, 'nope.toml'))).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('nope.toml') });
  });
});

describe('environment overrides', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const variable of Object.keys(ENV_OVERRIDES)) delete process.env[variable];
    Object.assign(process.env, saved);
  });

  it('parse every variable', () => {
    expect(configFromEnv({
      HYBRID_SIMILARITY_FORCE_CPU: '1', HYBRID_SIMILARITY_GPU_MIN_BATCH_SIZE: '256',
      HYBRID_SIMILARITY_GPU_SPEEDUP_THRESHOLD: '2.5', HYBRID_SIMILARITY_GPU_SUCCESS_RATE_THRESHOLD: '0.9',
      HYBRID_SIMILARITY_PERFORMANCE_WINDOW_SIZE: '50', HYBRID_SIMILARITY_TELEMETRY_ENABLED: 'false',
      HYBRID_SIMILARITY_VRAM_SAFETY_MARGIN: '0.5', HYBRID_SIMILARITY_GPU_RECOVERY_MS: '1000',
      HYBRID_SIMILARITY_EXPLORATION_RATE: '0', HYBRID_SIMILARITY_VERIFY_SAMPLE_RATE: '0.1',
      HYBRID_SIMILARITY_GPU_TIMEOUT_MS: '500', HYBRID_SIMILARITY_CPU_THREADS: '3',
      HYBRID_SIMILARITY_OFF_MAIN_THREAD: 'off',
    })).toEqual({
      forceCpuMode: true, gpuMinBatchSize: 256, gpuSpeedupThreshold: 2.5, gpuSuccessRateThreshold: 0.9,
      performanceWindowSize: 50, telemetryEnabled: false, vramSafetyMargin: 0.5, gpuRecoveryMs: 1000,
      explorationRate: 0, verifySampleRate: 0.1, gpuTimeoutMs: 500, cpuThreads: 3, offMainThread: false,
    });
  });

  it('apply last in createHybrid, over the options passed', async () => {
    process.env.HYBRID_SIMILARITY_GPU_MIN_BATCH_SIZE = '777';
    process.env.HYBRID_SIMILARITY_FORCE_CPU = 'true';
    const hs = await createHybrid({ gpuMinBatchSize: 5 });
    expect(hs.config.gpuMinBatchSize).toBe(777);
    expect(hs.config.forceCpuMode).toBe(true);
    expect(hs.info().gpu).toBeNull();
    await hs.dispose();
  });

  it.each([
    ['HYBRID_SIMILARITY_GPU_MIN_BATCH_SIZE', 'lots', /HYBRID_SIMILARITY_GPU_MIN_BATCH_SIZE="lots".*integer >= 1/],
    ['HYBRID_SIMILARITY_FORCE_CPU', 'maybe', /HYBRID_SIMILARITY_FORCE_CPU="maybe".*true or false/],
    ['HYBRID_SIMILARITY_EXPLORATION_RATE', '2', /HYBRID_SIMILARITY_EXPLORATION_RATE="2".*\[0, 1\]/],
  ])('%s=%s is INVALID_CONFIG naming the variable', async (variable, value, message) => {
    process.env[variable] = value;
    await expect(createHybrid({ gpu: null })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(message) });
  });
});
