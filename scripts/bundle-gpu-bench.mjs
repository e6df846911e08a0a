// Bundles bench/gpu.bench.mjs into one file, .gpu-carry/bench-gpu.mjs, with every dependency
// inlined except `webgpu` (carried separately by ../shared/gpu/pack.sh), for a lent GPU machine
// that has no npm. The .wasm kernels load from the inline copy there. Run after `npm run build`.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, '.gpu-carry'), { recursive: true });
await build({
  entryPoints: [join(root, 'bench', 'gpu.bench.mjs')],
  outfile: join(root, '.gpu-carry', 'bench-gpu.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  logLevel: 'warning',
});
console.log('wrote .gpu-carry/bench-gpu.mjs');
