// The CPU backend's kernel choices (src/cpu/strategy.ts, src/cpu/kernels.ts): the kernels module is
// chosen at load by WebAssembly.validate (this file also runs in the relaxed-simd project, whose
// child processes get --experimental-wasm-relaxed-simd: there the relaxed build must be chosen;
// without the flag on Node 20, the baseline one), and info().cpu says which; the batch kernels are
// timed at first use and shown in stats(), a choice in the config (object, TOML, environment) is
// kept, and calibrate writes them as TOML the loader reads.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { calibrate } from '../src/calibrate.js';
import { boundKernelsOf } from '../src/cpu/strategy.js';
import { configFromEnv, createHybrid, parseConfigToml, type HybridEngine } from '../src/index.js';
import { cpuOf, memoryOf } from '../src/testing.js';
import { randomMatrix, rng } from './helpers.js';

const relaxedBytes = readFileSync(new URL('../build/kernels-relaxed.wasm', import.meta.url));
const relaxedValid = WebAssembly.validate(relaxedBytes);
const flagged = process.execArgv.includes('--experimental-wasm-relaxed-simd');
const module = relaxedValid ? 'relaxed' : 'baseline';

/** A LEB128 unsigned integer at `at`: its value and the offset after it. */
function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0, shift = 0, byte: number;
  do {
    byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

/** Every function body of a module (by function index) and the exported functions' indexes. */
function functionBodies(bytes: Uint8Array): { bodies: Map<number, string>; exports: Map<string, number> } {
  const bodies = new Map<number, string>();
  const exports = new Map<string, number>();
  let imported = 0;
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at]!;
    let size: number;
    [size, at] = leb(bytes, at + 1);
    const end = at + size;
    let p = at, count: number;
    if (id === 2 || id === 7 || id === 10) [count, p] = leb(bytes, p);
    else count = 0;
    for (let i = 0; i < count; i++) {
      if (id === 10) {
        let length: number;
        [length, p] = leb(bytes, p);
        bodies.set(imported + i, Buffer.from(bytes.subarray(p, p + length)).toString('hex'));
        p += length;
        continue;
      }
      let length: number;
      [length, p] = leb(bytes, p);
      const name = new TextDecoder().decode(bytes.subarray(p, p + length));
      p += length;
      if (id === 2) {
        // An import: after the module name, the field name, the kind and its descriptor.
        [length, p] = leb(bytes, p);
        p += length;
        const kind = bytes[p++]!;
        if (kind === 0) { imported++; [, p] = leb(bytes, p); } // a function: its type index
        else if (kind === 2) { const flags = bytes[p++]!; [, p] = leb(bytes, p); if (flags & 1) [, p] = leb(bytes, p); } // a memory: limits
        else throw new Error(`unexpected import kind ${kind}`);
        continue;
      }
      const kind = bytes[p++]!;
      let index: number;
      [index, p] = leb(bytes, p);
      if (kind === 0) exports.set(name, index);
    }
    at = end;
  }
  return { bodies, exports };
}

const engines: HybridEngine[] = [];
async function engine(options: Parameters<typeof createHybrid>[0] = {}): Promise<HybridEngine> {
  const hs = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false, ...options });
  engines.push(hs);
  return hs;
}
afterEach(async () => {
  for (const hs of engines.splice(0)) await hs.dispose();
});

/** Rows with some structure (5 clusters), so that batches have real neighbours. */
function clustered(n: number, dim: number, seed: number): Float32Array {
  const random = rng(seed);
  const centres = randomMatrix(5, dim, random);
  const out = randomMatrix(n, dim, random);
  for (let i = 0; i < out.length; i++) out[i] = centres[(Math.floor(i / dim) % 5) * dim + (i % dim)]! + 0.05 * out[i]!;
  return out;
}

