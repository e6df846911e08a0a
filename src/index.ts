// Public exports only.
export { createHybrid, HybridEngine } from './engine.js';
export type { CosineOptions, EngineInfo, HybridOptions, IndexOptions } from './engine.js';
export { VectorIndex } from './vector-index.js';
export type { ScoresOptions, SearchOptions } from './vector-index.js';
export { HybridError, GpuError } from './errors.js';
export type { GpuFailureKind, HybridErrorCode } from './errors.js';
export type { BackendChoice, BackendKind, IndexDtype, SearchResult } from './backend.js';
export type { BatchingConfig, HybridConfig, OperationConfig } from './config.js';
export { defaultConfig } from './config.js';
export { presets } from './presets.js';
export { loadConfig, parseConfigToml, configFromEnv, ENV_OVERRIDES } from './config-sources.js';
export type { BackendStats, Operation, TelemetrySnapshot } from './telemetry.js';
export type { GpuInfo } from './gpu/info.js';
export { Graph } from './graph.js';
export type { FanMode, GraphInput } from './graph.js';
export type { Decay, SeedSet, SpreadOptions } from './spreading.js';
export { calibrate, findCrossover } from './calibrate.js';
export type { CalibrationOptions, CalibrationPoint, CalibrationResult } from './calibrate.js';
