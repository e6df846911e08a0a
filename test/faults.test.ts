// Fault injection through the `gpu` option: a wrapper around the real (lavapipe) GPU whose
// device fails on demand. Every 'auto' call must still return the float64-correct answer, the
// counters must say what happened, and the GPU must serve again after recovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid, type HybridEngine } from '../src/index.js';
import { gpuOf } from '../src/testing.js';
import { requireGpuInCi, runGpuTests, testGpu, LAVAPIPE_HELP } from './gpu-setup.js';
import { cosineReference, expectScoresClose, expectTopK, expectTopKWithin, randomMatrix, rng } from './helpers.js';

requireGpuInCi();

type Fault = 'oom-create' | 'submit-throws' | 'hang' | 'destroy-mid-call' | 'wrong-numbers' | 'validation' | 'pipeline-fails' | 'destroy-before';

/** Faults armed for the next N occurrences of their trigger. */
class FaultPlan {
  private readonly armed = new Map<Fault, number>();
  readonly fired = new Map<Fault, number>();

  arm(fault: Fault, times = 1): void {
    this.armed.set(fault, (this.armed.get(fault) ?? 0) + times);
  }

  take(fault: Fault): boolean {
    const left = this.armed.get(fault) ?? 0;
    if (left <= 0) return false;
    this.armed.set(fault, left - 1);
    this.fired.set(fault, (this.fired.get(fault) ?? 0) + 1);
    return true;
  }
}

