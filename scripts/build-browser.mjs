// The browser entry (package.json exports["."].browser): dist/ (tsc output) bundled by esbuild
// into one self-contained ESM file, dist/browser/hybrid-similarity.js, with no bare or dynamic
// imports, so a plain <script type="module"> can import it and bundlers take it as one module.
// '#platform' resolves to src/platform/browser.ts here (condition `browser`), so Node
// built-ins and the `webgpu` package are not reachable; esbuild fails the build if any is.
// The kernels .wasm builds are copied beside it, where `new URL('./kernels.wasm', import.meta.url)`
// and './kernels-relaxed.wasm' look (the inline copies stay as the fallback). Run after build:ts.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'browser');
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, 'hybrid-similarity.js');
const result = await build({
  entryPoints: [join(root, 'dist', 'index.js')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // WebAssembly SIMD and WebGPU-era browsers (Chrome 91+, Firefox 89+, Safari 16.4+).
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});
for (const file of ['kernels.wasm', 'kernels-relaxed.wasm']) copyFileSync(join(root, 'build', file), join(outdir, file));
// What went in, for test/browser-bundle.test.ts (kept out of dist/).
writeFileSync(join(root, 'build', 'browser-meta.json'), JSON.stringify(result.metafile));
const code = readFileSync(outfile);
const wasm = readFileSync(join(outdir, 'kernels.wasm'));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.error(`browser bundle: dist/browser/hybrid-similarity.js ${kb(code.length)} (gzip ${kb(gzipSync(code, { level: 9 }).length)}), ` +
  `kernels.wasm ${kb(wasm.length)} (gzip ${kb(gzipSync(wasm, { level: 9 }).length)})`);
