#!/usr/bin/env node
// `hybrid-similarity info | bench | calibrate | plot | inspect`: the machine as the library sees
// it, the benchmark suite (src/bench/), a crossover calibration that writes a recommended TOML
// config, the plots of a saved suite report, and a saved index or graph file checked
// (src/store/format/inspect.ts). --json for machine-readable output; progress on stderr.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compareWithBaseline, loadBaseline, saveBaseline, type BaselineComparison } from './bench/baseline.js';
import { formatComparison, formatReport } from './bench/format.js';
import { SUITE_MODULES } from './bench/modules/index.js';
import { suitePlots } from './bench/plots.js';
import { renderPlots } from './bench/render.js';
import { runSuite } from './bench/runner.js';
import type { SuiteReport } from './bench/types.js';
import { calibrate } from './calibrate.js';
import { loadConfig } from './config-sources.js';
import { createHybrid, type HybridOptions } from './engine.js';
import { HybridError } from './errors.js';
import { formatInspection, inspectFile, inspectionJson } from './store/format/inspect.js';

/** `text` wrapped at `width` columns, every line after the first indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const MODULES = SUITE_MODULES.map((m) => `                             ${m.name.padEnd(10)} ${wrap(m.description, 68, 40)}`).join('\n');

const HELP = `usage: hybrid-similarity <command> [options]

commands:
  info                     the CPU kernels and the GPU as the library sees them (adapter, limits, features)
  bench                    the benchmark suite (tinybench; median and p99 per figure, results checked
                           against a float64 reference first), in modules:
${MODULES}
                           each of ours on the CPU, the GPU (when there is one) and auto
  calibrate                sweep corpus sizes on CPU and GPU, find the crossover, time the CPU kernel
                           choices ([cpu.strategy]), print a TOML config
  plot FILE                draw the plots of a saved bench report (suite.json)
  inspect FILE             a saved index or graph file: header and sections, every checksum verified

options:
  --json                   machine-readable output on stdout (progress stays on stderr)
  --allow-software         use a software GPU adapter (lavapipe, SwiftShader) if that is all there is
  --config FILE            a TOML config (e.g. from calibrate) for the engine
  --dim N                  row length (calibrate 384; bench sweeps 384, peers keep 768)
  --max-rows N             largest corpus (calibrate 262144, bench 1048576)
  --verbose                the engine's messages on stderr (how the GPU was found, warm-up)
  --help                   this text
bench:
  --quick                  a reduced suite (under 2 minutes on 2 cores)
  --only A,B               run only these modules (${SUITE_MODULES.map((m) => m.name).join(', ')})
  --out DIR                write DIR/suite.json (-quick, -MODULES) and its plots in DIR/plots(-quick, -MODULES)/
  --no-plots               with --out: no plots
  --save-baseline NAME     add this run to baseline NAME (repeat to measure run-to-run noise)
  --baseline NAME          compare with baseline NAME (saved before with --save-baseline NAME): ratio per
                           figure, regressions beyond the noise band
  --baseline-dir DIR       where baselines live (default bench/baselines)
  --fail-on-regression     exit 3 when the comparison finds a regression
calibrate:
  --out FILE               also write the TOML to FILE
plot:
  --out DIR                where the SVG and PNG files go (default: plots/ beside FILE)

exit status: 0, or 1 on an error (bench: a task that threw; inspect: a file that is not valid), 3 on a regression with --fail-on-regression`;

/** Options that take a value, and those that do not: anything else is an error. */
const VALUED = new Set(['dim', 'max-rows', 'out', 'only', 'config', 'save-baseline', 'baseline', 'baseline-dir']);
const FLAGS = new Set(['json', 'allow-software', 'verbose', 'help', 'quick', 'no-plots', 'fail-on-regression']);

function integerOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new HybridError('INVALID_ARGUMENT', `--${name} must be an integer >= ${min}, got '${value}'`, name);
  return n;
}