/** Bind functions to the real object, so Dawn sees its own objects as `this`. */
function forward(target: object, property: string | symbol): unknown {
  const value = Reflect.get(target, property, target) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** A hang fault ends only at the GPU time limit: its cases set a short one (the others keep engine()'s). */
function timeoutFor(fault: Fault): { gpuTimeoutMs?: number } {
  return fault === 'hang' ? { gpuTimeoutMs: 200 } : {};
}

function faultyDevice(device: GPUDevice, plan: FaultPlan): GPUDevice {
  const queue = new Proxy(device.queue, {
    get(target, property) {
      if (property === 'submit') {
        return (buffers: GPUCommandBuffer[]) => {
          if (plan.take('submit-throws')) throw new Error('queue.submit failed (injected fault)');
          if (plan.take('destroy-mid-call')) device.destroy();
          return target.submit(buffers);
        };
      }
      if (property === 'writeBuffer') {
        return (buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset?: number, size?: number) => {
          if ((buffer.label === 'queries' || buffer.label === 'activation') && plan.take('wrong-numbers')) {
            // The kernel then scores a different query: wrong numbers, no error anywhere.
            const bytes = size ?? (data as ArrayBuffer).byteLength;
            const garbage = new Float32Array(bytes / 4).map((_, i) => Math.sin(i * 12.9898) * 0.5);
            return target.writeBuffer(buffer, offset, garbage);
          }
          return target.writeBuffer(buffer, offset, data, dataOffset, size);
        };
      }
      return forward(target, property);
    },
  });
  return new Proxy(device, {
    get(target, property) {
      if (property === 'queue') return queue;
      if (property === 'createBuffer') {
        return (descriptor: GPUBufferDescriptor) => {
          if (plan.take('oom-create')) throw new Error('createBuffer: out of memory (injected fault)');
          return target.createBuffer(descriptor);
        };
      }
      if (property === 'createComputePipeline') {
        return (descriptor: GPUComputePipelineDescriptor) => {
          if (plan.take('pipeline-fails')) throw new Error('pipeline compilation failed (injected fault)');
          return target.createComputePipeline(descriptor);
        };
      }
      if (property === 'createCommandEncoder') {
        return (descriptor?: GPUCommandEncoderDescriptor) => {
          // The device is lost before the call's commands are recorded.
          if (plan.take('destroy-before')) target.destroy();
          return target.createCommandEncoder(descriptor);
        };
      }
      if (property === 'createBindGroup') {
        return (descriptor: GPUBindGroupDescriptor) => {
          // A bind group missing its last binding: Dawn reports a real validation error.
          if (plan.take('validation')) {
            return target.createBindGroup({ ...descriptor, entries: [...descriptor.entries].slice(0, -1) });
          }
          return target.createBindGroup(descriptor);
        };
      }
      if (property === 'popErrorScope') {
        return () => {
          const real = target.popErrorScope(); // keep the scope stack balanced
          return plan.take('hang') ? new Promise<GPUError | null>(() => undefined) : real;
        };
      }
      return forward(target, property);
    },
  });
}

/** The test GPU, handing out devices that fail as `plan` says. */
function faultyGpu(plan: FaultPlan): GPU {
  if (!testGpu) throw new Error(LAVAPIPE_HELP);
  return new Proxy(testGpu, {
    get(target, property) {
      if (property === 'requestAdapter') {
        return async (options?: GPURequestAdapterOptions) => {
          const adapter = await target.requestAdapter(options);
          if (!adapter) return null;
          return new Proxy(adapter, {
            get(a, p) {
              if (p === 'requestDevice') {
                return async (descriptor?: GPUDeviceDescriptor) => faultyDevice(await a.requestDevice(descriptor), plan);
              }
              return forward(a, p);
            },
          });
        };
      }
      return forward(target, property);
    },
  });
}

const dim = 24;
const vectors = randomMatrix(3000, dim, rng(1));
const query = randomMatrix(1, dim, rng(2));
const reference = cosineReference(query, vectors, dim);

async function engine(plan: FaultPlan, extra: Record<string, unknown> = {}): Promise<HybridEngine> {
  // Exploration off: every auto call here is decided by the rules alone. A generous GPU limit
  // (a test of a hang sets its own): a first call compiles its pipelines, and on a loaded machine
  // lavapipe took more than 500 ms for one, a timeout counted as a GPU failure.
  return createHybrid({ gpu: faultyGpu(plan), gpuMinBatchSize: 1, explorationRate: 0, gpuTimeoutMs: 20_000, ...extra });
}

const gpuCalls = (hs: HybridEngine) => hs.stats().operations.cosine.gpu;

describe.skipIf(!runGpuTests)('fault injection: every auto call still gets the right answer', () => {
  it('out of memory once: chunks halve and the GPU retries successfully', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan);
    plan.arm('oom-create');
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(plan.fired.get('oom-create')).toBe(1);
    expect(gpuCalls(hs).failuresByKind).toEqual({ 'out-of-memory': 1 });
    // One call, one window sample: the retry repaired it, so the GPU stays healthy.
    expect(gpuCalls(hs).calls).toBe(1);
    expect(hs.stats().operations.cosine.gpuSuccessRate).toBe(1);
    expect(hs.stats().operations.cosine.gpuUnhealthy).toBe(false);
    expect(hs.stats().operations.cosine.fallbacks).toEqual({});
    await hs.dispose();
  });

  it('out of memory every time: 3 retries, then the CPU answers', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuSuccessRateThreshold: 0 });
    plan.arm('oom-create', 4);
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(gpuCalls(hs).failuresByKind).toEqual({ 'out-of-memory': 4 });
    expect(hs.stats().operations.cosine.fallbacks).toEqual({ 'fallback:out-of-memory': 1 });
    expect(hs.stats().operations.cosine.cpu.calls).toBe(1);
    // The GPU serves again at once (threshold 0 never rests it).
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(gpuCalls(hs).calls).toBe(2);
    expect(gpuCalls(hs).failures).toBe(4);
    await hs.dispose();
  });

  it('submit throwing: internal error, CPU answers; counted in stats() and metrics()', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuSuccessRateThreshold: 0 });
    plan.arm('submit-throws');
    const index = await hs.createIndex(vectors, { dim });
    const result = await index.search(query, { k: 5 });
    expectTopK(result, 5, await index.scores(query, { backend: 'cpu' }), reference);
    expect(hs.stats().operations.cosine.fallbacks).toEqual({ 'fallback:internal': 1 });
    const metrics = hs.metrics();
    expect(metrics).toContain('hybrid_similarity_gpu_failures_total{op="cosine",kind="internal"} 1');
    expect(metrics).toContain('hybrid_similarity_fallbacks_total{op="cosine",reason="fallback:internal"} 1');
    await hs.dispose();
  });

  it('a validation error (reported by WebGPU through the error scope): CPU answers', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuSuccessRateThreshold: 0 });
    plan.arm('validation');
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(gpuCalls(hs).failuresByKind).toEqual({ validation: 1 });
    expect(hs.stats().operations.cosine.fallbacks).toEqual({ 'fallback:validation': 1 });
    await expect((async () => {
      plan.arm('validation');
      return hs.cosineSimilarity(query, vectors, { backend: 'gpu' });
    })()).rejects.toMatchObject({ kind: 'validation' });
    await hs.dispose();
  });

  it('a readback that never resolves: timeout, CPU answers', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuTimeoutMs: 100, gpuSuccessRateThreshold: 0 });
    plan.arm('hang');
    const started = performance.now();
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(hs.stats().operations.cosine.fallbacks).toEqual({ 'fallback:timeout': 1 });
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(gpuCalls(hs).calls).toBe(2);
    // Buffers of timed-out calls are destroyed, not pooled: repeated hangs do not grow the pool.
    const buffers = gpuOf(hs)!.bufferCount;
    for (let i = 0; i < 3; i++) {
      plan.arm('hang');
      expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    }
    expect(gpuOf(hs)!.bufferCount).toBeLessThanOrEqual(buffers);
    await hs.dispose();
  });

  it('a kernel returning wrong numbers is caught by the CPU cross-check', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { verifySampleRate: 1, gpuSuccessRateThreshold: 0 });
    const index = await hs.createIndex(vectors, { dim });
    plan.arm('wrong-numbers');
    expectScoresClose(await index.scores(query), reference);
    expect(plan.fired.get('wrong-numbers')).toBe(1);
    expect(hs.stats().operations.cosine.fallbacks).toEqual({ 'fallback:wrong-result': 1 });
    // Verified GPU results that are right pass.
    expectScoresClose(await index.scores(query), reference);
    expect(gpuCalls(hs).failures).toBe(1);
    await hs.dispose();
  });

  it('the device destroyed in the middle of a call: CPU answers; the GPU rests, then a probe re-acquires it', async () => {
    const plan = new FaultPlan();
    // Speedup threshold ~0: lavapipe is slower than the CPU, and this test is about recovery.
    const hs = await engine(plan, { gpuRecoveryMs: 1000, gpuSpeedupThreshold: 1e-9 });
    const index = await hs.createIndex(vectors, { dim });
    expectScoresClose(await index.scores(query), reference);
    plan.arm('destroy-mid-call');
    expectScoresClose(await index.scores(query), reference);
    await new Promise((resolve) => setTimeout(resolve, 20));
    let stats = hs.stats().operations.cosine;
    expect(stats.fallbacks).toEqual({ 'fallback:device-lost': 1 });
    expect(stats.gpuUnhealthy).toBe(true);
    // Resting: the CPU answers without trying the GPU.
    expectScoresClose(await index.scores(query), reference);
    expect(hs.stats().operations.cosine.decisions['gpu-unhealthy']).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The probe asks for a new device, re-uploads the index, and the GPU serves again.
    expectScoresClose(await index.scores(query), reference);
    stats = hs.stats().operations.cosine;
    expect(stats.decisions.probe).toBe(1);
    expect(stats.gpuUnhealthy).toBe(false);
    expect(hs.info().gpu).not.toBeNull();
    const gpuBefore = stats.gpu.calls;
    expectScoresClose(await index.scores(query), reference);
    expect(hs.stats().operations.cosine.gpu.calls).toBe(gpuBefore + 1);
    await hs.dispose();
  });

  it('a success rate under the threshold rests the GPU; after gpuRecoveryMs one probe brings it back', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuRecoveryMs: 1000, gpuSuccessRateThreshold: 0.9 });
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    plan.arm('submit-throws');
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference); // 1 of 2 failed: 0.5 < 0.9
    expect(hs.stats().operations.cosine.gpuUnhealthy).toBe(true);
    expect(hs.stats().operations.cosine.gpuSuccessRate).toBe(0.5);
    for (let i = 0; i < 3; i++) expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(hs.stats().operations.cosine.decisions['gpu-unhealthy']).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    plan.arm('submit-throws'); // the first probe fails: rest again
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    expect(hs.stats().operations.cosine.gpuUnhealthy).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference); // second probe succeeds
    const stats = hs.stats().operations.cosine;
    expect(stats.decisions.probe).toBe(2);
    expect(stats.gpuUnhealthy).toBe(false);
    expect(stats.gpuSuccessRate).toBe(1); // a successful probe clears the failure window
    expect(stats.fallbacks).toEqual({ 'fallback:internal': 2 });
    await hs.dispose();
  });

  it('with telemetry off a lost device is still re-acquired (no probe comes)', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { telemetryEnabled: false, gpuRecoveryMs: 50 });
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    plan.arm('destroy-mid-call');
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expectScoresClose(await hs.cosineSimilarity(query, vectors), reference);
    // Served by the new device: a forced call succeeds.
    expectScoresClose(await hs.cosineSimilarity(query, vectors, { backend: 'gpu' }), reference);
    expect(hs.stats().operations.cosine.gpu.calls).toBe(0); // telemetry off: nothing recorded
    await hs.dispose();
  });

  it('forced GPU calls see the GpuError; auto calls never do', async () => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuSuccessRateThreshold: 0, verifySampleRate: 1, gpuTimeoutMs: 2000 }); // one hang below
    plan.arm('submit-throws');
    await expect(hs.cosineSimilarity(query, vectors, { backend: 'gpu' })).rejects.toMatchObject({ name: 'GpuError', kind: 'internal' });
    for (const fault of ['submit-throws', 'oom-create', 'hang', 'validation', 'wrong-numbers'] as const) {
      plan.arm(fault, fault === 'oom-create' ? 4 : 1);
      expectScoresClose(await hs.cosineSimilarity(query, vectors), reference, fault);
    }
    await hs.dispose();
  });
});

