// Config validation and the router's first rules (the router issue adds health and speedup).
import { describe, expect, it } from 'vitest';
import { defaultConfig, resolveConfig } from '../src/config.js';
import { createHybrid } from '../src/index.js';

describe('config', () => {
  it('has the defaults of DESIGN.md', () => {
    const config = defaultConfig();
    expect(config).toMatchObject({
      gpuMinBatchSize: 64, gpuSpeedupThreshold: 1.5, gpuSuccessRateThreshold: 0.95,
      performanceWindowSize: 100, forceCpuMode: false, telemetryEnabled: true, vramSafetyMargin: 0.8,
      gpuRecoveryMs: 30000, explorationRate: 0.02, verifySampleRate: 0, gpuTimeoutMs: 10000,
      offMainThread: true, batching: false, warmup: true,
    });
    expect(config.operations.spreading?.gpuMinBatchSize).toBe(512);
  });

  it.each([
    ['gpuMinBatchSize', 0, /config\.gpuMinBatchSize is 0; it must be an integer >= 1/],
    ['gpuMinBatchSize', 1.5, /integer/],
    ['gpuSpeedupThreshold', 0, /gpuSpeedupThreshold .* \(0, /],
    ['gpuSuccessRateThreshold', 1.2, /gpuSuccessRateThreshold is 1\.2; it must be a number in \[0, 1\]/],
    ['performanceWindowSize', -1, /performanceWindowSize/],
    ['forceCpuMode', 'yes', /forceCpuMode is "yes"; it must be true or false/],
    ['vramSafetyMargin', 0, /vramSafetyMargin/],
    ['explorationRate', Number.NaN, /explorationRate is NaN/],
    ['operations', { cosine: { gpuMinBatchSize: 0 } }, /operations\.cosine\.gpuMinBatchSize/],
    ['operations', { graph: {} }, /operations\.graph is not a known field/],
    ['batching', { maxWaitMs: 5 }, /batching\.targetBatchSize/],
    ['batching', true, /batching is true/],
    ['gpuMinBatch', 3, /config\.gpuMinBatch is not a known field/],
    ['cpuThreads', 0, /cpuThreads is 0; it must be an integer in \[1, 256\]/],
    ['cpuThreads', 1000, /cpuThreads is 1000; it must be an integer in \[1, 256\]/],
  ])('%s = %j is INVALID_CONFIG', async (field, value, message) => {
    expect(() => resolveConfig({ [field]: value })).toThrow(message);
    await expect(createHybrid({ gpu: null, [field]: value } as never))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', argument: expect.stringContaining(field) });
  });

  it('keeps per-operation defaults when one operation is overridden', () => {
    const config = resolveConfig({ operations: { cosine: { gpuMinBatchSize: 10 } } });
    expect(config.operations.cosine?.gpuMinBatchSize).toBe(10);
    expect(config.operations.spreading?.gpuMinBatchSize).toBe(512);
  });
});

describe('engine without a GPU', () => {
  it('a gpu option that is not a GPU object is INVALID_CONFIG (not a silent CPU-only engine)', async () => {
    for (const [gpu, message] of [
      [3, /config\.gpu must be a WebGPU GPU object .* got 3/],
      [{}, /got an object$/],
      [{ create: () => null, globals: {} }, /this looks like the webgpu module; pass its create\(\[\]\)/],
    ] as const) {
      await expect(createHybrid({ gpu })).rejects.toMatchObject({ code: 'INVALID_CONFIG', argument: 'gpu', message: expect.stringMatching(message) });
    }
  });

  it('an engine without a GPU counts its auto calls as no-gpu', async () => {
    const hs = await createHybrid({ gpu: null });
    const q = new Float32Array([1, 2, 3]);
    await hs.cosineSimilarity(q, new Float32Array([1, 2, 3, 3, 2, 1]));
    await hs.cosineSimilarity(q, new Float32Array([1, 2, 3]), { backend: 'cpu' });
    const stats = hs.stats();
    expect(stats.decisions.cosine).toEqual({ 'no-gpu': 1, forced: 1 });
    expect(stats.operations.cosine.cpu.calls).toBe(2);
    expect(stats.operations.cosine.cpu.p50Ms).toBeGreaterThanOrEqual(0);
    expect(stats.operations.cosine.gpu.calls).toBe(0);
    expect(stats.methods).toEqual({ cosineSimilarity: 2 });
    await hs.dispose();
  });
});
