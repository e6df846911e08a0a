// routeCall as a table: every rule and reason, with an injected clock and random draw; and the
// rolling window behind rules 4 and 5.
import { describe, expect, it } from 'vitest';
import { defaultConfig, type HybridConfig } from '../src/config.js';
import { NO_HISTORY, routeCall, type RouteInput } from '../src/router.js';
import { RollingWindow, sizeClass, Telemetry, type RouterView } from '../src/telemetry.js';

const config = defaultConfig();
const call: RouteInput = { operation: 'cosine', batchSize: 1000, requested: 'auto', gpuAvailable: true };
const view = (over: Partial<RouterView> & { speedups?: Record<number, number> } = {}): RouterView => ({
  gpuSuccessRate: over.gpuSuccessRate ?? null,
  unhealthySince: over.unhealthySince ?? null,
  probeInFlight: over.probeInFlight ?? false,
  speedup: (c) => over.speedups?.[c] ?? null,
});
const c1000 = sizeClass(1000); // 9

describe('routeCall', () => {
  const cases: Array<[string, Partial<HybridConfig>, RouterView, Partial<RouteInput>, number, number, string, string]> = [
    // name, config, view, call, now, random -> backend, reason
    ['1: forced cpu beats everything', { forceCpuMode: true }, view(), { requested: 'cpu' }, 0, 0.5, 'cpu', 'forced'],
    ['1: forced gpu even without a GPU (the engine throws GPU_UNAVAILABLE)', {}, view(), { requested: 'gpu', gpuAvailable: false }, 0, 0.5, 'gpu', 'forced'],
    ['1: forced gpu even when unhealthy', {}, view({ unhealthySince: 0 }), { requested: 'gpu' }, 1, 0.5, 'gpu', 'forced'],
    ['2: forceCpuMode', { forceCpuMode: true }, view(), {}, 0, 0.5, 'cpu', 'force-cpu'],
    ['2: no GPU', {}, view(), { gpuAvailable: false }, 0, 0.5, 'cpu', 'no-gpu'],
    ['3: below the minimum batch', {}, view({ speedups: { 5: 100 } }), { batchSize: 63 }, 0, 0.5, 'cpu', 'below-min-batch'],
    ['3: spreading minimum is 512', {}, view(), { operation: 'spreading', batchSize: 511 }, 0, 0.5, 'cpu', 'below-min-batch'],
    ['3: per-operation override', { operations: { cosine: { gpuMinBatchSize: 2000 } } }, view(), {}, 0, 0.5, 'cpu', 'below-min-batch'],
    ['4: unhealthy, resting', {}, view({ unhealthySince: 1000 }), {}, 1000 + 29999, 0.5, 'cpu', 'gpu-unhealthy'],
    ['4: unhealthy, rest over: probe', {}, view({ unhealthySince: 1000 }), {}, 1000 + 30000, 0.5, 'gpu', 'probe'],
    ['4: a probe in flight keeps the others on the CPU', {}, view({ unhealthySince: 0, probeInFlight: true }), {}, 99999, 0.5, 'cpu', 'gpu-unhealthy'],
    ['4: unhealthy beats a known speedup', {}, view({ unhealthySince: 0, speedups: { [c1000]: 10 } }), {}, 1, 0.5, 'cpu', 'gpu-unhealthy'],
    ['5: GPU slower than the threshold', {}, view({ speedups: { [c1000]: 1.4 } }), {}, 0, 0.5, 'cpu', 'gpu-slower'],
    ['5: GPU faster', {}, view({ speedups: { [c1000]: 1.5 } }), {}, 0, 0.5, 'gpu', 'gpu-faster'],
    ['5: slower, explored', {}, view({ speedups: { [c1000]: 0.2 } }), {}, 0, 0.019, 'gpu', 'explore'],
    ['5: faster, explored', {}, view({ speedups: { [c1000]: 9 } }), {}, 0, 0.01, 'cpu', 'explore'],
    ['5: no exploration at rate 0', { explorationRate: 0 }, view({ speedups: { [c1000]: 0.2 } }), {}, 0, 0, 'cpu', 'gpu-slower'],
    ['5: the threshold is configurable', { gpuSpeedupThreshold: 3 }, view({ speedups: { [c1000]: 2 } }), {}, 0, 0.5, 'cpu', 'gpu-slower'],
    ['6: untested', {}, view(), {}, 0, 0.5, 'gpu', 'gpu-untested'],
    ['6: untested, explored on the CPU', {}, view(), {}, 0, 0.001, 'cpu', 'explore'],
    ['6: speedup known for another class only', {}, view({ speedups: { 3: 0.1 } }), {}, 0, 0.5, 'gpu', 'gpu-untested'],
  ];
  it.each(cases)('%s', (_name, cfg, v, input, now, random, backend, reason) => {
    expect(routeCall({ ...config, ...cfg }, v, { ...call, ...input }, now, random)).toEqual({ backend, reason });
  });

  it('with no history (telemetry off) only rules 1-3 and the default apply', () => {
    expect(routeCall(config, NO_HISTORY, call, 0, 1)).toEqual({ backend: 'gpu', reason: 'gpu-untested' });
    expect(routeCall(config, NO_HISTORY, { ...call, batchSize: 1 }, 0, 1)).toEqual({ backend: 'cpu', reason: 'below-min-batch' });
  });
});