/**
 * The fault matrix: every fault kind x every operation x f32 and f16 indexes. Each auto call must
 * return the float64-correct answer (spreading: the CPU's), and the failure must be counted.
 */
describe.skipIf(!runGpuTests)('fault matrix', () => {
  const faults: Fault[] = ['destroy-before', 'destroy-mid-call', 'oom-create', 'validation', 'pipeline-fails', 'hang', 'wrong-numbers'];
  const operations = ['cosineSimilarity', 'cosineSimilarityMatrix', 'search', 'searchBatch', 'scores', 'spreadActivation', 'spreadActivationBatch', 'spreadActivationBatch sparse'] as const;
  const cases = faults.flatMap((fault) => operations.flatMap((operation) => (['f32', 'f16'] as const)
    .filter((dtype) => dtype === 'f32' || ['search', 'searchBatch', 'scores'].includes(operation))
    .map((dtype) => ({ fault, operation, dtype }))));
  const queries = randomMatrix(3, dim, rng(40));
  const graphInput = { nodeCount: 800, from: new Uint32Array(4000).map((_, i) => (i * 37) % 800), to: new Uint32Array(4000).map((_, i) => (i * 11 + 5) % 800), weight: new Float32Array(4000).map((_, i) => Math.sin(i)) };
  const seeds = { nodes: new Uint32Array([1, 2, 3]), values: new Float32Array([1, 0.5, -0.2]) };
  let cpu: HybridEngine;
  beforeAll(async () => { cpu = await createHybrid({ gpu: null }); });
  afterAll(async () => { await cpu?.dispose(); });

  it.each(cases)('$fault x $operation ($dtype)', async ({ fault, operation, dtype }) => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuSuccessRateThreshold: 0, verifySampleRate: 1, ...timeoutFor(fault),
      operations: { spreading: { gpuMinBatchSize: 1 } } });
    const index = await hs.createIndex(vectors, { dim, dtype });
    const graph = hs.createGraph(graphInput);
    const cpuGraph = cpu.createGraph(graphInput);
    plan.arm(fault, fault === 'oom-create' ? 4 : 1);
    const tol = dtype === 'f16' ? 4e-3 : 1e-5;
    const near = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
    };
    if (operation === 'cosineSimilarity') near(await hs.cosineSimilarity(query, vectors), reference);
    else if (operation === 'cosineSimilarityMatrix') near(await hs.cosineSimilarityMatrix(queries, vectors, { dim }), cosineReference(queries, vectors, dim));
    else if (operation === 'scores') near(await index.scores(query), reference);
    else if (operation === 'search') expectTopK(await index.search(query, { k: 7 }), 7, await cpuScores(), reference);
    else if (operation === 'searchBatch') {
      const results = await index.searchBatch(queries, { k: 7 });
      results.forEach((r, q) => expectTopKWithin(r, 7, cosineReference(queries.subarray(q * dim, (q + 1) * dim), vectors, dim), `query ${q}`, tol));
    } else if (operation === 'spreadActivation') {
      near(await hs.spreadActivation(graph, { seeds }), await cpu.spreadActivation(cpuGraph, { seeds }));
    } else if (operation === 'spreadActivationBatch') {
      const got = await hs.spreadActivationBatch(graph, { seedSets: [seeds, seeds] });
      const want = await cpu.spreadActivationBatch(cpuGraph, { seedSets: [seeds, seeds] });
      got.forEach((g, j) => near(g, want[j]!));
    } else {
      // output 'sparse': the call verified (a wrong GPU answer caught) and answered in that shape.
      const got = await hs.spreadActivationBatch(graph, { seedSets: [seeds, seeds], output: 'sparse' });
      const want = await cpu.spreadActivationBatch(cpuGraph, { seedSets: [seeds, seeds], output: 'sparse' });
      got.forEach((g, j) => {
        expect(Array.from(g.nodes), `set ${j} nodes`).toEqual(Array.from(want[j]!.nodes));
        near(g.values, want[j]!.values);
      });
    }
    const op = operation.startsWith('spread') ? 'spreading' : 'cosine';
    expect(plan.fired.get(fault), `the fault fired (gpu ${hs.info().gpu ? 'held' : 'none'}, decisions ${JSON.stringify(hs.stats().operations[op].decisions)})`).toBeGreaterThan(0);
    const failures = hs.stats().operations[op].gpu.failuresByKind;
    const kinds: Partial<Record<Fault, string>> = { 'destroy-before': 'device-lost', 'destroy-mid-call': 'device-lost', 'oom-create': 'out-of-memory',
      validation: 'validation', 'pipeline-fails': 'internal', hang: 'timeout', 'wrong-numbers': 'wrong-result' };
    const expectedKind = kinds[fault]!;
    expect(failures[expectedKind], JSON.stringify(failures)).toBeGreaterThan(0);
    expect(hs.metrics()).toContain(`hybrid_similarity_gpu_failures_total{op="${op}",kind="${expectedKind}"}`);
    cpuGraph.dispose();
    await hs.dispose();

    async function cpuScores(): Promise<Float32Array> {
      return index.scores(query, { backend: 'cpu' });
    }
  });
});

