// Puts the kernels .wasm beside dist/cpu/kernels.js, where `new URL('./kernels.wasm', import.meta.url)` looks.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist', 'cpu'), { recursive: true });
copyFileSync(join(root, 'build', 'kernels.wasm'), join(root, 'dist', 'cpu', 'kernels.wasm'));
