import type { CpuStrategyStats } from './cpu/strategy-types.js';
import type { HybridEngine } from './engine.js';

/** One measured batch size. */
export interface CalibrationPoint {
  /** Corpus rows (batch size of one top-k query). */
  rows: number;
  cpuMs: number;
  gpuMs: number | null;
  /** cpuMs / gpuMs. */
  speedup: number | null;
}

/** What `calibrate` found and recommends. */
export interface CalibrationResult {
  dim: number;
  k: number;
  points: CalibrationPoint[];
  /** Smallest measured size from which the GPU stays faster by gpuSpeedupThreshold; null if never. */
  crossoverRows: number | null;
  speedupThreshold: number;
  /** The recommended config as TOML (the layout `loadConfig` reads), with the reasoning as comments. */
  toml: string;
  reasoning: string[];
  /** The GPU adapter measured (description or device), or null. */
  adapter: string | null;
  /** The CPU backend's kernel choices, timed longer than at first use (the TOML's [cpu.strategy]). */
  cpu: CpuStrategyStats;
}

/** Options of `calibrate`. */
export interface CalibrationOptions {
  dim?: number;
  k?: number;
  /** Largest corpus (rows) measured; powers of two from 16 up to it. Default 262144. */
  maxRows?: number;
  /** Repetitions per size and backend (the median is kept). Default 7. */
  repetitions?: number;
  /** Called after each size, for progress output. */
  onPoint?: (point: CalibrationPoint) => void;
  /** Time the CPU backend's kernel choices too (default true). */
  cpuStrategy?: boolean;
}

/**
 * Sweep corpus sizes (powers of two) with one top-k query per call on this machine's CPU and
 * GPU (both forced), take medians, find the crossover (the smallest size from which the GPU is
 * faster by the engine's gpuSpeedupThreshold at every larger size measured) and write a
 * recommended config as TOML in the layout `loadConfig` reads, with the reasoning. The CPU
 * backend's kernel choices (src/cpu/strategy.ts) are timed too, longer than at first use, and
 * written as `[cpu.strategy]`.
 */
export async function calibrate(engine: HybridEngine, options: CalibrationOptions = {}): Promise<CalibrationResult> {
  const dim = options.dim ?? 384;
  const k = options.k ?? 10;
  const maxRows = options.maxRows ?? 262144;
  const repetitions = options.repetitions ?? 7;
  const hasGpu = engine.info().gpu !== null;
  const threshold = engine.config.gpuSpeedupThreshold;
  let seed = 0x1234567;
  const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return (seed / 4294967296) * 2 - 1; };
  const query = new Float32Array(dim).map(random);
  const points: CalibrationPoint[] = [];
  for (let rows = 16; rows <= maxRows; rows *= 2) {
    const index = await engine.createIndex(new Float32Array(rows * dim).map(random), { dim });
    const time = async (backend: 'cpu' | 'gpu') => {
      await index.search(query, { k, backend }); // warm: compile, upload
      const samples: number[] = [];
      for (let i = 0; i < repetitions; i++) {
        const start = performance.now();
        await index.search(query, { k, backend });
        samples.push(performance.now() - start);
      }
      samples.sort((a, b) => a - b);
      return samples[samples.length >> 1]!;
    };
    const cpuMs = await time('cpu');
    const gpuMs = hasGpu ? await time('gpu') : null;
    const point = { rows, cpuMs, gpuMs, speedup: gpuMs ? cpuMs / gpuMs : null };
    points.push(point);
    options.onPoint?.(point);
    index.dispose();
  }
  const crossoverRows = findCrossover(points.map((p) => ({ batch: p.rows, speedup: p.speedup })), threshold);
  const reasoning: string[] = [];
  const adapter = engine.info().gpu?.adapter;
  if (!hasGpu) {
    reasoning.push('No GPU adapter: the CPU answers every call.');
  } else if (crossoverRows === null) {
    const best = Math.max(...points.map((p) => p.speedup ?? 0));
    reasoning.push(`GPU (${adapter?.description || adapter?.device || 'unknown'}) never reached ${threshold}x the CPU up to ${maxRows} rows (best ${best.toFixed(2)}x): keep it off.`);
  } else {
    reasoning.push(`GPU (${adapter?.description || adapter?.device || 'unknown'}) is >= ${threshold}x the CPU from ${crossoverRows} rows of ${dim} on (one top-${k} query per call).`);
    reasoning.push(`gpu_min_batch_size = ${crossoverRows}: smaller batches stay on the CPU without asking the router.`);
  }
  const cpu = options.cpuStrategy === false ? engine.stats().cpuStrategy : await engine.calibrateCpu();
  const lines = ['# Recommended by hybrid-similarity calibrate', ...reasoning.map((r) => `# ${r}`), '[gpu]'];
  if (!hasGpu || crossoverRows === null) lines.push('enabled = false');
  else lines.push('enabled = true', `gpu_min_batch_size = ${crossoverRows}`);
  lines.push('', '[gpu.thresholds]', `gpu_speedup_threshold = ${threshold}`, `gpu_success_rate_threshold = ${engine.config.gpuSuccessRateThreshold}`,
    '', '[gpu.telemetry]', 'telemetry_enabled = true', `performance_window_size = ${engine.config.performanceWindowSize}`, '',
    ...strategyToml(cpu));
  return { dim, k, points, crossoverRows, speedupThreshold: threshold, toml: lines.join('\n'), reasoning,
    adapter: adapter ? adapter.description || adapter.device || adapter.vendor : null, cpu };
}

/** The `[cpu.strategy]` lines of the choices in `cpu`, each with why (as comments). */
export function strategyToml(cpu: CpuStrategyStats): string[] {
  const lines = ['[cpu.strategy]', `# kernels module here: ${cpu.kernels}${cpu.rates ? `; timed on ${cpu.rates.shape}` : ''}`];
  if (cpu.boundKernel) lines.push(`# int8 bound kernel: ${cpu.boundKernel.why}`, `bound_kernel = "${cpu.boundKernel.chosen}"`);
  const batch = cpu.batchKernel;
  if (batch) {
    lines.push(`# batches, f32 rows: ${batch.f32.why}`, `# batches, f16 rows: ${batch.f16.why}`);
    // One setting covers both dtypes: written when it gives each the choice measured for it.
    const f32 = batch.f32.chosen, f16 = batch.f16.chosen;
    if (f32 === f16 || (f32 === 'f32-matrix' && f16 === 'int8-batch')) lines.push(`batch_kernel = "${f32}"`);
  }
  if (cpu.splitMinBytes.source !== 'default') lines.push(`# split across threads: ${cpu.splitMinBytes.why}`, `split_min_bytes = ${cpu.splitMinBytes.chosen}`);
  lines.push('');
  return lines;
}

/**
 * The crossover of a sweep: the smallest batch from which the GPU is at least `threshold` times
 * faster than the CPU at that batch and at every larger one measured (points in any order; a
 * point without a GPU figure ends the run). null when the largest batch is not such a point.
 */
export function findCrossover(points: ReadonlyArray<{ batch: number; speedup: number | null }>, threshold: number): number | null {
  const sorted = [...points].sort((a, b) => a.batch - b.batch);
  let crossover: number | null = null;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const s = sorted[i]!.speedup;
    if (s === null || !(s >= threshold)) break;
    crossover = sorted[i]!.batch;
  }
  return crossover;
}