/**
 * Faults on indexes users maintain: keys, removed and upserted rows, a filter, each metric and
 * dtype (one per case, rotated so that every fault and operation meets each). The auto call must
 * answer what a CPU-only engine answers for the same index, to the bit: the CPU answered it.
 */
describe.skipIf(!runGpuTests)('fault matrix on maintained indexes', () => {
  const faults: Fault[] = ['destroy-before', 'destroy-mid-call', 'oom-create', 'validation', 'pipeline-fails', 'hang', 'wrong-numbers'];
  const operations = ['search', 'searchBatch', 'scores'] as const;
  const shapes = [
    { metric: 'cosine', dtype: 'i8', keyKind: 'string' },
    { metric: 'dot', dtype: 'f16', keyKind: 'number' },
    { metric: 'l2', dtype: 'f32', keyKind: 'default' },
  ] as const;
  const cases = faults.flatMap((fault, f) => operations.map((operation, o) => ({ fault, operation, ...shapes[(f + o) % 3]! })));
  const rows = 1500;
  const data = vectors.subarray(0, rows * dim);
  const queries = randomMatrix(3, dim, rng(41));
  let cpu: HybridEngine;
  beforeAll(async () => { cpu = await createHybrid({ gpu: null }); });
  afterAll(async () => { await cpu?.dispose(); });

  it.each(cases)('$fault x $operation ($metric $dtype, $keyKind keys)', async ({ fault, operation, metric, dtype, keyKind }) => {
    const plan = new FaultPlan();
    const hs = await engine(plan, { gpuSuccessRateThreshold: 0, verifySampleRate: 1, ...timeoutFor(fault) });
    const keys = Array.from({ length: rows }, (_, i) => (keyKind === 'string' ? `k${i}` : i * 7 + 11));
    const build = async (engine: HybridEngine) => {
      const index = keyKind === 'default'
        ? await engine.createIndex(data, { dim, metric, dtype })
        : await engine.createIndex(data, { dim, metric, dtype, keys: keys as never });
      const held = keyKind === 'default' ? Array.from({ length: rows }, (_, i) => i) : keys;
      await index.remove(held.filter((_, i) => i % 4 === 1) as never);
      await index.upsert(randomMatrix(2, dim, rng(42)), { keys: [held[0], held[2]] as never });
      return { index, held };
    };
    const { index, held } = await build(hs);
    const { index: want } = await build(cpu);

    const filter = new Set(held.filter((_, i) => i % 3 === 0));
    plan.arm(fault, fault === 'oom-create' ? 4 : 1);
    // Whoever answered (the CPU after the fault, or the GPU once recovered), the answer is the
    // CPU engine's within the dtype's tolerance: scores per key, and top-k of the rows allowed.
    const tol = { f32: 1e-4, f16: 4e-3, i8: 3e-2 }[dtype];
    const close = (a: number, b: number, label: string) => expect(Math.abs(a - b), `${label}: ${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
    const better = (a: number, b: number) => (metric === 'l2' ? a < b : a > b);
    const checkTop = async (q: Float32Array, got: { keys: unknown[]; scores: Float32Array }, k: number, label: string) => {
      const live = want.keys() as unknown[];
      const all = await want.scores(q);
      const scoreOf = new Map(live.map((key, i) => [key, all[i]!]));
      const allowed = live.filter((key) => filter.has(key as never)).map((key) => scoreOf.get(key)!).sort((a, b) => (better(a, b) ? -1 : 1));
      expect(got.keys.length, label).toBe(Math.min(k, allowed.length));
      const kth = allowed[got.keys.length - 1]!;
      got.keys.forEach((key, j) => {
        expect(filter.has(key as never) && scoreOf.has(key), `${label}: ${String(key)} is live and passes`).toBe(true);
        close(got.scores[j]!, scoreOf.get(key)!, `${label} score of ${String(key)}`);
        expect(better(kth, got.scores[j]!) && Math.abs(kth - got.scores[j]!) > tol * Math.max(1, Math.abs(kth)), `${label}: ${String(key)} below the k-th`).toBe(false);
      });
    };
    if (operation === 'scores') {
      const got = await index.scores(query);
      const expected = await want.scores(query);
      expect(got.length).toBe(expected.length);
      expected.forEach((value, i) => close(got[i]!, value, `score ${i}`));
    } else if (operation === 'search') {
      await checkTop(query, await index.search(query, { k: 9, filter: filter as never }), 9, 'search');
    } else {
      const got = await index.searchBatch(queries, { k: 6, filter: filter as never });
      for (let q = 0; q < 3; q++) await checkTop(queries.subarray(q * dim, (q + 1) * dim), got[q]!, 6, `query ${q}`);
    }
    expect(plan.fired.get(fault), `the fault fired (gpu ${hs.info().gpu ? 'held' : 'none'}, decisions ${JSON.stringify(hs.stats().operations.cosine.decisions)})`).toBeGreaterThan(0);
    const failures = hs.stats().operations.cosine.gpu.failuresByKind;
    expect(Object.values(failures).reduce((a, b) => a + b, 0), JSON.stringify(failures)).toBeGreaterThan(0);
    want.dispose();
    await hs.dispose();
  });
});
