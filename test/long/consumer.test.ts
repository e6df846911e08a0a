// The package as a consumer gets it (npm run test:long): `npm pack` (dist/ as built), then
// `npm install <tarball>` in an empty project outside this repository. The install prints no
// build notice and does not pull in webgpu; the package has LICENSE and no test hooks; the
// library writes nothing to the consumer's streams; stack traces map to the TypeScript sources
// (source maps with sourcesContent); the bench's missing peers do not suggest this repository's
// scripts.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'hs-consumer-'));
const app = join(work, 'app');
let install: { status: number | null; stdout: string; stderr: string };
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  // --prefer-offline: its two dependencies come from npm's cache when CI's `npm ci` put them there.
  const child = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)], { cwd: app, encoding: 'utf8' });
  install = { status: child.status, stdout: child.stdout, stderr: child.stderr };
});

function node(script: string, ...flags: string[]) {
  const file = join(app, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const env: Record<string, string | undefined> = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  delete env.HYBRID_SIMILARITY_WARMUP;
  return spawnSync(process.execPath, [...flags, file], { cwd: app, encoding: 'utf8', env });
}

describe('a consumer installing the packed tarball', () => {
  it('installs without building and without webgpu (an optional peer)', () => {
    expect(install.status, install.stderr).toBe(0);
    expect(install.stdout + install.stderr).not.toMatch(/prepare|prepack|npm run build|asc /);
    const pkg = join(app, 'node_modules', 'hybrid-similarity');
    expect(existsSync(join(pkg, 'LICENSE'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'testing.js'))).toBe(false);
    expect(existsSync(join(pkg, 'src'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'webgpu'))).toBe(false);
  });

  it('the library answers and writes nothing to stdout or stderr', () => {
    const run = node(`
      import { writeFileSync } from 'node:fs';
      import { createHybrid } from 'hybrid-similarity';
      const hs = await createHybrid();
      const index = await hs.createIndex(new Float32Array([1, 0, 0, 1, 0.6, 0.8]), { dim: 2 });
      const { indices } = await index.search(new Float32Array([0, 1]), { k: 1 });
      writeFileSync('answer.json', JSON.stringify({ best: indices[0], gpu: hs.info().gpu, warmup: hs.stats().warmup !== null }));
      await hs.dispose();`);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(app, 'answer.json'), 'utf8'))).toEqual({ best: 1, gpu: null, warmup: true });
  });

  it('stack traces map to the TypeScript sources (node --enable-source-maps)', () => {
    const run = node(`
      import { createHybrid } from 'hybrid-similarity';
      const hs = await createHybrid({ gpu: null, warmup: false });
      try { await hs.cosineSimilarity(new Float32Array([NaN]), new Float32Array([1])); } catch (error) { console.log(error.code); console.log(error.stack); }
      await hs.dispose();`, '--enable-source-maps');
    expect(run.status, run.stderr).toBe(0);
    const [code, ...stack] = run.stdout.trim().split('\n');
    expect(code).toBe('NON_FINITE');
    expect(stack.join('\n')).toMatch(/node_modules\/hybrid-similarity\/src\/[\w/-]+\.ts:\d+:\d+\)/);
  });

  it('the command line runs; the bench lists missing peers without this repository\'s scripts', () => {
    const bin = join(app, 'node_modules', '.bin', 'hybrid-similarity');
    const info = spawnSync(bin, ['info'], { cwd: app, encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^CPU: WASM SIMD kernels/);
    expect(info.stderr).toBe('');
    const bench = spawnSync(bin, ['bench', '--only', 'peers', '--quick', '--max-rows', '64', '--json'], { cwd: app, encoding: 'utf8' });
    expect(bench.status, bench.stderr).toBe(0);
    const report = JSON.parse(bench.stdout) as { missing: Array<{ implementation: string; reason: string }> };
    const faiss = report.missing.find((m) => m.implementation === 'faiss-node');
    expect(faiss?.reason).toMatch(/not installed/);
    for (const missing of report.missing) expect(missing.reason).not.toMatch(/build:faiss|npm run/);
  });
});
