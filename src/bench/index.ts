// `hybrid-similarity/bench`: the benchmark suite as a library (Node only: it reads and writes
// files). The CLI's `bench` is runSuite + formatReport + baselines + plots.
export { runSuite, defaultTiming, figureId, crossoversOf } from './runner.js';
export type { SuiteOptions } from './runner.js';
export { SUITE_MODULES } from './modules/index.js';
export { cosineModule } from './modules/cosine.js';
export { spreadingModule } from './modules/spreading.js';
export { peersModule } from './modules/peers.js';
export { threadsModule } from './modules/threads.js';
export { batchingModule, batchingModuleFor } from './modules/batching.js';
export type { BatchingBench } from './modules/batching.js';
export {
  compareWithBaseline, loadBaseline, saveBaseline, baselinePath, noiseBand, runNoise, verdictOf, NOISE_FLOOR,
} from './baseline.js';
export type { BaselineComparison, BaselineFile, BaselineRow, BaselineRun, Verdict } from './baseline.js';
export { suitePlots, marksFor } from './plots.js';
export type { PlotMark, PlotSpec } from './plots.js';
export { renderPlots } from './render.js';
export { formatReport, formatComparison, formatMs } from './format.js';
export { describeMachine, machineLine } from './machine.js';
export * as benchData from './data.js';
export { OURS, BenchCheckError } from './types.js';
export type {
  BenchContext, BenchFigure, BenchGroup, BenchModule, BenchTask, Crossover, MachineDescription, SuiteReport,
} from './types.js';
