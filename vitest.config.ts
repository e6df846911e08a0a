import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** V8's flag for relaxed SIMD (Node 20; later Nodes have relaxed SIMD on), if this Node takes it. */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
const relaxedFlag = spawnSync(process.execPath, [RELAXED_FLAG, '-e', '0']).status === 0 ? [RELAXED_FLAG] : [];

/**
 * The case tables of the kernels whose code differs between the two kernels modules
 * (src/cpu/kernels.ts), run again in child processes given the flag, where the relaxed-SIMD module
 * is chosen (test/cpu-strategy.test.ts checks that it is).
 */
const RELAXED_FILES = ['test/prefilter-batch.test.ts', 'test/prefilter.test.ts', 'test/store.test.ts', 'test/cpu-strategy.test.ts'];

export default defineConfig({
  resolve: {
    // The tests run src/: '#platform' (package.json "imports", which point into dist/) is the
    // Node implementation's source here. The browser one is tested in Chromium (browser.test.ts).
    alias: { '#platform': fileURLToPath(new URL('./src/platform/node.ts', import.meta.url)) },
  },
  test: {
    // Forked processes: Dawn's node module (GPU tests) has crashed inside worker threads.
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // The JSON report is what .ci/run counts for its closing 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'relaxed-simd', include: RELAXED_FILES, execArgv: relaxedFlag } },
    ],
  },
});
