// The library in a real browser: Debian's Chromium (headless, driven by playwright-core).
// - A plain <script type="module"> page imports the self-contained bundle (exports["."].browser)
//   by URL and runs the shared case table (test/browser/harness.ts) on the CPU and, with
//   --enable-unsafe-webgpu, on WebGPU (SwiftShader here), against the float64 references.
// - Without the flag navigator.gpu offers no adapter (as on Android); in a page that is not a
//   secure context there is no navigator.gpu: both must answer everything on the CPU.
// - Vite builds README's bundler example (and the case table) against the package as a user
//   installs it; the page must print what README says and load kernels.wasm by URL.
// - The demo page (npm run demo:browser) runs, and a screenshot of it shows its results.
// In CI a missing Chromium, or no adapter with the flag, fails; elsewhere these tests skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADAPTER_HELP, chromiumMissing, inCi, launchChromium, serveFolders, type Chromium, type Served,
} from './browser/chromium.js';
import { randomMatrix, rng } from './helpers.js';
import { BROWSER_CASES, type CaseOutcome, type GpuChoice, type PageBackend, type PageEngineInfo } from './browser/harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'test-results', 'browser');
const CASE_NAMES = BROWSER_CASES.map((c) => c.name);
const skip = chromiumMissing !== null && !inCi;
if (skip) console.warn(`Browser tests skipped: ${chromiumMissing}`);

/** Start the harness in a page that defines window.startHarness; the engine's info. */
async function startHarness(page: Page, gpuChoice: GpuChoice): Promise<PageEngineInfo> {
  await page.waitForFunction(() => 'startHarness' in window, null, { timeout: 60_000 });
  return page.evaluate((choice) => (window as unknown as {
    startHarness(c: string): Promise<PageEngineInfo>;
  }).startHarness(choice), gpuChoice);
}

async function runCase(page: Page, name: string, backend: PageBackend): Promise<CaseOutcome> {
  return page.evaluate(([n, b]) => (window as unknown as {
    harness: { run(name: string, backend: string): Promise<CaseOutcome> };
  }).harness.run(n, b), [name, backend] as const);
}

/** Every case in one go (for the pages that repeat a table already run case by case). */
async function runAllCases(page: Page, backend: PageBackend): Promise<string[]> {
  const failures: string[] = [];
  for (const name of CASE_NAMES) {
    const outcome = await runCase(page, name, backend);
    if (outcome.error) failures.push(`${name}: ${outcome.error.split('\n')[0]}`);
  }
  return failures;
}

