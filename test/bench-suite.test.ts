// The benchmark suite (src/bench/): the report's shape, peers' ratios, missing peers and
// errors, crossovers, the float64 checks, baselines over a whole report, and the plot specs
// (crossover and gpuMinBatchSize marked) rendered by Vega-Lite.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  benchData, compareWithBaseline, crossoversOf, figureId, runNoise, loadBaseline, marksFor, OURS, renderPlots, runSuite,
  saveBaseline, suitePlots, type BenchFigure, type BenchModule, type SuiteReport,
} from '../src/bench/index.js';
import { createHybrid } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'hs-suite-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A busy loop of about `ms` milliseconds (tinybench times real work). */
const spin = (ms: number) => { const end = performance.now() + ms; while (performance.now() < end) { /* work */ } };
const timing = { timeMs: 20, warmupTimeMs: 5, minIterations: 5, warmupIterations: 1 };

/** A module with ours (two backends), a peer twice as slow, a peer that cannot load and a task that throws. */
const fakeModule: BenchModule = {
  name: 'fake',
  description: 'a test module',
  async *groups(context) {
    context.missing('absent-peer', 'not installed');
    yield {
      operation: 'work', batch: 100, batchUnit: 'items', shape: '1 x 100', routedAs: 'cosine',
      tasks: [
        { implementation: OURS, backend: 'cpu', fn: () => spin(1) },
        { implementation: OURS, backend: 'auto', fn: () => spin(1) },
        { implementation: 'slow-peer', fn: () => spin(2), note: 'twice the work' },
        { implementation: 'broken-peer', fn: () => { throw new Error('boom'); } },
      ],
    };
  },
};

function figure(batch: number, backend: 'cpu' | 'gpu', p50Ms: number, operation = 'search top-10'): BenchFigure {
  return {
    id: figureId(operation, `1 x ${batch}`, OURS, backend), module: 'cosine', operation, batch, batchUnit: 'rows (one query)',
    shape: `1 x ${batch}`, routedAs: 'cosine', implementation: OURS, backend, p50Ms, p99Ms: p50Ms * 1.2, meanMs: p50Ms,
    madMs: p50Ms * 0.01, samples: 50, perSecond: (batch * 1000) / p50Ms, vsOurs: null,
  };
}

/** A report whose GPU is 2x the CPU from 4096 rows on (threshold 1.5), configured at `minBatch`. */
function syntheticReport(minBatch: number): SuiteReport {
  const rows: BenchFigure[] = [];
  for (const [batch, cpu, gpu] of [[1024, 1, 2], [2048, 2, 2], [4096, 4, 2], [8192, 8, 3], [16384, 16, 5]] as const) {
    rows.push(figure(batch, 'cpu', cpu), figure(batch, 'gpu', gpu));
  }
  rows.push({ ...figure(100000, 'cpu', 3), module: 'peers', operation: 'peers: search top-10', id: 'p|ours' });
  rows.push({ ...figure(100000, 'cpu', 12), module: 'peers', operation: 'peers: search top-10', implementation: 'usearch', backend: null, vsOurs: 4, id: 'p|usearch' });
  const config = { gpuMinBatchSize: { cosine: minBatch, spreading: 512 }, gpuSpeedupThreshold: 1.5 };
  return {
    schema: 'hybrid-similarity/bench-suite@1', date: '2026-11-21T00:00:00.000Z', quick: true, durationS: 1,
    machine: {
      cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20', platform: 'linux x64', wasm: { source: 'url', bytes: 1, simd: true },
      gpu: { vendor: 'nvidia', architecture: 'hopper', device: 'H100', description: 'NVIDIA H100', software: false, features: [], limits: {} },
    },
    config, timing, modules: ['cosine', 'peers'], rows, missing: [{ implementation: 'faiss-node', reason: 'not built' }], errors: [],
    crossovers: crossoversOf(rows, 1.5, config.gpuMinBatchSize),
  };
}

