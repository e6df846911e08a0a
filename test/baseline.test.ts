// Benchmark baselines (bench/baseline.mjs): saved, compared as ratios, regressions flagged only
// beyond the noise band of the samples.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs bench helper without typings
import { baselineStep, noiseBand } from '../bench/baseline.mjs';

const task = (name: string, p50: number, mad: number) => ({ name, result: { latency: { p50, mad, samplesCount: 50 } } });
const name = `test-${process.pid}`;
const scratch = mkdtempSync(join(tmpdir(), 'hs-baseline-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(join(__dirname, '..', 'bench', 'baselines', `unit-${name}.json`), { force: true });
});

describe('bench baselines', () => {
  it('noise band: 3 x relative MAD, at least 3%', () => {
    expect(noiseBand({ p50: 10, mad: 0.01 })).toBe(0.03);
    expect(noiseBand({ p50: 10, mad: 1 })).toBeCloseTo(0.3);
  });

  it('saves, then compares: same, faster, regression, new', () => {
    baselineStep('unit', ['--save-baseline', name], [task('a', 10, 0.05), task('b', 10, 0.05), task('c', 10, 0.05)], { cpu: 'test' });
    const rows = baselineStep('unit', ['--baseline', name],
      [task('a', 10.2, 0.05), task('b', 8, 0.05), task('c', 12, 0.05), task('d', 1, 0.01)], { cpu: 'test' }) as Array<{ task: string; verdict: string; ratio: number | null }>;
    expect(rows.map((r) => r.verdict)).toEqual(['same (within noise)', 'faster', 'REGRESSION', 'new']);
    expect(rows[2]!.ratio).toBeCloseTo(1.2);
  });

  it('a missing baseline is an error that says how to make one', () => {
    expect(() => baselineStep('unit', ['--baseline', 'nope'], [], {})).toThrow(/--save-baseline nope/);
  });
});
