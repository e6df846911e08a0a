// The order test files start in: the slowest first, so that the two slots of `npm test` end
// together (longest-processing-time-first). vitest's own order puts the files it has timed before
// longest first, but CI runs a fresh clone with no timings, where vitest falls back to file size,
// which put the browser tests (a third of the suite's time, in one slot) 17 s in and the README
// examples (18 s) last. The list is from vitest's JSON report of a CI run (test-results/vitest.json),
// slowest first; the files not in it keep vitest's order after these.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOWEST = [
  'test/browser.test.ts', // ~60 s: Chromium pages, the case table on SwiftShader, Vite, the demo
  'test/readme.test.ts',
  'test/index.test.ts',
  'test/faults.test.ts',
  'test/batching.test.ts',
  'test/cosine.test.ts',
  'test/store.test.ts',
  'test/concurrency.test.ts',
  'test/format-fuzz.test.ts',
  'test/prefilter.test.ts',
  'test/threads.test.ts',
  'test/spreading.test.ts',
  'test/format-save.test.ts',
  'test/quiet.test.ts',
  'test/index-file.test.ts',
  'test/prefilter-batch.test.ts',
];

export class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const theirs = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const at = SLOWEST.indexOf(relative(spec.project.config.root, spec.moduleId).split('\\').join('/'));
      return at < 0 ? SLOWEST.length : at;
    };
    // Array.prototype.sort is stable: equal ranks keep vitest's order.
    return [...theirs].sort((a, b) => rank(a) - rank(b));
  }
}
