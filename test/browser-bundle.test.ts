// The browser build without a browser: the self-contained bundle (exports["."].browser) imports
// nothing (no Node built-in, no `webgpu`, no bare name, no dynamic import; only import.meta for
// the .wasm URL), '#platform' resolves to the browser implementation for every bundler that is
// not targeting Node, and to the Node one in Node. Chromium runs it in browser.test.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { init, parse } from 'es-module-lexer';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'browser', 'hybrid-similarity.js');
const NODE_ONLY = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'webgpu']);

describe('browser bundle', () => {
  it('is what exports["."].browser names, with kernels.wasm beside it', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(join(root, pkg.exports['.'].browser)).toBe(bundle);
    expect(existsSync(bundle)).toBe(true);
    expect(readFileSync(join(dirname(bundle), 'kernels.wasm'))).toEqual(readFileSync(join(root, 'build', 'kernels.wasm')));
  });

  it('imports nothing: no static or dynamic import, only import.meta (for the two .wasm URLs)', async () => {
    await init;
    const [imports] = parse(readFileSync(bundle, 'utf8'));
    // d === -2: import.meta; anything else is an import statement or an import() call.
    expect(imports.map((i) => (i.d === -2 ? 'import.meta' : i.n ?? 'import(<expression>)'))).toEqual(['import.meta', 'import.meta']);
    expect(readFileSync(bundle, 'utf8')).not.toMatch(/\brequire\s*\(/);
  });

  it('was built from the browser platform only: no Node built-in, webgpu or platform/node.js went in', () => {
    const meta = JSON.parse(readFileSync(join(root, 'build', 'browser-meta.json'), 'utf8')) as {
      inputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('dist/platform/browser.js');
    expect(inputs).not.toContain('dist/platform/node.js');
    for (const [file, input] of Object.entries(meta.inputs)) {
      for (const imported of input.imports) {
        expect(NODE_ONLY.has(imported.path) || imported.external === true, `${file} imports ${imported.path}`).toBe(false);
      }
    }
  });

  it('runs without browser APIs too, on the inline .wasm and the CPU, as the browser platform', async () => {
    // Node here only stands in for a runtime without WebGPU; the real pages are in browser.test.ts.
    const script = `
      const { createHybrid } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const hs = await createHybrid();
      const s = await hs.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 0, 0, 1]));
      console.log(JSON.stringify({ platform: hs.info().platform, source: hs.info().cpu.wasmSource, gpu: hs.info().gpu, s: Array.from(s) }));
      await hs.dispose();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    // fetch() cannot read file: URLs in Node, so the inline copy answers.
    expect(JSON.parse(out)).toEqual({ platform: 'browser', source: 'inline', gpu: null, s: [1, 0] });
  });
});

describe("'#platform' (package.json imports)", () => {
  it('is the Node implementation in Node', () => {
    const script = `
      import { createHybrid } from 'hybrid-similarity';
      const hs = await createHybrid({ gpu: null });
      console.log(hs.info().platform);
      await hs.dispose();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('node');
  });

  it.each([
    ['a browser bundler', { platform: 'browser' as const }, 'dist/platform/browser.js'],
    ['a bundler with no browser or node condition', { platform: 'neutral' as const, mainFields: ['module', 'main'] }, 'dist/platform/browser.js'],
    ['a Node bundler', { platform: 'node' as const, external: ['webgpu'] }, 'dist/platform/node.js'],
  ])('is resolved by %s that bundles dist/index.js to %s', async (_name, options, expected) => {
    const result = await build({
      entryPoints: [join(root, 'dist', 'index.js')], bundle: true, write: false, format: 'esm', metafile: true,
      logLevel: 'silent', ...options,
    });
    const platforms = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('dist/platform/'));
    expect(platforms).toEqual([expected]);
  });
});