describe('kernels module', () => {
  it('is the relaxed-SIMD build where WebAssembly.validate accepts it, else the baseline one; info().cpu says which', async () => {
    if (flagged) expect(relaxedValid, 'the flag turns relaxed SIMD on').toBe(true);
    if (process.versions.node.startsWith('20.') && !flagged) expect(relaxedValid, 'Node 20 without the flag has none').toBe(false);
    expect(WebAssembly.validate(readFileSync(new URL('../build/kernels.wasm', import.meta.url)))).toBe(true);
    const hs = await engine();
    expect(hs.info().cpu.kernels).toBe(module);
    expect(memoryOf(hs).kernels.relaxedSimd()).toBe(relaxedValid ? 1 : 0);
    const baseline = await engine({ cpuStrategy: { kernels: 'baseline' } });
    expect(baseline.info().cpu.kernels).toBe('baseline');
    expect(memoryOf(baseline).kernels.relaxedSimd()).toBe(0);
  });

  it('differs from the baseline build only in the batch-dots kernels (so the other case tables cover both)', () => {
    // vitest.config.ts runs only this file and test/prefilter-batch.test.ts again with the
    // relaxed module: every other function must be the same bytes in both builds.
    const baseline = functionBodies(readFileSync(new URL('../build/kernels.wasm', import.meta.url)));
    const relaxed = functionBodies(relaxedBytes);
    expect([...relaxed.exports.keys()].sort()).toEqual([...baseline.exports.keys()].sort());
    expect(relaxed.bodies.size).toBe(baseline.bodies.size);
    expect(baseline.bodies.size).toBeGreaterThan(40);
    const differing = [...baseline.exports].filter(([name, index]) => relaxed.bodies.get(relaxed.exports.get(name)!) !== baseline.bodies.get(index)).map(([name]) => name);
    expect(differing.sort()).toEqual(['blockDots', 'relaxedSimd']);
    // Functions not exported (inlined helpers kept as calls) are the same multiset of bodies.
    const exported = (m: typeof baseline) => new Set(m.exports.values());
    const others = (m: typeof baseline) => [...m.bodies].filter(([i]) => !exported(m).has(i)).map(([, body]) => body).sort();
    expect(others(relaxed)).toEqual(others(baseline));
  });

  it('both modules give the same bits (batches, single searches, worker threads)', async () => {
    const dim = 96;
    const vectors = clustered(9000, dim, 1);
    const queries = clustered(9, dim, 2);
    const answers: Array<{ scores: Float32Array; keys: number[] }[]> = [];
    for (const options of [{}, { cpuStrategy: { kernels: 'baseline' as const } }, { cpuThreads: 2, offMainThread: true }]) {
      const hs = await engine(options);
      if (options.cpuThreads) cpuOf(hs).minWorkBytes = 0;
      for (const dtype of ['f32', 'f16', 'i8'] as const) {
        const index = await hs.createIndex(vectors, { dim, dtype, metric: 'dot' });
        answers.push([...await index.searchBatch(queries, { k: 12 }), await index.search(queries.subarray(0, dim), { k: 12 })]);
        index.dispose();
      }
    }
    for (let i = 3; i < answers.length; i++) expect(answers[i]).toEqual(answers[i % 3]);
  });
});

describe('strategy at first use', () => {
  it('is timed at the first batch and shown in stats()', async () => {
    const hs = await engine();
    expect(hs.stats().cpuStrategy.boundKernel).toBeNull();
    const dim = 64;
    const index = await hs.createIndex(clustered(9000, dim, 3), { dim });
    await index.searchBatch(clustered(4, dim, 4), { k: 5 });
    const strategy = hs.stats().cpuStrategy;
    expect(strategy.kernels).toBe(module);
    expect(strategy.boundKernel!.source).toBe('measured');
    expect(boundKernelsOf(module)).toContain(strategy.boundKernel!.chosen);
    for (const kernel of boundKernelsOf(module)) expect(strategy.rates!.boundKernels[kernel]).toBeGreaterThan(0);
    for (const path of ['int8-batch', 'per-query', 'f32-matrix'] as const) expect(strategy.rates!.batchKernels[path]).toBeGreaterThan(0);
    const f32 = strategy.batchKernel!.f32;
    expect(f32.source).toBe('measured');
    expect(f32.why).toMatch(/int8-batch [0-9.]+, per-query [0-9.]+, f32-matrix [0-9.]+ G multiply-adds\/s/);
    expect(strategy.batches[`f32/${f32.chosen}${f32.chosen === 'int8-batch' ? `/${strategy.boundKernel!.chosen}` : ''}`]).toBe(1);
    index.dispose();
  });

  it('a choice given in the config is kept (a relaxed kernel on a baseline engine is measured instead)', async () => {
    const hs = await engine({ cpuStrategy: { boundKernel: 'relaxed-pairs', batchKernel: 'per-query', splitMinBytes: 12345 } });
    const index = await hs.createIndex(clustered(9000, 64, 3), { dim: 64 });
    await index.searchBatch(clustered(3, 64, 5), { k: 5 });
    const strategy = hs.stats().cpuStrategy;
    expect(strategy.batchKernel!.f32).toMatchObject({ chosen: 'per-query', source: 'config' });
    expect(strategy.batches['f32/per-query']).toBe(1);
    expect(strategy.splitMinBytes).toMatchObject({ chosen: 12345, source: 'config' });
    if (module === 'relaxed') expect(strategy.boundKernel).toMatchObject({ chosen: 'relaxed-pairs', source: 'config' });
    else expect(strategy.boundKernel).toMatchObject({ chosen: 'winograd', source: 'measured', why: expect.stringContaining('relaxed-pairs is not in the baseline module') });
    index.dispose();
  });

  it('the split threshold is measured at the first call split across threads', async () => {
    const hs = await engine({ cpuThreads: 2, offMainThread: true });
    if (hs.info().cpu.threads < 2) return;
    expect(hs.stats().cpuStrategy.splitMinBytes.source).toBe('default');
    const dim = 256;
    const index = await hs.createIndex(randomMatrix(12000, dim, rng(2)), { dim }); // 12 MB of f32 rows: split
    await index.scores(new Float32Array(dim).fill(0.5));
    const split = hs.stats().cpuStrategy;
    expect(split.splitMinBytes.source).toBe('measured');
    expect(split.roundTripUs).toBeGreaterThan(0);
    expect(split.scanBytesPerUs).toBeGreaterThan(0);
    expect(split.splitMinBytes.chosen).toBeGreaterThan(0);
    index.dispose();
  });
});

