// The benchmark suite's runner: every module's groups, each timed with tinybench (warm-up, then
// at least `minIterations` calls and `timeMs` of them per task), medians and p99 per figure,
// peers as ratios to ours, and the crossover of every operation swept over batch sizes.
import { Bench } from 'tinybench';
import type { BackendChoice } from '../types.js';
import { findCrossover } from '../calibrate.js';
import type { HybridEngine } from '../engine.js';
import { HybridError } from '../errors.js';
import { formatMs } from './format.js';
import { describeMachine } from './machine.js';
import { defaultMaxRows } from './modules/cosine.js';
import { SUITE_MODULES } from './modules/index.js';
import {
  OURS, type BenchContext, type BenchFigure, type BenchGroup, type BenchModule, type Crossover, type SuiteReport,
} from './types.js';

/** Options of `runSuite`. */
export interface SuiteOptions {
  /** A reduced suite: fewer sizes, shorter timing (under 2 minutes on a 2-core machine). */
  quick?: boolean;
  /** Largest corpus of the sweeps (rows). Default 1,048,576 (quick: 262,144). */
  maxRows?: number;
  /** Row length of the cosine sweeps. Default 384. */
  dim?: number;
  /** The modules to run (default SUITE_MODULES). */
  modules?: readonly BenchModule[];
  /** Names of the modules to keep (default all). */
  only?: readonly string[];
  /** tinybench settings (defaults depend on `quick`). */
  timing?: Partial<SuiteReport['timing']>;
  /** Called with one line per figure group as the run goes (the CLI prints them on stderr). */
  onProgress?: (message: string) => void;
}

/** tinybench settings of a full and a quick run. */
export function defaultTiming(quick: boolean): SuiteReport['timing'] {
  return quick
    ? { timeMs: 150, warmupTimeMs: 30, minIterations: 5, warmupIterations: 2 }
    : { timeMs: 1000, warmupTimeMs: 200, minIterations: 10, warmupIterations: 3 };
}

/** Bytes per call a software adapter is timed on (beyond that its runs only cost time). */
const SOFTWARE_GPU_BYTES = { quick: 32 * 2 ** 20, full: 160 * 2 ** 20 };

/** The id of a figure: `operation | shape | implementation[/backend]`. */
export function figureId(operation: string, shape: string, implementation: string, backend: BackendChoice | null): string {
  return `${operation} | ${shape} | ${implementation}${backend ? `/${backend}` : ''}`;
}

/**
 * Run the benchmark suite on `engine`: each module's groups in turn, every task of a group timed
 * with tinybench on the same data after its results were checked. Returns the report (figures,
 * missing peers, errors, crossovers, the machine and the settings).
 */
export async function runSuite(engine: HybridEngine, options: SuiteOptions = {}): Promise<SuiteReport> {
  const started = performance.now();
  const quick = options.quick ?? false;
  const maxRows = options.maxRows ?? defaultMaxRows(quick);
  const dim = options.dim ?? 384;
  if (!Number.isInteger(maxRows) || maxRows < 16) throw new HybridError('INVALID_ARGUMENT', `maxRows must be an integer >= 16, got ${maxRows}`, 'maxRows');
  if (!Number.isInteger(dim) || dim < 1) throw new HybridError('INVALID_ARGUMENT', `dim must be an integer >= 1, got ${dim}`, 'dim');
  const all = options.modules ?? SUITE_MODULES;
  const unknown = (options.only ?? []).filter((name) => !all.some((m) => m.name === name));
  if (unknown.length) {
    throw new HybridError('INVALID_ARGUMENT', `unknown bench module ${unknown.map((n) => `'${n}'`).join(', ')} (modules: ${all.map((m) => m.name).join(', ')})`, 'only');
  }
  const modules = options.only?.length ? all.filter((m) => options.only!.includes(m.name)) : all;
  const timing = { ...defaultTiming(quick), ...options.timing };
  const machine = describeMachine(engine);
  const info = engine.info().gpu;
  const gpu = !info ? 'none' : machine.gpu?.software ? 'software' : 'hardware';
  const progress = options.onProgress ?? (() => {});
  const missing: SuiteReport['missing'] = [];
  const errors: SuiteReport['errors'] = [];
  const rows: BenchFigure[] = [];
  const softwareCap = quick ? SOFTWARE_GPU_BYTES.quick : SOFTWARE_GPU_BYTES.full;
  let softwareCapSaid = false;

  const context: BenchContext = {
    engine, quick, maxRows, dim, gpu,
    timeOnGpu(bytes) {
      if (!info || bytes > info.memoryBudgetBytes) return false;
      if (gpu === 'software' && bytes > softwareCap) {
        if (!softwareCapSaid) {
          softwareCapSaid = true;
          missing.push({ implementation: `${OURS}/gpu`, reason: `software adapter: not timed on calls reading more than ${softwareCap / 2 ** 20} MiB (its figures only check the harness)` });
        }
        return false;
      }
      return true;
    },
    missing(implementation, reason) {
      if (!missing.some((m) => m.implementation === implementation && m.reason === reason)) missing.push({ implementation, reason });
    },
    progress,
  };

  for (const module of modules) {
    progress(`[${module.name}] ${module.description}`);
    for await (const group of module.groups(context)) {
      const figures = await timeGroup(module.name, group, timing, errors);
      rows.push(...figures);
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      progress(`[${module.name}] ${group.operation} ${group.shape}: ` +
        figures.map((f) => `${f.implementation === OURS ? f.backend : f.implementation} ${formatMs(f.p50Ms)}`).join(', ') + ` (${elapsed} s)`);
    }
  }

  const config = engine.config;
  const minBatch = {
    cosine: config.operations.cosine?.gpuMinBatchSize ?? config.gpuMinBatchSize,
    spreading: config.operations.spreading?.gpuMinBatchSize ?? config.gpuMinBatchSize,
  };
  return {
    schema: 'hybrid-similarity/bench-suite@1',
    date: new Date().toISOString(),
    quick,
    durationS: Math.round((performance.now() - started) / 100) / 10,
    machine,
    config: { gpuMinBatchSize: minBatch, gpuSpeedupThreshold: config.gpuSpeedupThreshold },
    timing,
    modules: modules.map((m) => m.name),
    rows,
    missing,
    errors,
    crossovers: crossoversOf(rows, config.gpuSpeedupThreshold, minBatch),
  };
}

