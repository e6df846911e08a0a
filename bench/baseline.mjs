// Saved baselines for the single-purpose bench scripts (bench/cpu.bench.mjs): `--save-baseline
// NAME` stores a run's medians with their spread; `--baseline NAME` compares a run with it, each
// task as a ratio, flagging a regression only beyond the noise band (3 x relative MAD of either
// run's samples, at least 3%: src/bench/baseline.ts, shared with the suite's baselines).
// Files: bench/baselines/<bench>-<NAME>.json. The suite (`npm run bench`) has its own.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noiseBand as bandOf, verdictOf } from '../dist/bench/baseline.js';

const folder = join(dirname(fileURLToPath(import.meta.url)), 'baselines');

/** The noise band of one task's latency statistics (tinybench): 3 x relative MAD, at least 3%. */
export function noiseBand(latency) {
  return bandOf(latency.p50, latency.mad);
}

/** What a baseline keeps of a tinybench task. */
export function summarise(task) {
  const latency = task.result.latency;
  return { task: task.name, medianMs: latency.p50, band: noiseBand(latency), samples: latency.samplesCount };
}

/** Handle --save-baseline / --baseline for a bench run; returns comparison rows or null. */
export function baselineStep(benchName, argv, tasks, machine) {
  const option = (flag) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const summaries = tasks.map(summarise);
  const save = option('--save-baseline');
  if (save) {
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `${benchName}-${save}.json`);
    writeFileSync(file, JSON.stringify({ name: save, date: new Date().toISOString(), machine, tasks: summaries }, null, 2) + '\n');
    console.log(`saved baseline ${save}: ${file}`);
  }
  const compare = option('--baseline');
  if (!compare) return null;
  const file = join(folder, `${benchName}-${compare}.json`);
  if (!existsSync(file)) throw new Error(`no baseline '${compare}' (${file}); make one with --save-baseline ${compare}`);
  const base = JSON.parse(readFileSync(file, 'utf8'));
  const rows = summaries.map((now) => {
    const then = base.tasks.find((t) => t.task === now.task);
    if (!then) return { task: now.task, medianMs: now.medianMs, baselineMs: null, ratio: null, verdict: 'new' };
    const ratio = now.medianMs / then.medianMs;
    const band = Math.max(now.band, then.band);
    return { task: now.task, medianMs: round(now.medianMs), baselineMs: round(then.medianMs), ratio: round(ratio), bandPct: round(band * 100), verdict: verdictOf(ratio, band) };
  });
  console.log(`compared with baseline ${compare} (${base.date}, ${base.machine?.cpu ?? 'unknown machine'}):`);
  console.table(rows);
  return rows;
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}
