// The library writes nothing to stdout or stderr: a separate process creates an engine (CPU
// only; as found by itself, with `webgpu` installed; and, where there is an adapter, on a GPU
// passed in), uses every kind of call, disposes it, and its two streams are checked. What the
// engine has to say goes to the `logger` option; the child reports what its logger received in
// a file, never on its streams.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createHybrid } from '../src/index.js';
import { runGpuTests } from './gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the package, so that the child's 'hybrid-similarity' resolves to this package (dist/).
const scratch = mkdtempSync(join(root, 'test-results-quiet-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Dawn's own lines, printed from C++ (dawn::WarningLog, fprintf to stderr) when a process opens
 * a Vulkan adapter: no option of the `webgpu` package routes them, so they appear exactly when
 * the caller hands the engine a Dawn GPU object (and never otherwise: test 'as found').
 */
const DAWN_ADAPTER_LINES = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

const CHILD = `
import { writeFileSync } from 'node:fs';
import { createHybrid } from 'hybrid-similarity';
const mode = process.env.QUIET_MODE;
const messages = [];
const logger = { debug: (m) => messages.push(['debug', m]), info: (m) => messages.push(['info', m]), warn: (m) => messages.push(['warn', m]), error: (m) => messages.push(['error', m]) };
let options = { logger };
let device = null;
let dawn = null;
if (mode === 'cpu') options = { gpu: null };
if (mode === 'gpu') {
  // The device the engine creates, kept to provoke an error outside any error scope.
  dawn = (await import('webgpu')).create([]);
  options.gpu = {
    requestAdapter: async (o) => {
      const adapter = await dawn.requestAdapter(o);
      if (!adapter) return null;
      return new Proxy(adapter, { get(target, key) {
        if (key === 'requestDevice') return async (d) => (device = await target.requestDevice(d));
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      } });
    },
  };
}
const hs = await createHybrid(options);
const backend = mode === 'gpu' ? 'gpu' : 'auto';
const dim = 768;
const rows = new Float32Array(3000 * dim).map((_, i) => Math.sin(i * 12.9898) * 0.5);
const query = rows.slice(5 * dim, 6 * dim);
await hs.cosineSimilarity(query, rows.subarray(0, 100 * dim), { backend });
await hs.cosineSimilarityMatrix(rows.subarray(0, 4 * dim), rows.subarray(0, 100 * dim), { dim, backend });
const index = await hs.createIndex(rows, { dim });          // 9 MB: large calls split across workers
const top = await index.search(query, { k: 3, backend });
await index.searchBatch(rows.subarray(0, 8 * dim), { k: 2, backend });
await index.scores(query, { backend });
await index.add(rows.subarray(0, 10 * dim));
const graph = hs.createGraph({ nodeCount: 600, from: Uint32Array.from({ length: 2000 }, (_, i) => i % 600), to: Uint32Array.from({ length: 2000 }, (_, i) => (i * 7) % 600) });
await hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([1]), values: new Float32Array([1]) }, backend });
if (device) {
  device.createBuffer({ size: 4, usage: 0xffffff });   // invalid usage: an uncaptured validation error
  await device.queue.onSubmittedWorkDone();
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const gpu = hs.info().gpu !== null;
const warmed = hs.stats().warmup !== null;
await hs.dispose();
writeFileSync(process.env.QUIET_REPORT, JSON.stringify({ top: top.indices[0], gpu, warmup: warmed, messages }));
`;

function runChild(mode: 'cpu' | 'default' | 'gpu') {
  const report = join(scratch, `${mode}.json`);
  const script = join(scratch, `${mode}.mjs`);
  writeFileSync(script, CHILD);
  const env: Record<string, string | undefined> = { ...process.env, QUIET_MODE: mode, QUIET_REPORT: report, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  delete env.HYBRID_SIMILARITY_WARMUP; // the default (warm-up at createHybrid) must be quiet too
  const child = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', env });
  expect(child.status, child.stderr).toBe(0);
  return { stdout: child.stdout, stderr: child.stderr, ...JSON.parse(readFileSync(report, 'utf8')) as {
    top: number; gpu: boolean; warmup: boolean; messages: Array<[string, string]>;
  } };
}

describe('quiet', () => {
  it('a CPU engine writes nothing to stdout or stderr', () => {
    const run = runChild('cpu');
    expect(run.top).toBe(5);
    expect(run.warmup).toBe(true);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
  });

  it('an engine that looks for a GPU itself writes nothing; what it found goes to the logger', () => {
    const run = runChild('default');
    expect(run.top).toBe(5);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
    // webgpu is installed here (a dev dependency), so the adapter probe ran and said what it saw.
    expect(run.messages.some(([level, m]) => level === 'debug' && /^hybrid-similarity: GPU: /.test(m))).toBe(true);
  });

  it.skipIf(!runGpuTests)('on a GPU passed in: only Dawn\'s own adapter lines on stderr; an uncaptured GPU error goes to the logger, not to stdout', () => {
    const run = runChild('gpu');
    expect(run.gpu).toBe(true);
    expect(run.top).toBe(5);
    // Unhandled, Dawn's binding prints uncaptured errors to stdout ("validation:\n...").
    expect(run.stdout).toBe('');
    const stderr = run.stderr.split('\n').filter(Boolean);
    for (const line of stderr) expect(line).toMatch(DAWN_ADAPTER_LINES);
    expect(run.messages).toContainEqual(['warn', expect.stringMatching(/^hybrid-similarity: GPU: uncaptured GPUValidationError: .*WGPUBufferUsage/s)]);
  });

  it('logger: any object with some of the four methods; a wrong one is INVALID_CONFIG; a throwing one is ignored', async () => {
    await expect(createHybrid({ gpu: null, logger: 'console' as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG', argument: 'logger' });
    await expect(createHybrid({ gpu: null, logger: { warn: 1 } as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG', argument: 'logger' });
    const seen: string[] = [];
    const hs = await createHybrid({ logger: { debug: (m: string) => { seen.push(m); throw new Error('a broken logger'); } } });
    expect(seen.length).toBeGreaterThan(0);
    expect(await hs.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 0]))).toEqual(new Float32Array([1]));
    await hs.dispose();
  });
});
