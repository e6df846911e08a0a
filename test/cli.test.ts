// The command line: `hybrid-similarity info | bench | calibrate | plot` (bin in package.json, dist/cli.js).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigToml } from '../src/index.js';
import { runGpuTests } from './gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], {
  cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
});

const scratch = mkdtempSync(join(tmpdir(), 'hs-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const tiny = ['bench', '--only', 'cosine', '--quick', '--max-rows', '64', '--dim', '8'];

describe('cli', () => {
  it('--help lists the commands; an unknown command fails with the usage', () => {
    expect(run('--help')).toMatch(/usage: hybrid-similarity <command>[\s\S]*calibrate/);
    const bad = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('info --json reports the CPU kernels and the GPU (or null)', () => {
    const info = JSON.parse(run('info', '--json'));
    expect(info.cpu.simd).toBe(true);
    expect(info.cpu.wasmSource).toBe('url');
    expect('gpu' in info).toBe(true);
  });

  it('bench --quick --json: every operation and batch on the CPU, auto (and the GPU with --allow-software)', () => {
    const report = JSON.parse(run('bench', '--quick', '--json', '--max-rows', '256', ...(runGpuTests ? ['--allow-software'] : [])));
    expect(report.machine.cores).toBeGreaterThan(0);
    const seen = new Set(report.rows.map((r: { operation: string; batch: number; backend: string }) => `${r.operation}|${r.batch}|${r.backend}`));
    const backends = runGpuTests ? ['cpu', 'gpu', 'auto'] : ['cpu', 'auto'];
    for (const batch of [16, 64, 256]) for (const b of backends) expect(seen.has(`search top-10|${batch}|${b}`)).toBe(true);
    for (const b of backends) {
      expect(seen.has(`searchBatch top-10|${64 * 256}|${b}`)).toBe(true);
      expect(seen.has(`spreading 4 hops|10000|${b}`)).toBe(true);
    }
    for (const r of report.rows) {
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
    }
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

  it('bench --save-baseline, then --baseline: a comparison row per figure in the JSON', () => {
    const dir = join(scratch, 'baselines');
    const first = JSON.parse(run(...tiny, '--json', '--save-baseline', 'cli', '--baseline-dir', dir));
    expect(first.files).toEqual([join(dir, 'suite-quick-cli.json')]);
    const second = JSON.parse(run(...tiny, '--json', '--baseline', 'cli', '--baseline-dir', dir));
    expect(second.baseline.name).toBe('cli');
    expect(second.baseline.rows.map((r: { id: string }) => r.id).sort()).toEqual(second.rows.map((r: { id: string }) => r.id).sort());
    for (const r of second.baseline.rows) {
      expect(['REGRESSION', 'faster', 'same (within noise)']).toContain(r.verdict);
      expect(r.ratio).toBeCloseTo(r.nowMs / r.baselineMs, 9);
      expect(r.band).toBeGreaterThanOrEqual(0.03);
    }
    const text = run(...tiny, '--baseline', 'cli', '--baseline-dir', dir);
    expect(text).toMatch(/### against baseline 'cli' \(1 run/);
  });

  it('bench: a missing baseline or a bad option fails at once with a typed error', () => {
    const missing = spawnSync(process.execPath, [cli, ...tiny, '--baseline', 'nope', '--baseline-dir', scratch], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/INVALID_ARGUMENT: no baseline 'nope'.*--save-baseline nope --quick/);
    const bad = spawnSync(process.execPath, [cli, 'bench', '--max-rows', '3'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--max-rows must be an integer >= 16/);
    const only = spawnSync(process.execPath, [cli, 'bench', '--only', 'nosuch'], { encoding: 'utf8' });
    expect(only.stderr).toMatch(/unknown bench module 'nosuch' \(modules: cosine, store, spreading, threads, batching, peers\)/);
  });

  it('bench --out writes the report and its plots; plot redraws them from the file', () => {
    const out = join(scratch, 'results');
    const text = run(...tiny, '--out', out);
    expect(text).toMatch(/### cosine\n\n\| operation \| shape \| batch \| cpu median \(p99\)/);
    const file = join(out, 'suite-cosine-quick.json');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(out, 'plots-cosine-quick', 'latency-vs-batch.png'))).toBe(true);
    const again = join(scratch, 'again');
    expect(run('plot', file, '--out', again)).toMatch(/throughput-vs-batch\.svg/);
    expect(existsSync(join(again, 'throughput-vs-batch.png'))).toBe(true);
  });
});
