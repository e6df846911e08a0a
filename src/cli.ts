#!/usr/bin/env node
// `hybrid-similarity info | bench | calibrate`: the machine as the library sees it, the
// benchmark suite, and a crossover calibration that writes a recommended TOML config. --json
// for machine-readable output.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { runSuite } from './bench-suite.js';
import { calibrate } from './calibrate.js';
import { createHybrid } from './engine.js';

const HELP = `usage: hybrid-similarity <command> [options]

commands:
  info                     CPU and GPU as the library sees them (adapter, limits, features)
  bench                    top-10 over 16 .. 1M rows, 64 queries, spreading: CPU, GPU and auto, p50/p99
  calibrate                sweep corpus sizes on CPU and GPU, find the crossover, print a TOML config

options:
  --json                   machine-readable output
  --allow-software         use a software GPU adapter (lavapipe, SwiftShader) if that is all there is
  --quick                  bench: a short run (up to 64k rows)
  --dim N                  row length (calibrate 384, bench 128)
  --max-rows N             largest corpus (calibrate 262144, bench 1048576)
  --out FILE               calibrate: also write the TOML to FILE
  --help                   this text`;

async function main(argv: string[]): Promise<number> {
  const command = argv.find((a) => !a.startsWith('--'));
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  if (flag('help') || !command) {
    console.log(HELP);
    return command || flag('help') ? 0 : 1;
  }
  let gpu: unknown;
  if (flag('allow-software')) {
    try {
      const name = 'webgpu';
      gpu = ((await import(name)) as { create: (flags: string[]) => unknown }).create([]);
    } catch {
      gpu = undefined;
    }
  }
  const engine = await createHybrid(gpu === undefined ? {} : { gpu });
  try {
    if (command === 'info') {
      const info = engine.info();
      if (flag('json')) console.log(JSON.stringify(info, null, 2));
      else {
        console.log(`CPU: WASM SIMD kernels, ${info.cpu.wasmBytes} bytes (from ${info.cpu.wasmSource})`);
        console.log(info.gpu ? `GPU: ${info.gpu.adapter.description || info.gpu.adapter.device} (${info.gpu.adapter.vendor}, ${info.gpu.adapter.architecture}); features ${info.gpu.features.join(', ') || 'none'}` : 'GPU: none');
      }
      return 0;
    }
    if (command === 'bench') {
      const started = performance.now();
      const rows = await runSuite(engine, {
        quick: flag('quick'),
        dim: value('dim') ? Number(value('dim')) : undefined,
        maxRows: value('max-rows') ? Number(value('max-rows')) : undefined,
        onProgress: (message) => process.stderr.write(`  ${message} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`),
      });
      const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, gpu: engine.info().gpu?.adapter ?? null };
      if (flag('json')) console.log(JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2));
      else {
        console.log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; GPU: ${machine.gpu ? machine.gpu.description || machine.gpu.device : 'none'}`);
        console.table(rows.map((r) => ({ ...r, p50Ms: Number(r.p50Ms.toFixed(4)), p99Ms: Number(r.p99Ms.toFixed(4)) })));
      }
      return 0;
    }
    if (command === 'calibrate') {
      const result = await calibrate(engine, {
        dim: value('dim') ? Number(value('dim')) : undefined,
        maxRows: value('max-rows') ? Number(value('max-rows')) : undefined,
        onPoint: (p) => process.stderr.write(`  ${String(p.rows).padStart(8)} rows: cpu ${p.cpuMs.toFixed(3)} ms` +
          (p.gpuMs === null ? '' : `, gpu ${p.gpuMs.toFixed(3)} ms, speedup ${p.speedup!.toFixed(2)}x`) + '\n'),
      });
      const out = value('out');
      if (out) writeFileSync(out, result.toml);
      console.log(flag('json') ? JSON.stringify(result, null, 2) : result.toml);
      return 0;
    }
    console.error(`unknown command '${command}'\n\n${HELP}`);
    return 1;
  } finally {
    await engine.dispose();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
