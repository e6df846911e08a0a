// Saved baselines of the suite: `--save-baseline NAME` adds a run's medians (with their spread)
// to DIR/suite[-quick]-NAME.json, keeping the last few runs; `--baseline NAME` compares a run
// with them, figure by figure, as a ratio, and calls a change a regression only beyond the noise
// band: the largest of 3 x the relative median absolute deviation of either run's samples,
// 3 sigma of the saved runs' medians (saved twice or more: measured run-to-run noise), and 3%.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridError } from '../errors.js';
import { machineLine } from './machine.js';
import type { SuiteReport } from './types.js';

/** Runs kept per baseline name (the oldest goes first). */
export const BASELINE_RUNS_KEPT = 10;
/** No change below this is ever called a regression. */
export const NOISE_FLOOR = 0.03;

/** One saved run: when, on what machine, and each figure's median with its noise. */
export interface BaselineRun {
  date: string;
  quick: boolean;
  machine: string;
  figures: Record<string, { p50Ms: number; madMs: number; samples: number }>;
}

/** A baseline file (bench/baselines/suite-NAME.json): the last runs saved under one name. */
export interface BaselineFile {
  schema: 'hybrid-similarity/bench-baseline@1';
  name: string;
  runs: BaselineRun[];
}

/** How a figure compares with the baseline. */
export type Verdict = 'REGRESSION' | 'faster' | 'same (within noise)' | 'new' | 'gone';

/** One figure compared with the baseline. */
export interface BaselineRow {
  id: string;
  nowMs: number | null;
  /** Median over the saved runs of their medians. */
  baselineMs: number | null;
  /** now / baseline: above 1 is slower. */
  ratio: number | null;
  /** The noise band as a share (0.05 = 5%). */
  band: number | null;
  verdict: Verdict;
}

/** A run compared with a baseline: a row per figure and the count of regressions. */
export interface BaselineComparison {
  name: string;
  runs: number;
  lastDate: string;
  machine: string;
  rows: BaselineRow[];
  regressions: number;
}

/** The noise band of one figure's samples: 3 x MAD / median, at least NOISE_FLOOR. */
export function noiseBand(p50Ms: number, madMs: number): number {
  return Math.max(NOISE_FLOOR, p50Ms > 0 ? (3 * madMs) / p50Ms : 0);
}

/** d2(k): the expected range of k normal samples in standard deviations (sigma ~ range / d2). */
const D2 = [0, 0, 1.128, 1.693, 2.059, 2.326, 2.534, 2.704, 2.847, 2.970, 3.078];

/**
 * Run-to-run noise of repeated runs' medians, as a share: 3 sigma, with sigma estimated from their
 * range (range / d2(k), the usual estimate for few samples), relative to their median; 0 for
 * fewer than 2 runs.
 */
export function runNoise(medians: readonly number[]): number {
  const k = Math.min(medians.length, D2.length - 1);
  if (k < 2) return 0;
  const m = median(medians);
  return m > 0 ? (3 * (Math.max(...medians) - Math.min(...medians))) / m / D2[k]! : 0;
}

/** A change `ratio` (now / then) against a noise `band`. */
export function verdictOf(ratio: number, band: number): Verdict {
  if (ratio > 1 + band) return 'REGRESSION';
  if (ratio < 1 / (1 + band)) return 'faster';
  return 'same (within noise)';
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new HybridError('INVALID_ARGUMENT', `a baseline name is 1-64 letters, digits, '.', '_' or '-', got '${name}'`, 'baseline');
  }
}

/** The file of baseline `name` in `dir` (quick runs keep their own). */
export function baselinePath(dir: string, name: string, quick: boolean): string {
  checkName(name);
  return join(dir, `suite${quick ? '-quick' : ''}-${name}.json`);
}

/** What a baseline keeps of a report. */
export function baselineRunOf(report: SuiteReport): BaselineRun {
  const figures: BaselineRun['figures'] = {};
  for (const f of report.rows) figures[f.id] = { p50Ms: f.p50Ms, madMs: f.madMs, samples: f.samples };
  return { date: report.date, quick: report.quick, machine: machineLine(report.machine), figures };
}

/** Add the report's run to baseline `name` (creating it); returns the file and its run count. */
export function saveBaseline(dir: string, name: string, report: SuiteReport): { path: string; runs: number } {
  const path = baselinePath(dir, name, report.quick);
  const file: BaselineFile = existsSync(path) ? readBaseline(path) : { schema: 'hybrid-similarity/bench-baseline@1', name, runs: [] };
  file.runs = [...file.runs, baselineRunOf(report)].slice(-BASELINE_RUNS_KEPT);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n');
  return { path, runs: file.runs.length };
}

function readBaseline(path: string): BaselineFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as BaselineFile;
  if (file.schema !== 'hybrid-similarity/bench-baseline@1' || !Array.isArray(file.runs)) {
    throw new HybridError('INVALID_ARGUMENT', `${path} is not a hybrid-similarity bench baseline`, 'baseline');
  }
  return file;
}

/** Baseline `name` from `dir`, or an error that says how to make it. */
export function loadBaseline(dir: string, name: string, quick: boolean): BaselineFile {
  const path = baselinePath(dir, name, quick);
  if (!existsSync(path)) {
    throw new HybridError('INVALID_ARGUMENT', `no baseline '${name}' (${path}); make one with --save-baseline ${name}${quick ? ' --quick' : ''}`, 'baseline');
  }
  return readBaseline(path);
}

/** Every figure of `report` against the baseline's runs; figures only in the baseline are 'gone'. */
export function compareWithBaseline(report: SuiteReport, baseline: BaselineFile): BaselineComparison {
  const rows: BaselineRow[] = report.rows.map((f) => {
    const saved = baseline.runs.map((run) => run.figures[f.id]).filter((x) => x !== undefined);
    if (!saved.length) return { id: f.id, nowMs: f.p50Ms, baselineMs: null, ratio: null, band: null, verdict: 'new' };
    const then = median(saved.map((s) => s.p50Ms));
    const band = Math.max(
      noiseBand(f.p50Ms, f.madMs),
      median(saved.map((s) => noiseBand(s.p50Ms, s.madMs))),
      runNoise(saved.map((s) => s.p50Ms)),
    );
    const ratio = f.p50Ms / then;
    return { id: f.id, nowMs: f.p50Ms, baselineMs: then, ratio, band, verdict: verdictOf(ratio, band) };
  });
  const now = new Set(report.rows.map((f) => f.id));
  const gone = new Set<string>();
  for (const run of baseline.runs) for (const id of Object.keys(run.figures)) if (!now.has(id)) gone.add(id);
  for (const id of gone) {
    const then = median(baseline.runs.flatMap((run) => (run.figures[id] ? [run.figures[id]!.p50Ms] : [])));
    rows.push({ id, nowMs: null, baselineMs: then, ratio: null, band: null, verdict: 'gone' });
  }
  const last = baseline.runs[baseline.runs.length - 1];
  return {
    name: baseline.name,
    runs: baseline.runs.length,
    lastDate: last?.date ?? '',
    machine: last?.machine ?? 'unknown',
    rows,
    regressions: rows.filter((r) => r.verdict === 'REGRESSION').length,
  };
}