async function main(argv: string[]): Promise<number> {
  for (const arg of argv) {
    if (arg.startsWith('--') && !VALUED.has(arg.slice(2)) && !FLAGS.has(arg.slice(2))) {
      throw new HybridError('INVALID_ARGUMENT', `unknown option ${arg} (hybrid-similarity --help lists them)`, arg.slice(2));
    }
  }
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && VALUED.has(argv[i - 1]!.slice(2))));
  const [command, argument] = positional;
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    if (at < 0) return undefined;
    const v = argv[at + 1];
    if (v === undefined || v.startsWith('--')) throw new HybridError('INVALID_ARGUMENT', `--${name} needs a value`, name);
    return v;
  };
  if (flag('help') || !command) {
    console.log(HELP);
    return command || flag('help') ? 0 : 1;
  }
  if (!['info', 'bench', 'calibrate', 'plot', 'inspect'].includes(command)) {
    console.error(`unknown command '${command}'\n\n${HELP}`);
    return 1;
  }
  if (command === 'plot') {
    if (!argument) throw new HybridError('INVALID_ARGUMENT', 'plot needs a suite report: hybrid-similarity plot bench/results/suite.json', 'file');
    const report = JSON.parse(readFileSync(argument, 'utf8')) as SuiteReport;
    if (report.schema !== 'hybrid-similarity/bench-suite@1') throw new HybridError('INVALID_ARGUMENT', `${argument} is not a bench suite report`, 'file');
    for (const file of await renderPlots(suitePlots(report), value('out') ?? join(dirname(argument), 'plots'))) console.log(`wrote ${file}`);
    return 0;
  }

  if (command === 'inspect') {
    if (!argument) throw new HybridError('INVALID_ARGUMENT', 'inspect needs a file: hybrid-similarity inspect index.hsf', 'file');
    const inspection = await inspectFile(argument);
    if (flag('json')) console.log(JSON.stringify(inspectionJson(inspection), null, 2));
    else console.log(formatInspection(argument, inspection));
    if (inspection.problem) console.error(`${inspection.problem.code}: ${inspection.problem.message}`);
    return inspection.valid ? 0 : 1;
  }

  const dim = integerOption(value('dim'), 'dim', 1);
  const maxRows = integerOption(value('max-rows'), 'max-rows', 16);
  let gpu: unknown;
  if (flag('allow-software')) {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    try {
      const name = 'webgpu';
      gpu = ((await import(name)) as { create: (flags: string[]) => unknown }).create([]);
    } catch {
      // The GPU in Node needs the optional peer dependency `webgpu`.
      console.error('--allow-software: the webgpu package is not installed (npm install webgpu); looking for a GPU as usual');
      gpu = undefined;
    }
  }
  const configFile = value('config');
  const config: HybridOptions = configFile ? await loadConfig(configFile) : {};
  // The library writes nothing itself; --verbose hands it a logger that writes to stderr.
  if (flag('verbose')) config.logger = { debug: (m) => console.error(m), info: (m) => console.error(m), warn: (m) => console.error(m), error: (m) => console.error(m) };
  const engine = await createHybrid(gpu === undefined ? config : { ...config, gpu });
  try {
    if (command === 'info') {
      const info = engine.info();
      if (flag('json')) console.log(JSON.stringify(info, null, 2));
      else {
        console.log(`CPU: WASM SIMD kernels (${info.cpu.kernels} module), ${info.cpu.wasmBytes} bytes (from ${info.cpu.wasmSource})`);
        console.log(info.gpu ? `GPU: ${info.gpu.adapter.description || info.gpu.adapter.device} (${info.gpu.adapter.vendor}, ${info.gpu.adapter.architecture}); features ${info.gpu.features.join(', ') || 'none'}` : 'GPU: none');
      }
      return 0;
    }
    if (command === 'calibrate') {
      const result = await calibrate(engine, {
        dim, maxRows,
        onPoint: (p) => process.stderr.write(`  ${String(p.rows).padStart(8)} rows: cpu ${p.cpuMs.toFixed(3)} ms` +
          (p.gpuMs === null ? '' : `, gpu ${p.gpuMs.toFixed(3)} ms, speedup ${p.speedup!.toFixed(2)}x`) + '\n'),
      });
      const out = value('out');
      if (out) writeFileSync(out, result.toml);
      console.log(flag('json') ? JSON.stringify(result, null, 2) : result.toml);
      return 0;
    }
    return await bench(engine, { flag, value, dim, maxRows });
  } finally {
    await engine.dispose();
  }
}

async function bench(engine: Awaited<ReturnType<typeof createHybrid>>, options: {
  flag: (name: string) => boolean; value: (name: string) => string | undefined; dim: number | undefined; maxRows: number | undefined;
}): Promise<number> {
  const { flag, value } = options;
  const quick = flag('quick');
  const baselineDir = value('baseline-dir') ?? join('bench', 'baselines');
  const compareName = value('baseline');
  // A missing baseline is an error before the run, not after it.
  const baseline = compareName ? loadBaseline(baselineDir, compareName, quick) : null;
  const only = value('only')?.split(',').map((s) => s.trim()).filter(Boolean);

  // Peers print banners to stdout (TF.js, simsimd); stdout is for the report alone.
  const log = console.log;
  console.log = (...args: unknown[]) => console.error(...args);
  let report: SuiteReport;
  try {
    report = await runSuite(engine, {
      quick, ...(options.dim ? { dim: options.dim } : {}), ...(options.maxRows ? { maxRows: options.maxRows } : {}), ...(only ? { only } : {}),
      onProgress: (message) => process.stderr.write(`${message}\n`),
    });
  } finally {
    console.log = log;
  }

  const comparison: BaselineComparison | null = baseline ? compareWithBaseline(report, baseline) : null;
  const files: string[] = [];
  const save = value('save-baseline');
  if (save) files.push(saveBaseline(baselineDir, save, report).path);
  const out = value('out');
  if (out) {
    mkdirSync(out, { recursive: true });
    // suite.json, suite-quick.json; a run of some modules only: suite-peers.json, suite-cosine+spreading-quick.json.
    const stem = `suite${only?.length ? `-${only.join('+')}` : ''}${quick ? '-quick' : ''}`;
    const file = join(out, `${stem}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    files.push(file);
    if (!flag('no-plots')) {
      try {
        files.push(...await renderPlots(suitePlots(report), join(out, stem === 'suite' ? 'plots' : `plots${stem.slice(5)}`)));
      } catch (error) {
        process.stderr.write(`no plots: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  }

  if (flag('json')) {
    console.log(JSON.stringify({ ...report, baseline: comparison, files }, null, 2));
  } else {
    console.log(formatReport(report));
    if (comparison) console.log(`\n${formatComparison(comparison)}`);
    for (const file of files) console.log(`wrote ${file}`);
  }
  if (report.errors.length) return 1;
  if (comparison && comparison.regressions > 0 && flag('fail-on-regression')) return 3;
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  console.error(error instanceof HybridError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
