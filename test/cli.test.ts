// The command line: `hybrid-similarity info | bench | calibrate | plot` (bin in package.json, dist/cli.js).
// The whole quick suite and a text comparison with a baseline run in test/long/cli.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SUITE_MODULES } from '../src/bench/index.js';
import { parseConfigToml } from '../src/index.js';
import { runGpuTests } from './gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');

/** Run the command line; its streams are captured (progress and Dawn's lines never reach ours). */
function cliRun(...args: string[]) {
  const child = spawnSync(process.execPath, [cli, ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

/** stdout of a command that must succeed. */
function run(...args: string[]): string {
  const result = cliRun(...args);
  if (result.status !== 0) throw new Error(`hybrid-similarity ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

const scratch = mkdtempSync(join(tmpdir(), 'hs-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const tiny = ['bench', '--only', 'cosine', '--quick', '--max-rows', '64', '--dim', '8'];

describe('cli', () => {
  it('--help lists the commands and every bench module; an unknown command or option fails with the usage', () => {
    const help = run('--help');
    expect(help).toMatch(/usage: hybrid-similarity <command>[\s\S]*calibrate/);
    for (const module of SUITE_MODULES) {
      expect(help).toMatch(new RegExp(`^ +${module.name} +${module.description.split(' ').slice(0, 3).join(' ').replace(/[()]/g, '\\$&')}`, 'm'));
    }
    const bad = cliRun('frobnicate');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
    const option = cliRun('info', '--frobnicate');
    expect(option.status).toBe(1);
    expect(option.stderr).toMatch(/INVALID_ARGUMENT: unknown option --frobnicate/);
  });

  it('info --json reports the CPU kernels and the GPU (or null), and nothing on stderr', () => {
    const result = cliRun('info', '--json');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const info = JSON.parse(result.stdout);
    expect(info.cpu.simd).toBe(true);
    expect(info.cpu.wasmSource).toBe('url');
    expect('gpu' in info).toBe(true);
  });

  it('--verbose: the engine\'s messages (how it looked for a GPU) on stderr', () => {
    const result = cliRun('info', '--verbose');
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^hybrid-similarity: GPU: /m);
    expect(result.stdout).toMatch(/^CPU: WASM SIMD kernels/);
  });

  it('calibrate without a GPU recommends the CPU, as TOML the loader reads', () => {
    const result = JSON.parse(run('calibrate', '--json', '--max-rows', '64', '--dim', '16'));
    expect(result.points.map((p: { rows: number }) => p.rows)).toEqual([16, 32, 64]);
    for (const p of result.points) expect(p.cpuMs).toBeGreaterThan(0);
    if (result.points[0].gpuMs === null) {
      expect(result.crossoverRows).toBeNull();
      expect(parseConfigToml(result.toml)).toMatchObject({ forceCpuMode: true, gpuSpeedupThreshold: 1.5 });
    }
  });

  it.skipIf(!runGpuTests)('calibrate --allow-software measures the GPU too', () => {
    const result = JSON.parse(run('calibrate', '--json', '--allow-software', '--max-rows', '128', '--dim', '16'));
    for (const p of result.points) {
      expect(p.gpuMs).toBeGreaterThan(0);
      expect(p.speedup).toBeCloseTo(p.cpuMs / p.gpuMs, 6);
    }
    const fields = parseConfigToml(result.toml);
    if (result.crossoverRows === null) expect(fields.forceCpuMode).toBe(true);
    else expect(fields.gpuMinBatchSize).toBe(result.crossoverRows);
  });

  it('bench: a missing baseline or a bad option fails at once with a typed error', () => {
    const missing = cliRun(...tiny, '--baseline', 'nope', '--baseline-dir', scratch);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/INVALID_ARGUMENT: no baseline 'nope'.*--save-baseline nope --quick/);
    const bad = cliRun('bench', '--max-rows', '3');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--max-rows must be an integer >= 16/);
    const only = cliRun('bench', '--only', 'nosuch');
    expect(only.stderr).toMatch(/unknown bench module 'nosuch' \(modules: cosine, store, spreading, threads, batching, peers\)/);
  });
});
