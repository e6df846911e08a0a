#!/usr/bin/env node
// `hybrid-similarity info | calibrate`: the machine as the library sees it, and a crossover
// calibration that writes a recommended TOML config. --json for machine-readable output.
import { writeFileSync } from 'node:fs';
import { calibrate } from './calibrate.js';
import { createHybrid } from './engine.js';

const HELP = `usage: hybrid-similarity <command> [options]

commands:
  info                     CPU and GPU as the library sees them (adapter, limits, features)
  calibrate                sweep corpus sizes on CPU and GPU, find the crossover, print a TOML config

options:
  --json                   machine-readable output
  --allow-software         use a software GPU adapter (lavapipe, SwiftShader) if that is all there is
  --dim N                  row length for calibrate (default 384)
  --max-rows N             largest corpus for calibrate (default 262144)
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
