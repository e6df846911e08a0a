// Bundles, for a lent GPU machine that has no npm, two files with every dependency inlined
// except `webgpu` (carried separately by ../shared/gpu/pack.sh):
//  - .gpu-carry/bench-gpu.mjs: bench/gpu.bench.mjs (the ceilings: copy bandwidth, empty
//    submit-and-wait; 1 x N scans against the CPU);
//  - .gpu-carry/hybrid-similarity.mjs: the command line (dist/cli.js), so `bench` runs the whole
//    suite there (the peers are not carried: the report lists them as not measured).
// The .wasm kernels load from their inline copy there. Run after `npm run build`.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, '.gpu-carry'), { recursive: true });
const bundles = [
  { entry: join(root, 'bench', 'gpu.bench.mjs'), out: 'bench-gpu.mjs' },
  { entry: join(root, 'dist', 'cli.js'), out: 'hybrid-similarity.mjs' },
];
for (const { entry, out } of bundles) {
  await build({
    entryPoints: [entry],
    outfile: join(root, '.gpu-carry', out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    // CommonJS dependencies bundled into ESM call require() for Node's built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  console.log(`wrote .gpu-carry/${out}`);
}
