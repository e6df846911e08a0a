import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { SlowestFirst } from './test/sequencer.js';

/**
 * `npm run test:long` (scripts/test.mjs --long): the long cases only: test/long/ (the CLI's full
 * suite, corpora of hundreds of MB on the GPU, a consumer installing the packed tarball, the soak)
 * and the case tables that take their sizes from test/helpers.ts (NS: 100000 rows there; LONG: the
 * spreading table's 200k-node graph).
 */
const long = process.env.HYBRID_SIMILARITY_LONG_TESTS === '1';
const LONG_TABLES = ['test/index.test.ts', 'test/cosine.test.ts', 'test/spreading.test.ts', 'test/spreading-strategies.test.ts'];

/** V8's flag for relaxed SIMD (Node 20; later Nodes have relaxed SIMD on), if this Node takes it. */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
const relaxedFlag = spawnSync(process.execPath, [RELAXED_FLAG, '-e', '0']).status === 0 ? [RELAXED_FLAG] : [];

/**
 * The case tables of the kernels whose code differs between the two kernels modules
 * (src/cpu/kernels.ts), run again in child processes given the flag, where the relaxed-SIMD module
 * is chosen (test/cpu-strategy.test.ts checks that it is).
 */
const RELAXED_FILES = ['test/prefilter-batch.test.ts', 'test/cpu-strategy.test.ts'];

/**
 * Test files that measure their own process (the soak's RSS must stay flat after warm-up), which
 * the garbage of the files before it in a shared worker would disturb.
 */
const ISOLATED = ['test/concurrency.test.ts'];

export default defineConfig({
  resolve: {
    // The tests run src/: '#platform' (package.json "imports", which point into dist/) is the
    // Node implementation's source here. The browser one is tested in Chromium (browser.test.ts).
    alias: { '#platform': fileURLToPath(new URL('./src/platform/node.ts', import.meta.url)) },
  },
  test: {
    // Forked processes: Dawn's node module (GPU tests) has crashed inside worker threads.
    pool: 'forks',
    // Two test files at a time on this 2-core machine (vitest's default is cores - 1 = 1): much of
    // a file's time is waiting (GPU readbacks on lavapipe, child processes, Chromium).
    maxWorkers: 2,
    // `npm test`: each of the two worker processes runs file after file, the modules imported once
    // (a fresh process per file spent ~28 s of the two slots' time importing src/ again, ~0.7 s a
    // file). Files that change process.env or globals restore them (config-sources, warmup,
    // cpu-strategy); the files in ISOLATED get a process of their own. The long run (hundreds of
    // MB per case) keeps a process per file, so that no file's peak memory adds to another's.
    isolate: long,
    // Slowest first, so that the two slots end together (test/sequencer.ts).
    sequence: { sequencer: SlowestFirst },
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Warm-up off (the default is on): engines made for one case would each start workers and
    // time both backends first (a second on lavapipe), and the router's first decisions are under
    // test. test/warmup.test.ts clears it.
    env: { HYBRID_SIMILARITY_WARMUP: '0' },
    // A test's console output is shown when it fails, not otherwise.
    silent: 'passed-only',
    // The JSON reports are what .ci/run counts for its closing 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: long ? 'test-results/vitest-long.json' : 'test-results/vitest.json' },
    // Every project is in its run's one JSON report, so .ci/run's closing line counts the
    // relaxed-SIMD runs too.
    // The long run also runs the batch kernels once more in V8's baseline compiler alone (code
    // runs there until it tiers up): Node 20's Liftoff got i32x4.relaxed_dot_i8x16_i7x16_add_s
    // wrong, which showed only when a test happened to run before tier-up (asm/batch-dots.ts).
    projects: long
      ? [
          { extends: true, test: { name: 'default', include: ['test/long/**/*.test.ts', ...LONG_TABLES] } },
          { extends: true, test: { name: 'relaxed-simd-liftoff', include: ['test/prefilter-batch.test.ts'], execArgv: [...relaxedFlag, '--liftoff-only'] } },
        ]
      : [
          { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/long/**', ...ISOLATED] } },
          { extends: true, test: { name: 'isolated', include: ISOLATED, isolate: true } },
          { extends: true, test: { name: 'relaxed-simd', include: RELAXED_FILES, execArgv: relaxedFlag } },
        ],
  },
});