describe.skipIf(skip)('in Chromium', () => {
  let site: Served;

  beforeAll(async () => {
    if (chromiumMissing) throw new Error(chromiumMissing);
    const siteDir = join(work, 'site');
    rmSync(siteDir, { recursive: true, force: true });
    mkdirSync(siteDir, { recursive: true });
    copyFileSync(join(root, 'test', 'browser', 'site', 'index.html'), join(siteDir, 'index.html'));
    // The case table and its references for the page; the library is not in it (the page
    // imports the real bundle, served from dist/browser at /lib/).
    await esbuild({
      entryPoints: [join(root, 'test', 'browser', 'harness.ts')],
      outfile: join(siteDir, 'harness.js'),
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning',
    });
    site = await serveFolders([['/lib/', join(root, 'dist', 'browser')], ['/', siteDir]]);
  });
  afterAll(async () => {
    await site?.close();
  });

  describe('plain <script type="module"> page, --enable-unsafe-webgpu', () => {
    let chrome: Chromium;
    let page: Page;
    let info: PageEngineInfo;
    beforeAll(async () => {
      chrome = await launchChromium({ webgpu: true });
      page = await chrome.open(site.url);
      info = await startHarness(page, 'navigator');
      if (!info.gpu && inCi) throw new Error(ADAPTER_HELP);
      if (!info.gpu) console.warn(`Browser GPU cases skipped: ${ADAPTER_HELP}`);
    });
    afterAll(async () => {
      await chrome?.close();
    });

    it('imports the self-contained bundle, loads kernels.wasm by URL, runs the browser platform on navigator.gpu', () => {
      expect(info.platform).toBe('browser');
      expect(info.wasmSource).toBe('url');
      expect(info.navigatorGpu).toBe(true);
      if (info.gpu) expect(info.gpu.architecture).toMatch(/swiftshader/i);
      expect(chrome.problems).toEqual([]);
    });

    describe.each(['cpu', 'gpu'] as const)('%s backend', (backend) => {
      it.for(CASE_NAMES)('%s', async (name, context) => {
        if (backend === 'gpu' && !info.gpu) return context.skip(ADAPTER_HELP);
        const outcome = await runCase(page, name, backend);
        if (outcome.error) throw new Error(outcome.error);
      });
    });

    it('createHybrid() without a gpu option leaves a software adapter alone and answers on the CPU', async () => {
      // A string, not a function: the test's own module transform must not touch the import().
      const result = await page.evaluate(`(async () => {
        const lib = await import('/lib/hybrid-similarity.js');
        const hs = await lib.createHybrid();
        const scores = await hs.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 0, 0, 1, -1, 0]));
        const out = { gpu: hs.info().gpu, scores: Array.from(scores), decisions: hs.stats().decisions.cosine };
        await hs.dispose();
        return out;
      })()`);
      expect(result).toEqual({ gpu: null, scores: [1, 0, -1], decisions: { 'no-gpu': 1 } });
    });
  });

  describe('a cross-origin isolated page (COOP + COEP): kernels in Web Workers over shared memory', () => {
    let chrome: Chromium;
    let isolated: Served;
    beforeAll(async () => {
      isolated = await serveFolders([['/lib/', join(root, 'dist', 'browser')], ['/', join(work, 'site')]],
        { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
      chrome = await launchChromium({ webgpu: false });
    });
    afterAll(async () => {
      await chrome?.close();
      await isolated?.close();
    });

    it('large calls are split across workers and answer exactly as one thread does', async () => {
      const page = await chrome.open(isolated.url);
      const result = await page.evaluate(`(async () => {
        const lib = await import('/lib/hybrid-similarity.js');
        const dim = 67, n = 40000;
        let seed = 7;
        const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
        const rows = new Float32Array(n * dim).map(random);
        const queries = new Float32Array(5 * dim).map(random);
        const query = rows.slice(123 * dim, 124 * dim);
        const run = async (options) => {
          const hs = await lib.createHybrid({ gpu: null, ...options });
          const index = await hs.createIndex(rows, { dim });
          const out = {
            info: hs.info().cpu,
            top: await index.search(query, { k: 10 }),
            scores: await index.scores(query),
            batch: await index.searchBatch(queries, { k: 4 }),
            parts: hs.cpu.pool ? hs.cpu.pool.partsRun : 0,
          };
          await hs.dispose();
          return out;
        };
        const one = await run({ cpuThreads: 1, offMainThread: false });
        const two = await run({ cpuThreads: 2, offMainThread: true });
        const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
        return {
          isolated: crossOriginIsolated, one: one.info, two: two.info, parts: two.parts, best: two.top.indices[0],
          identical: same(one.top.indices, two.top.indices) && same(one.top.scores, two.top.scores)
            && same(one.scores, two.scores)
            && one.batch.every((r, q) => same(r.indices, two.batch[q].indices) && same(r.scores, two.batch[q].scores)),
        };
      })()`) as { isolated: boolean; one: { threads: number }; two: { threads: number; sharedMemory: boolean; offMainThread: boolean };
        parts: number; best: number; identical: boolean };
      expect(result.isolated).toBe(true);
      expect(result.one.threads).toBe(1);
      expect(result.two).toMatchObject({ threads: 2, sharedMemory: true, offMainThread: true });
      expect(result.parts).toBeGreaterThan(0);
      expect(result.best).toBe(123);
      expect(result.identical).toBe(true);
      expect(chrome.problems).toEqual([]);
      await page.close();
    });

    it('without isolation the page stays on one thread (no SharedArrayBuffer)', async () => {
      const page = await chrome.open(site.url);
      const info = await page.evaluate(`(async () => {
        const lib = await import('/lib/hybrid-similarity.js');
        const hs = await lib.createHybrid({ gpu: null, cpuThreads: 4 });
        const out = { isolated: crossOriginIsolated, ...hs.info().cpu };
        await hs.dispose();
        return out;
      })()`);
      expect(info).toMatchObject({ isolated: false, threads: 1, sharedMemory: false });
      await page.close();
    });
  });

  describe('without --enable-unsafe-webgpu: navigator.gpu offers no adapter (as on Android)', () => {
    let chrome: Chromium;
    let page: Page;
    let info: PageEngineInfo;
    beforeAll(async () => {
      chrome = await launchChromium({ webgpu: false });
      page = await chrome.open(site.url);
      info = await startHarness(page, 'navigator');
    });
    afterAll(async () => {
      await chrome?.close();
    });

    it('the engine has no GPU: navigator.gpu is there, requestAdapter() gave null', () => {
      expect(info).toMatchObject({ platform: 'browser', wasmSource: 'url', navigatorGpu: true, adapter: false, gpu: null });
    });

    it.each(CASE_NAMES)('%s (auto)', async (name) => {
      const outcome = await runCase(page, name, 'auto');
      if (outcome.error) throw new Error(outcome.error);
    });

    it('every call was routed to the CPU as no-gpu; a forced GPU call is GPU_UNAVAILABLE', async () => {
      const stats = await page.evaluate(() => (window as unknown as { harness: { stats(): unknown } }).harness.stats()) as {
        decisions: Record<string, Record<string, number>>;
        operations: Record<string, { gpu: { calls: number }; cpu: { calls: number } }>;
      };
      for (const operation of ['cosine', 'spreading']) {
        expect(Object.keys(stats.decisions[operation]!), operation).toEqual(['no-gpu']);
        expect(stats.operations[operation]!.gpu.calls).toBe(0);
        expect(stats.operations[operation]!.cpu.calls).toBeGreaterThan(10);
      }
      const code = await page.evaluate(() => (window as unknown as { harness: { forcedGpuCall(): Promise<string | null> } }).harness.forcedGpuCall());
      expect(code).toBe('GPU_UNAVAILABLE');
      expect(chrome.problems).toEqual([]);
    });
  });

  it('in a page that is not a secure context (no navigator.gpu at all) createHybrid() runs every case on the CPU', async () => {
    // hybrid-similarity.test resolves to the local server; plain http on a non-local name is
    // not a secure context, so navigator.gpu is absent even with the WebGPU flag.
    const chrome = await launchChromium({ webgpu: true, args: ['--host-resolver-rules=MAP hybrid-similarity.test 127.0.0.1'] });
    try {
      const page = await chrome.open(`http://hybrid-similarity.test:${site.port}/`);
      const info = await startHarness(page, 'default');
      expect(info).toMatchObject({ platform: 'browser', wasmSource: 'url', navigatorGpu: false, gpu: null });
      expect(await runAllCases(page, 'auto')).toEqual([]);
      expect(chrome.problems).toEqual([]);
    } finally {
      await chrome.close();
    }
  });

  describe('Vite: README\'s bundler example against the package as installed', () => {
    const app = join(work, 'vite-app');
    let chrome: Chromium;
    let served: Served;
    let page: Page;
    const consoleLines: string[] = [];
    let readmeExample = '';

    beforeAll(async () => {
      rmSync(app, { recursive: true, force: true });
      mkdirSync(join(app, 'node_modules'), { recursive: true });
      // As `npm install hybrid-similarity` would leave it (package.json, dist/).
      symlinkSync(root, join(app, 'node_modules', 'hybrid-similarity'));
      writeFileSync(join(app, 'package.json'), '{ "name": "vite-app", "private": true, "type": "module" }\n');
      readmeExample = bundlerExample();
      writeFileSync(join(app, 'main.js'), readmeExample);
      const harness = relative(app, join(root, 'test', 'browser', 'harness.ts')).split('\\').join('/');
      writeFileSync(join(app, 'cases.js'), [
        "import * as hybrid from 'hybrid-similarity';",
        `import { startHarness } from '${harness}';`,
        'window.startHarness = (choice) => startHarness(hybrid, choice).then((h) => { window.harness = h; return h.info; });',
      ].join('\n'));
      writeFileSync(join(app, 'index.html'), [
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>vite app</title></head><body>',
        '<script type="module" src="/main.js"></script>',
        '<script type="module" src="/cases.js"></script>',
        '</body></html>',
      ].join('\n'));
      const { build } = await import('vite');
      await build({ root: app, configFile: false, logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
      served = await serveFolders([['/', join(app, 'dist')]]);
      chrome = await launchChromium({ webgpu: true });
      page = await chrome.context.newPage();
      page.on('console', (message) => { if (message.type() === 'log') consoleLines.push(message.text()); });
      page.on('pageerror', (error) => chrome.problems.push(`page error: ${error.message}`));
      await page.goto(served.url);
      await page.waitForFunction(() => 'startHarness' in window, null, { timeout: 60_000 });
    });
    afterAll(async () => {
      await chrome?.close();
      await served?.close();
    });

    it('the README example prints its commented results in the page, with kernels.wasm loaded by URL', async () => {
      expect(readmeExample).toContain("from 'hybrid-similarity'");
      await expect.poll(() => consoleLines.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
      expect(consoleLines.slice(0, 2)).toEqual(['1 2 0.995', 'browser url']);
      expect(chrome.problems).toEqual([]);
    });

    it('the build ships kernels.wasm as an asset and imports no Node built-in or webgpu', () => {
      const assets = readdirSync(join(app, 'dist', 'assets'));
      expect(assets.some((f) => /^kernels-.*\.wasm$/.test(f)), assets.join(', ')).toBe(true);
      for (const file of assets.filter((f) => f.endsWith('.js'))) {
        const code = readFileSync(join(app, 'dist', 'assets', file), 'utf8');
        expect(code, file).not.toMatch(/["'](node:[a-z_/]+|fs|fs\/promises|worker_threads|webgpu)["']/);
      }
    });

    it('vite dev serves the same example with kernels.wasm by URL', async () => {
      const { createServer } = await import('vite');
      const server = await createServer({
        root: app, configFile: false, logLevel: 'warn', cacheDir: join(work, 'vite-cache'),
        // The package is a symlink to this repository, outside the app: allow its files.
        server: { host: '127.0.0.1', port: 0, fs: { allow: [app, root] } },
      });
      await server.listen();
      const lines: string[] = [];
      const devPage = await chrome.context.newPage();
      try {
        devPage.on('console', (message) => { if (message.type() === 'log') lines.push(message.text()); });
        await devPage.goto(server.resolvedUrls!.local[0]!);
        await expect.poll(() => lines.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
        expect(lines.slice(0, 2)).toEqual(['1 2 0.995', 'browser url']);
      } finally {
        await devPage.close();
        await server.close();
      }
    });

    it('the case table passes in the Vite build (CPU), and the GPU answers there', async () => {
      const info = await startHarness(page, 'navigator');
      expect(info).toMatchObject({ platform: 'browser', wasmSource: 'url' });
      expect(await runAllCases(page, 'cpu')).toEqual([]);
      if (!info.gpu && inCi) throw new Error(ADAPTER_HELP);
      const code = await page.evaluate(() => (window as unknown as { harness: { forcedGpuCall(): Promise<string | null> } }).harness.forcedGpuCall());
      expect(code).toBe(info.gpu ? null : 'GPU_UNAVAILABLE');
    });
  });

  describe('the demo page (npm run demo:browser)', () => {
    let server: ChildProcess;
    let url: string;
    let chrome: Chromium;
    beforeAll(async () => {
      server = spawn(process.execPath, [join(root, 'examples', 'browser', 'serve.mjs'), '--port', '0'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout!.on('data', (chunk) => {
          out += String(chunk);
          const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (found) resolve(found[0]);
        });
        server.on('exit', (code) => reject(new Error(`demo server exited (${code}): ${out}`)));
      });
      chrome = await launchChromium({ webgpu: true });
    });
    afterAll(async () => {
      await chrome?.close();
      server?.kill('SIGTERM');
    });

    it('searches and spreads on both backends, a screenshot shows the results, and corpora load from .json and .f32', async () => {
      // 130 dimensions (not a multiple of 4); software GPU allowed so both backends answer.
      const page = await chrome.open(`${url}?n=3000&dim=130&gpu=any`);
      await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error',
        null, { timeout: 240_000 });
      const result = await page.evaluate(() => (window as unknown as { demoResult: DemoResult }).demoResult);
      expect(result.state, result.error).toBe('done');
      expect(result.info.platform).toBe('browser');
      expect(result.firstResultMs).toBeGreaterThan(0);
      const searches = result.calls.filter((c) => c.label.startsWith('search top-5'));
      expect(searches.length).toBeGreaterThanOrEqual(3);
      for (const s of searches) expect(s.best, s.label).toBe(result.target);
      const answeredBy = new Set(result.calls.map((c) => c.backend));
      expect(answeredBy).toEqual(new Set(inCi || result.info.gpu ? ['cpu', 'gpu'] : ['cpu']));
      const spreads = result.calls.filter((c) => c.activations);
      expect(spreads.length).toBe(result.info.gpu ? 3 : 2);
      for (const s of spreads.slice(1)) {
        s.activations!.forEach((x, v) => expect(Math.abs(x - spreads[0]!.activations![v]!), `node ${v}`).toBeLessThan(2e-5));
      }

      mkdirSync(work, { recursive: true });
      await page.screenshot({ path: join(work, 'demo.png'), fullPage: true });
      const table = await page.locator('#results').screenshot({ path: join(work, 'demo-results.png') });
      const pixels = await inkOf(page, table);
      // One row per call, each with text; the backend labels are coloured (cpu blue, gpu green).
      expect(pixels.height).toBeGreaterThan(20 * (result.calls.length + 1));
      expect(pixels.ink).toBeGreaterThan(0.02);
      expect(pixels.blue).toBeGreaterThan(50);
      if (result.info.gpu) expect(pixels.green).toBeGreaterThan(50);
      const text = await page.locator('#results').innerText();
      expect(text).toContain(`#${result.target} (`);

      // A corpus loaded from a file: 60 random rows of 33 as JSON, then as raw float32 (.f32).
      const flat = randomMatrix(60, 33, rng(60));
      const rows = Array.from({ length: 60 }, (_, r) => Array.from(flat.subarray(r * 33, (r + 1) * 33)));
      const loaded = async (name: string, buffer: Buffer) => {
        await page.locator('#corpus-file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
        await page.waitForFunction(`window.demoResult.state !== 'running' && window.demoResult.n === ${rows.length}`,
          null, { timeout: 120_000 });
        return page.evaluate(() => (window as unknown as { demoResult: DemoResult & { n: number; dim: number } }).demoResult);
      };
      await page.locator('input[name=dim]').fill('33');
      for (const file of [
        { name: 'corpus.json', buffer: Buffer.from(JSON.stringify(rows)) },
        { name: 'corpus.f32', buffer: Buffer.from(flat.buffer) },
      ]) {
        const fromFile = await loaded(file.name, file.buffer);
        expect(fromFile.state, fromFile.error).toBe('done');
        expect([fromFile.n, fromFile.dim, fromFile.target]).toEqual([60, 33, 59]);
        for (const s of fromFile.calls.filter((c) => c.label.startsWith('search top-5'))) expect(s.best, file.name).toBe(59);
        // Reset for the next file: the page keys its wait on n.
        await page.evaluate(() => { (window as unknown as { demoResult: { n: number } }).demoResult.n = 0; });
      }
      expect(chrome.problems).toEqual([]);
    });
  });
});

interface DemoResult {
  state: string;
  error?: string;
  target: number;
  firstResultMs: number;
  info: { platform: string; gpu: unknown };
  calls: Array<{ label: string; backend: string; best: number | null; activations?: number[] }>;
}

/** README's bundler example: the first ```js block under "### With a bundler". */
function bundlerExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### With a bundler'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('README has no ```js block under "### With a bundler"');
  return code;
}

/**
 * Decode a PNG in the page (the browser's own decoder): its size, the share of dark (text)
 * pixels, and how many pixels carry the demo's cpu blue (#05a) and gpu green (#0a5).
 */
async function inkOf(page: Page, png: Buffer): Promise<{ width: number; height: number; ink: number; blue: number; green: number }> {
  return page.evaluate(async (base64) => {
    const blob = await (await fetch(`data:image/png;base64,${base64}`)).blob();
    const bitmap = await createImageBitmap(blob);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d')!;
    context.drawImage(bitmap, 0, 0);
    const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
    let dark = 0, blue = 0, green = 0;
    const near = (i: number, r: number, g: number, b: number) =>
      Math.abs(data[i]! - r) < 24 && Math.abs(data[i + 1]! - g) < 24 && Math.abs(data[i + 2]! - b) < 24;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i]! + data[i + 1]! + data[i + 2]! < 300) dark++;
      if (near(i, 0x00, 0x55, 0xaa)) blue++;
      if (near(i, 0x00, 0xaa, 0x55)) green++;
    }
    return { width: bitmap.width, height: bitmap.height, ink: dark / (bitmap.width * bitmap.height), blue, green };
  }, png.toString('base64'));
}
