// The soak (scripts/soak.mjs, `npm run soak`) in the long run: 100,000 mixed calls on the CPU and
// 10,000 with the GPU where there is an adapter; RSS, WASM memory and GPU buffers must stay flat.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runGpuTests } from '../gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function soak(...args: string[]) {
  const child = spawnSync(process.execPath, [join(root, 'scripts', 'soak.mjs'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  return { status: child.status, out: child.stdout, err: child.stderr };
}

describe('soak', () => {
  it('100,000 mixed calls on the CPU: memory flat after warm-up', () => {
    const run = soak('--calls', '100000');
    expect(run.status, run.out + run.err).toBe(0);
    expect(run.out).toMatch(/flat after warm-up: 100000 calls, nothing lost/);
  });

  it.skipIf(!runGpuTests)('10,000 mixed calls with the GPU: memory and GPU buffers flat after warm-up', () => {
    const run = soak('--calls', '10000', '--gpu');
    expect(run.status, run.out + run.err).toBe(0);
    expect(run.out).toMatch(/flat after warm-up: 10000 calls, nothing lost/);
  });
});
