import type { HybridConfig } from './config.js';

type Preset = Readonly<Partial<HybridConfig>>;

/**
 * Starting points for workload kinds x GPU classes, and per GPU model. Fields a preset leaves
 * out keep the defaults; `datacenter.mixed` takes a minimum batch of 48 with thresholds between
 * the other two datacenter presets. Pass one to createHybrid, spread and adjusted as needed:
 * `createHybrid({ ...presets.datacenter.lowLatency })`.
 */
export const presets = {
  consumer: {
    highThroughput: { gpuMinBatchSize: 64, gpuSpeedupThreshold: 1.3, gpuSuccessRateThreshold: 0.95, performanceWindowSize: 200 },
    lowLatency: { gpuMinBatchSize: 128, gpuSpeedupThreshold: 2.0, gpuSuccessRateThreshold: 0.98, performanceWindowSize: 100 },
    mixed: { gpuMinBatchSize: 96, gpuSpeedupThreshold: 1.5, gpuSuccessRateThreshold: 0.95, performanceWindowSize: 150 },
  },
  datacenter: {
    highThroughput: { gpuMinBatchSize: 32, gpuSpeedupThreshold: 1.2, gpuSuccessRateThreshold: 0.95, performanceWindowSize: 500, vramSafetyMargin: 0.7 },
    lowLatency: { gpuMinBatchSize: 64, gpuSpeedupThreshold: 1.5, gpuSuccessRateThreshold: 0.98, performanceWindowSize: 200, vramSafetyMargin: 0.8 },
    mixed: { gpuMinBatchSize: 48, gpuSpeedupThreshold: 1.3, gpuSuccessRateThreshold: 0.95, performanceWindowSize: 300, vramSafetyMargin: 0.75 },
  },
  gpu: {
    rtx3060: { gpuMinBatchSize: 64, vramSafetyMargin: 0.75, gpuSpeedupThreshold: 1.4 },
    a100: { gpuMinBatchSize: 32, vramSafetyMargin: 0.7, gpuSpeedupThreshold: 1.2 },
    t4: { gpuMinBatchSize: 80, vramSafetyMargin: 0.8, gpuSpeedupThreshold: 1.5 },
  },
  /** Dynamic batching (maxWaitMs / targetBatchSize): `{ ...presets.batching.balanced }`. */
  batching: {
    lowLatency: { batching: { maxWaitMs: 5, targetBatchSize: 64 } },
    balanced: { batching: { maxWaitMs: 10, targetBatchSize: 128 } },
    highThroughput: { batching: { maxWaitMs: 20, targetBatchSize: 256 } },
  },
} as const satisfies Record<string, Record<string, Preset>>;