describe('bench suite', () => {
  it('runSuite: figures with medians and p99, peers as ratios to ours, missing peers and errors reported', async () => {
    const engine = await createHybrid({ gpu: null });
    try {
      const report = await runSuite(engine, { modules: [fakeModule], timing });
      expect(report.schema).toBe('hybrid-similarity/bench-suite@1');
      expect(report.machine.cores).toBeGreaterThan(0);
      expect(report.machine.gpu).toBeNull();
      expect(report.timing).toEqual(timing);
      expect(report.rows.map((r) => r.id)).toEqual([
        'work | 1 x 100 | hybrid-similarity/cpu', 'work | 1 x 100 | hybrid-similarity/auto', 'work | 1 x 100 | slow-peer',
      ]);
      for (const r of report.rows) {
        expect(r.samples).toBeGreaterThanOrEqual(5);
        expect(r.p50Ms).toBeGreaterThan(0.5);
        expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
        expect(r.perSecond).toBeCloseTo((100 * 1000) / r.p50Ms, 6);
      }
      const [cpu, auto, peer] = report.rows;
      expect(cpu!.vsOurs).toBeNull();
      expect(auto!.vsOurs).toBeNull();
      expect(peer!.vsOurs).toBeCloseTo(peer!.p50Ms / cpu!.p50Ms, 9);
      expect(peer!.vsOurs).toBeGreaterThan(1.3); // twice the work
      expect(peer!.note).toBe('twice the work');
      expect(report.missing).toEqual([{ implementation: 'absent-peer', reason: 'not installed' }]);
      expect(report.errors).toEqual([{ id: 'work | 1 x 100 | broken-peer', error: 'boom' }]);
      expect(report.config.gpuMinBatchSize).toEqual({ cosine: 64, spreading: 512 });
    } finally {
      await engine.dispose();
    }
  });

  it('runSuite: the cosine module on the CPU checks and times every size, ids unique; bad options are typed errors', async () => {
    const engine = await createHybrid({ gpu: null });
    try {
      const report = await runSuite(engine, { only: ['cosine'], quick: true, maxRows: 64, dim: 24, timing });
      const ids = report.rows.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      const seen = new Set(report.rows.map((r) => `${r.operation}|${r.batch}|${r.backend}`));
      for (const op of ['cosineSimilarity', 'scores', 'search top-10']) {
        for (const batch of [16, 64]) for (const backend of ['cpu', 'auto']) expect(seen.has(`${op}|${batch}|${backend}`), `${op} ${batch} ${backend}`).toBe(true);
      }
      expect(seen.has(`searchBatch top-10|${64 * 64}|cpu`)).toBe(true);
      expect(seen.has(`cosineSimilarityMatrix|${64 * 64}|cpu`)).toBe(true);
      expect(report.crossovers).toEqual([]); // no GPU
      await expect(runSuite(engine, { only: ['nope'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(runSuite(engine, { maxRows: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await engine.dispose();
    }
  });

  it('the peers module measures every peer it can load (checked first) and lists the rest with a reason', async () => {
    const engine = await createHybrid({ gpu: null });
    try {
      const report = await runSuite(engine, { only: ['peers'], quick: true, maxRows: 512, timing });
      const measured = new Set(report.rows.map((r) => r.implementation));
      const missing = new Map(report.missing.map((m) => [m.implementation, m.reason]));
      for (const peer of ['naive JS', 'simsimd', 'usearch', 'faiss-node', 'TF.js WASM']) {
        expect(measured.has(peer) || (missing.get(peer) ?? '').length > 0, peer).toBe(true);
      }
      expect(measured.has('naive JS')).toBe(true);
      const top = report.rows.filter((r) => r.operation === 'peers: search top-10');
      expect(top.find((r) => r.implementation === OURS)?.backend).toBe('cpu');
      for (const r of top) if (r.implementation !== OURS) expect(r.vsOurs).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });

  it('the float64 checks fail on a wrong row, a wrong score or a short result', () => {
    const random = benchData.seededRandom(7);
    const dim = 8;
    const rows = benchData.fill(random, 50 * dim);
    const query = benchData.fill(random, dim);
    const want = benchData.referenceCosines(query, rows, dim);
    const best = benchData.topOf(want, 5);
    expect(() => benchData.checkTopK('ok', best, best.map((r) => want[r]!), want, 5, 1e-5)).not.toThrow();
    const worst = benchData.topOf(want.map((x) => -x), 1)[0]!;
    expect(() => benchData.checkTopK('wrong row', [...best.slice(0, 4), worst], null, want, 5, 1e-5)).toThrow(/not in the top 5/);
    expect(() => benchData.checkTopK('short', best.slice(0, 4), null, want, 5, 1e-5)).toThrow(/4 results, want 5/);
    const scores = Float32Array.from(want);
    expect(() => benchData.checkScores('ok', scores, want, 1e-5)).not.toThrow();
    scores[3]! += 1e-3;
    expect(() => benchData.checkScores('off', scores, want, 1e-5)).toThrow(/row 3/);
  });

  it('crossovers: the smallest batch from which the GPU stays >= threshold faster', () => {
    const report = syntheticReport(64);
    expect(report.crossovers).toHaveLength(1);
    expect(report.crossovers[0]).toMatchObject({ operation: 'search top-10', batch: 4096, gpuMinBatchSize: 64, speedupThreshold: 1.5 });
    expect(report.crossovers[0]!.speedups.map((s) => s.speedup)).toEqual([0.5, 1, 2, 8 / 3, 16 / 5]);
    // A dip below the threshold at the largest batch: no crossover.
    const rows = [...report.rows.filter((r) => r.batch !== 16384), figure(16384, 'cpu', 5), figure(16384, 'gpu', 5)];
    expect(crossoversOf(rows, 1.5, report.config.gpuMinBatchSize)[0]!.batch).toBeNull();
  });

  it('baselines over a whole report: ratios per figure, regressions beyond the band, new and gone', () => {
    const dir = join(scratch, 'baselines');
    const before = syntheticReport(64);
    expect(saveBaseline(dir, 'b1', before)).toMatchObject({ runs: 1, path: join(dir, 'suite-quick-b1.json') });
    const file = loadBaseline(dir, 'b1', true);
    expect(file.runs).toHaveLength(1);

    const after = syntheticReport(64);
    const scale = (id: string, k: number) => { const f = after.rows.find((r) => r.id === id)!; f.p50Ms *= k; f.madMs *= k; };
    scale(figureId('search top-10', '1 x 4096', OURS, 'cpu'), 1.2); // +20%: beyond 3%
    scale(figureId('search top-10', '1 x 8192', OURS, 'cpu'), 1.02); // +2%: noise
    scale(figureId('search top-10', '1 x 2048', OURS, 'gpu'), 0.5); // faster
    after.rows = after.rows.filter((r) => r.id !== 'p|usearch');
    after.rows.push({ ...figure(32768, 'cpu', 30) });
    const comparison = compareWithBaseline(after, file);
    const verdict = (id: string) => comparison.rows.find((r) => r.id === id)?.verdict;
    expect(verdict(figureId('search top-10', '1 x 4096', OURS, 'cpu'))).toBe('REGRESSION');
    expect(comparison.rows.find((r) => r.verdict === 'REGRESSION')!.ratio).toBeCloseTo(1.2, 9);
    expect(verdict(figureId('search top-10', '1 x 8192', OURS, 'cpu'))).toBe('same (within noise)');
    expect(verdict(figureId('search top-10', '1 x 2048', OURS, 'gpu'))).toBe('faster');
    expect(verdict(figureId('search top-10', '1 x 32768', OURS, 'cpu'))).toBe('new');
    expect(verdict('p|usearch')).toBe('gone');
    expect(comparison.regressions).toBe(1);

    // Saved again with a run 10% slower: the run-to-run noise (3 sigma, sigma = range / 1.128 for
    // two runs) widens the band past the +20% change (now 4.8 ms against a median of 4.2 ms).
    const slower = syntheticReport(64);
    for (const f of slower.rows) f.p50Ms *= 1.1;
    expect(saveBaseline(dir, 'b1', slower).runs).toBe(2);
    const wide = compareWithBaseline(after, loadBaseline(dir, 'b1', true));
    const row = wide.rows.find((r) => r.id === figureId('search top-10', '1 x 4096', OURS, 'cpu'))!;
    expect(row.baselineMs).toBeCloseTo(4.2, 9);
    expect(row.band).toBeCloseTo((3 * 0.4) / 4.2 / 1.128, 6);
    expect(row.verdict).toBe('same (within noise)');
    // A change beyond that band is still a regression.
    scale(figureId('search top-10', '1 x 4096', OURS, 'cpu'), 1.5);
    expect(compareWithBaseline(after, loadBaseline(dir, 'b1', true)).rows.find((r) => r.id === row.id)!.verdict).toBe('REGRESSION');

    expect(runNoise([10])).toBe(0);
    expect(runNoise([10, 10, 10])).toBe(0);
    expect(runNoise([9, 10, 11])).toBeCloseTo((3 * 0.2) / 1.693, 9);
    expect(() => loadBaseline(dir, 'nope', true)).toThrow(/--save-baseline nope --quick/);
    expect(() => saveBaseline(dir, '../escape', before)).toThrow(/baseline name/);
  });

  it('plot marks: crossover and gpuMinBatchSize both when they differ, one rule when they agree', () => {
    const crossover = syntheticReport(64).crossovers[0]!;
    expect(marksFor(crossover, 64).map((m) => [m.kind, m.batch, m.label])).toEqual([
      ['crossover', 4096, 'crossover 4096'], ['gpuMinBatchSize', 64, 'gpuMinBatchSize 64'],
    ]);
    expect(marksFor(crossover, 4096).map((m) => [m.kind, m.batch, m.label])).toEqual([['both', 4096, 'crossover = gpuMinBatchSize = 4096']]);
    expect(marksFor({ ...crossover, batch: null }, 64).map((m) => m.kind)).toEqual(['gpuMinBatchSize']);
  });

  it('plots: log-log latency and throughput panels with both marks, a peers bar chart; Vega-Lite renders them', async () => {
    const report = syntheticReport(64);
    const plots = suitePlots(report);
    expect(plots.map((p) => p.name)).toEqual(['latency-vs-batch', 'throughput-vs-batch', 'peers']);
    const panel = (plots[0]!.spec.vconcat as Array<{ layer: Array<{ encoding: Record<string, { scale?: { type: string } }>; data: { values: Array<Record<string, unknown>> } }> }>)[0]!;
    expect(panel.layer[0]!.encoding.x!.scale).toEqual({ type: 'log' });
    expect(panel.layer[0]!.encoding.y!.scale).toEqual({ type: 'log' });
    expect(panel.layer[1]!.data.values.map((m) => m.batch)).toEqual([4096, 64]);
    const dir = join(scratch, 'plots');
    const files = await renderPlots(plots, dir, 400);
    expect(files).toHaveLength(6);
    const svg = readFileSync(join(dir, 'latency-vs-batch.svg'), 'utf8');
    expect(svg).toContain('crossover 4096');
    expect(svg).toContain('gpuMinBatchSize 64');
    expect(readFileSync(join(dir, 'peers.svg'), 'utf8')).toContain('usearch');
    expect(readFileSync(join(dir, 'latency-vs-batch.png')).subarray(1, 4).toString()).toBe('PNG');
  });
});
