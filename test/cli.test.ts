// The command line: `hybrid-similarity info | calibrate` (bin in package.json, dist/cli.js).
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfigToml } from '../src/index.js';
import { runGpuTests } from './gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], {
  cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
});

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
});
