// The browser build's size and load time: `npm run bench:browser` (builds first).
// Sizes: the self-contained bundle and kernels.wasm (raw and gzip -9), and what Vite ships for
// README's bundler example. Load time: the demo page (examples/browser) in headless Debian
// Chromium (playwright-core, --enable-unsafe-webgpu: SwiftShader here), a fresh browser profile
// per load (nothing cached), for each setting: the page's own timeline from navigation start
// (performance.now()) to the library module loaded, the engine ready, the index built and the
// first search result. Medians over --runs loads (default 7). Results: bench/results/browser.json.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

// Sizes.
const bundle = readFileSync(join(root, 'dist', 'browser', 'hybrid-similarity.js'));
const wasm = readFileSync(join(root, 'dist', 'browser', 'kernels.wasm'));
const app = join(root, 'test-results', 'bench-browser-app');
rmSync(app, { recursive: true, force: true });
mkdirSync(join(app, 'node_modules'), { recursive: true });
symlinkSync(root, join(app, 'node_modules', 'hybrid-similarity'));
writeFileSync(join(app, 'package.json'), '{ "name": "bench-app", "private": true, "type": "module" }\n');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
writeFileSync(join(app, 'main.js'), /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### With a bundler')))[1]);
writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>\n');
await build({ root: app, configFile: false, logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
const viteAssets = readdirSync(join(app, 'dist', 'assets')).map((file) => {
  const bytes = readFileSync(join(app, 'dist', 'assets', file));
  return { file: file.replace(/-[\w-]{8}\./, '.'), bytes: bytes.length, gzip: gz(bytes) };
});
const sizes = {
  bundle: { bytes: bundle.length, gzip: gz(bundle) },
  wasm: { bytes: wasm.length, gzip: gz(wasm) },
  viteReadmeExample: viteAssets,
};
console.log(`bundle dist/browser/hybrid-similarity.js: ${kib(sizes.bundle.bytes)}, gzip ${kib(sizes.bundle.gzip)}`);
console.log(`kernels.wasm: ${kib(sizes.wasm.bytes)}, gzip ${kib(sizes.wasm.gzip)}`);
for (const a of viteAssets) console.log(`vite build of README's example: ${a.file} ${kib(a.bytes)}, gzip ${kib(a.gzip)}`);

// Load times.
const server = spawn(process.execPath, [join(root, 'examples', 'browser', 'serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (chunk) => {
    out += chunk;
    const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
    if (found) resolve(found[0]);
  });
  server.on('exit', (code) => reject(new Error(`demo server exited (${code})`)));
});
const settings = [
  { n: 1000, dim: 384, gpu: 'off' },
  { n: 20000, dim: 384, gpu: 'off' },
  { n: 20000, dim: 384, gpu: 'auto' },
  { n: 20000, dim: 384, gpu: 'any' },
];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const steps = [
  ['module', 'library module loaded'],
  ['engine', 'engine ready'],
  ['corpus', 'corpus ready'],
  ['index', 'index built'],
  ['first', 'first search result'],
];
const loads = [];
try {
  for (const setting of settings) {
    const samples = [];
    let backend = '';
    for (let r = 0; r < runs; r++) {
      const profile = mkdtempSync(join(tmpdir(), 'hybrid-similarity-bench-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: '/usr/bin/chromium', headless: true,
        args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'],
      });
      try {
        const page = await context.newPage();
        await page.goto(`${url}?n=${setting.n}&dim=${setting.dim}&gpu=${setting.gpu}`);
        // Strings: these run in the page, where document and window are.
        await page.waitForFunction("['done', 'error'].includes(document.body.dataset.state)", null, { timeout: 300_000 });
        const result = await page.evaluate('window.demoResult');
        if (result.state !== 'done') throw new Error(result.error);
        const sample = {};
        for (const [key, prefix] of steps) sample[key] = result.timeline.find((t) => t.what.startsWith(prefix)).at;
        samples.push(sample);
        backend = result.calls[0].backend;
      } finally {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      }
    }
    const row = { ...setting, firstSearchBackend: backend, runs, medianMs: {} };
    for (const [key] of steps) row.medianMs[key] = Number(median(samples.map((s) => s[key])).toFixed(1));
    row.firstMs = { min: Math.min(...samples.map((s) => s.first)), max: Math.max(...samples.map((s) => s.first)) };
    loads.push(row);
    console.log(`n ${setting.n} dim ${setting.dim} gpu=${setting.gpu} (first search on ${backend}), median of ${runs}: ` +
      steps.map(([key, label]) => `${label} ${row.medianMs[key]} ms`).join(', ') +
      ` (first result min ${row.firstMs.min.toFixed(0)}, max ${row.firstMs.max.toFixed(0)})`);
  }
} finally {
  server.kill('SIGTERM');
}
const chromiumVersion = await (async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const v = browser.version();
  await browser.close();
  return v;
})();
const out = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, chromium: chromiumVersion },
  sizes,
  loads,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'browser.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote bench/results/browser.json');
