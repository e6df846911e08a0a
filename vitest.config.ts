import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The tests run src/: '#platform' (package.json "imports", which point into dist/) is the
    // Node implementation's source here. The browser one is tested in Chromium (browser.test.ts).
    alias: { '#platform': fileURLToPath(new URL('./src/platform/node.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Forked processes: Dawn's node module (GPU tests) has crashed inside worker threads.
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // The JSON report is what .ci/run counts for its closing 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
