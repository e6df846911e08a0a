// Puts the kernels .wasm builds beside dist/cpu/kernels.js, where `new URL('./kernels.wasm', import.meta.url)`
// (and './kernels-relaxed.wasm') look.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist', 'cpu'), { recursive: true });
for (const file of ['kernels.wasm', 'kernels-relaxed.wasm']) copyFileSync(join(root, 'build', file), join(root, 'dist', 'cpu', file));
