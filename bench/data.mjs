// The benchmarks' shared data (seeded values in [-1, 1], row normalisation): the suite's own
// helpers (src/bench/data.ts), for the single-purpose bench scripts.
export { fill, normaliseRows, seededRandom } from '../dist/bench/data.js';