describe('rolling window', () => {
  it('keeps the last N samples: the success rate ages', () => {
    const window = new RollingWindow(4);
    for (const ok of [false, false, true, true]) window.push({ latencyMs: 1, perItemMs: 1, sizeClass: 0, ok });
    expect(window.successRate()).toBe(0.5);
    window.push({ latencyMs: 1, perItemMs: 1, sizeClass: 0, ok: true });
    window.push({ latencyMs: 1, perItemMs: 1, sizeClass: 0, ok: true });
    expect(window.successRate()).toBe(1);
  });

  it('per-item medians by size class, else the neighbouring classes', () => {
    const window = new RollingWindow(10);
    window.push({ latencyMs: 4, perItemMs: 4, sizeClass: 5, ok: true });
    window.push({ latencyMs: 8, perItemMs: 8, sizeClass: 7, ok: true });
    window.push({ latencyMs: 99, perItemMs: 99, sizeClass: 6, ok: false });
    expect(window.perItemMedian(5)).toBe(4);
    expect(window.perItemMedian(6)).toBe(4); // neighbours 5 and 7: [4, 8], nearest-rank median 4
    expect(window.perItemMedian(9)).toBeNull();
  });

  it('speedup = median per-item CPU / median per-item GPU, each backend from its own samples', () => {
    const telemetry = new Telemetry(100, true);
    for (let i = 0; i < 5; i++) {
      telemetry.recordCall('cosine', 'cpu', 10, 1000);
      telemetry.recordCall('cosine', 'gpu', 2, 1000);
    }
    telemetry.recordCall('cosine', 'gpu', 50, 1000, 'timeout'); // failures carry no latency
    const v = telemetry.view('cosine');
    expect(v.speedup(sizeClass(1000))).toBeCloseTo(5);
    expect(v.gpuSuccessRate).toBeCloseTo(5 / 6);
    expect(telemetry.snapshot(true).operations.cosine.speedupBySizeClass[String(sizeClass(1000))]).toBeCloseTo(5);
  });

  it('with telemetry off nothing is recorded', () => {
    const telemetry = new Telemetry(100, false);
    telemetry.recordCall('cosine', 'cpu', 10, 1000);
    telemetry.recordDecision('cosine', 'search', 'cpu', 'no-gpu', 1000);
    const stats = telemetry.snapshot(false);
    expect(stats.operations.cosine.cpu.calls).toBe(0);
    expect(stats.decisions.cosine).toEqual({});
  });
});