describe('strategy config', () => {
  it('TOML [cpu.strategy], the environment and bad values', () => {
    expect(parseConfigToml('[cpu.strategy]\nkernels = "baseline"\nbound_kernel = "relaxed-pairs"\nbatch_kernel = "per-query"\nsplit_min_bytes = 4096\n')).toEqual({
      cpuStrategy: { kernels: 'baseline', boundKernel: 'relaxed-pairs', batchKernel: 'per-query', splitMinBytes: 4096 },
    });
    expect(() => parseConfigToml('[cpu.strategy]\nbound_kernel = "fast"\n')).toThrow(/cpu\.strategy\.bound_kernel.*one of 'auto', 'winograd'/);
    expect(() => parseConfigToml('[cpu.strategy]\nsplit_min_bytes = -1\n')).toThrow(/cpu\.strategy\.split_min_bytes/);
    expect(() => parseConfigToml('[cpu.strategy]\nnope = 1\n')).toThrow(/unknown key 'cpu\.strategy\.nope'/);
    expect(() => parseConfigToml('[cpu]\nthreads = 1\n')).toThrow(/unknown key 'cpu\.threads'/);
    expect(configFromEnv({ HYBRID_SIMILARITY_CPU_KERNELS: 'baseline' })).toEqual({ cpuStrategy: { kernels: 'baseline' } });
    expect(() => configFromEnv({ HYBRID_SIMILARITY_CPU_KERNELS: 'fastest' })).toThrow(/HYBRID_SIMILARITY_CPU_KERNELS="fastest".*'auto', 'baseline'/);
  });

  it('the environment sets one key of cpuStrategy, keeping the others given', async () => {
    process.env.HYBRID_SIMILARITY_CPU_KERNELS = 'baseline';
    try {
      const hs = await engine({ cpuStrategy: { batchKernel: 'per-query' } });
      expect(hs.config.cpuStrategy).toEqual({ kernels: 'baseline', boundKernel: 'auto', batchKernel: 'per-query', splitMinBytes: 'auto' });
      expect(hs.info().cpu.kernels).toBe('baseline');
    } finally {
      delete process.env.HYBRID_SIMILARITY_CPU_KERNELS;
    }
  });

  it('calibrate times the choices and writes them as [cpu.strategy] TOML the loader reads', async () => {
    const hs = await engine();
    const result = await calibrate(hs, { dim: 16, maxRows: 32, repetitions: 1 });
    const fields = parseConfigToml(result.toml);
    expect(result.cpu.boundKernel!.source).toBe('measured');
    expect(boundKernelsOf(module)).toContain(fields.cpuStrategy!.boundKernel);
    expect(fields.cpuStrategy!.boundKernel).toBe(result.cpu.boundKernel!.chosen);
    expect(result.toml).toMatch(/# int8 bound kernel: .*G int8 multiply-adds\/s/);
    const again = await engine(fields);
    expect(again.config.cpuStrategy.boundKernel).toBe(result.cpu.boundKernel!.chosen);
  });
});