async function timeGroup(module: string, group: BenchGroup, timing: SuiteReport['timing'], errors: SuiteReport['errors']): Promise<BenchFigure[]> {
  const bench = new Bench({
    time: timing.timeMs, warmupTime: timing.warmupTimeMs, iterations: timing.minIterations,
    warmupIterations: timing.warmupIterations, throws: false,
  });
  const label = (implementation: string, backend: BackendChoice | undefined) => `${implementation}${backend ? `/${backend}` : ''}`;
  for (const task of group.tasks) bench.add(label(task.implementation, task.backend), task.fn);
  await bench.run();
  const figures: BenchFigure[] = [];
  group.tasks.forEach((task, i) => {
    const result = bench.tasks[i]!.result;
    const id = figureId(group.operation, group.shape, task.implementation, task.backend ?? null);
    if (result.state === 'errored') {
      errors.push({ id, error: result.error.message });
      return;
    }
    if (!('latency' in result)) {
      errors.push({ id, error: `not timed (tinybench state ${result.state})` });
      return;
    }
    const latency = result.latency;
    figures.push({
      id, module, operation: group.operation, batch: group.batch, batchUnit: group.batchUnit, shape: group.shape, routedAs: group.routedAs,
      implementation: task.implementation, backend: task.backend ?? null,
      p50Ms: latency.p50, p99Ms: latency.p99, meanMs: latency.mean, madMs: latency.mad, samples: latency.samplesCount,
      perSecond: latency.p50 > 0 ? (group.batch * 1000) / latency.p50 : 0,
      vsOurs: null,
      ...(task.note ? { note: task.note } : {}),
    });
  });
  // Peers against ours on the CPU (or our first figure when there is no CPU one).
  const ours = figures.find((f) => f.implementation === OURS && f.backend === 'cpu') ?? figures.find((f) => f.implementation === OURS);
  if (ours) for (const f of figures) if (f.implementation !== OURS) f.vsOurs = f.p50Ms / ours.p50Ms;
  return figures;
}

/** The crossover of every operation measured on both of our backends at two batches or more. */
export function crossoversOf(rows: readonly BenchFigure[], threshold: number,
  minBatch: { cosine: number; spreading: number }): Crossover[] {
  const out: Crossover[] = [];
  const keys = [...new Set(rows.filter((r) => r.implementation === OURS).map((r) => `${r.module}\u0000${r.operation}`))];
  for (const key of keys) {
    const [module, operation] = key.split('\u0000') as [string, string];
    const mine = rows.filter((r) => r.implementation === OURS && r.module === module && r.operation === operation);
    const batches = [...new Set(mine.map((r) => r.batch))].sort((a, b) => a - b);
    const speedups: Crossover['speedups'] = [];
    for (const batch of batches) {
      const cpu = mine.find((r) => r.batch === batch && r.backend === 'cpu');
      const gpu = mine.find((r) => r.batch === batch && r.backend === 'gpu');
      if (cpu && gpu && gpu.p50Ms > 0) speedups.push({ batch, speedup: cpu.p50Ms / gpu.p50Ms });
    }
    if (speedups.length < 2) continue;
    // A batch measured on the CPU only (GPU skipped there) ends the run from above, like a slower GPU.
    const points = batches.map((batch) => ({ batch, speedup: speedups.find((s) => s.batch === batch)?.speedup ?? null }));
    const routedAs = mine[0]!.routedAs;
    out.push({ operation, routedAs, batch: findCrossover(points, threshold), speedupThreshold: threshold, gpuMinBatchSize: minBatch[routedAs], speedups });
  }
  return out;
}
