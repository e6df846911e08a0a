// The command line's long runs (npm run test:long): the whole quick suite, every module, with
// the GPU where there is an adapter; a saved baseline compared in text and in JSON; the report
// with its plots. The quick checks of the same commands are in test/cli.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SUITE_MODULES } from '../../src/bench/index.js';
import { runGpuTests } from '../gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'hs-cli-long-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(...args: string[]): { stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [cli, ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  if (child.status !== 0) throw new Error(`hybrid-similarity ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  return { stdout: child.stdout, stderr: child.stderr };
}

/** The smallest bench run (one module, 64 rows of 8). */
const tiny = ['bench', '--only', 'cosine', '--quick', '--max-rows', '64', '--dim', '8'];

describe('cli, long runs', () => {
  it('bench --save-baseline, then --baseline: a comparison row per figure in the JSON', () => {
    const dir = join(scratch, 'baselines');
    const first = JSON.parse(run(...tiny, '--json', '--save-baseline', 'cli', '--baseline-dir', dir).stdout);
    expect(first.files).toEqual([join(dir, 'suite-quick-cli.json')]);
    const second = JSON.parse(run(...tiny, '--json', '--baseline', 'cli', '--baseline-dir', dir).stdout);
    expect(second.baseline.name).toBe('cli');
    expect(second.baseline.rows.map((r: { id: string }) => r.id).sort()).toEqual(second.rows.map((r: { id: string }) => r.id).sort());
    for (const r of second.baseline.rows) {
      expect(['REGRESSION', 'faster', 'same (within noise)']).toContain(r.verdict);
      expect(r.ratio).toBeCloseTo(r.nowMs / r.baselineMs, 9);
      expect(r.band).toBeGreaterThanOrEqual(0.03);
    }
  });

  it('bench --out writes the report and its plots; plot redraws them from the file', () => {
    const out = join(scratch, 'results');
    const text = run(...tiny, '--out', out).stdout;
    expect(text).toMatch(/### cosine\n\n\| operation \| shape \| batch \| cpu median \(p99\)/);
    const file = join(out, 'suite-cosine-quick.json');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(out, 'plots-cosine-quick', 'latency-vs-batch.png'))).toBe(true);
    const again = join(scratch, 'again');
    expect(run('plot', file, '--out', again).stdout).toMatch(/throughput-vs-batch\.svg/);
    expect(existsSync(join(again, 'throughput-vs-batch.png'))).toBe(true);
  });

  it('bench --quick --json: every module; every operation and batch on the CPU, auto (and the GPU with --allow-software)', () => {
    const { stdout, stderr } = run('bench', '--quick', '--json', '--max-rows', '256', ...(runGpuTests ? ['--allow-software'] : []));
    const report = JSON.parse(stdout);
    expect(report.machine.cores).toBeGreaterThan(0);
    // Progress went to stderr, one line per figure group of each module.
    for (const module of SUITE_MODULES) expect(stderr).toContain(`[${module.name}]`);
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
    expect(report.errors).toEqual([]);
  });

  it('bench --save-baseline twice, then --baseline in text: the comparison names the runs saved', () => {
    const dir = join(scratch, 'baselines');
    const tiny = ['bench', '--only', 'cosine', '--quick', '--max-rows', '64', '--dim', '8', '--baseline-dir', dir];
    run(...tiny, '--save-baseline', 'long');
    run(...tiny, '--save-baseline', 'long');
    const { stdout } = run(...tiny, '--baseline', 'long');
    expect(stdout).toMatch(/### against baseline 'long' \(2 runs/);
  });
});
