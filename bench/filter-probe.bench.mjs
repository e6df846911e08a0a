// Where a filtered top-10 spends its time: the plain search, filtered searches (Sets and an
// array), `selectRows` alone (the filter turned into row bitmaps), and the masked search alone
// (a selection built beforehand, then the kernels the search runs), interleaved round by round
// so that a busy machine moves every figure alike. The store bench's data and query
// (src/bench/modules/store.ts). Reads private fields of the index: a probe, not an API.
//   node bench/filter-probe.bench.mjs [DIST] [ROWS] [ROUNDS]   (defaults: ./dist 1000000 15)
// DIST is a built dist/ folder, so two builds can be compared in one run.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.argv[2] ?? 'dist')).href;
const rows = Number(process.argv[3] ?? 1_000_000);
const rounds = Number(process.argv[4] ?? 15);
const dim = 768;
const { createHybrid } = await import(`${dist}/index.js`);
const { selectRows, checkFilter } = await import(`${dist}/store/selection.js`);
const { embeddingLike, seededRandom } = await import(`${dist}/bench/data.js`);
const random = seededRandom(0x5701e);
const t0 = performance.now();
const corpus = embeddingLike(random, rows, dim);
const query = corpus.slice(12_345 * dim, 12_346 * dim).map((x) => x + 0.01 * random());
const engine = await createHybrid({ gpu: null });
const index = await engine.createIndex(corpus, { dim });
console.log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${index.segments.length} segments`);
const backend = 'cpu';
const segments = index.segments;
const keys = index.keys0();
/** The search with a selection given (what index.search does after selectRows). */
async function masked(selection) {
  const snapshot = index.snapshot();
  const staged = index.host.stage(query, dim, 'query', true);
  try {
    return await index.host.topK('search', snapshot.view, staged, 10, selection, backend);
  } finally {
    staged.release();
  }
}
const tasks = { plain: () => index.search(query, { k: 10, backend }) };
for (const share of [0.5, 0.01, 0.0001]) {
  const step = Math.round(1 / share);
  const set = new Set();
  for (let r = 7; r < rows; r += step) set.add(r);
  const label = `${share * 100}%`;
  tasks[`${label} Set`] = () => index.search(query, { k: 10, filter: set, backend });
  if (share !== 0.5) continue;
  const list = [...set];
  tasks[`${label} array`] = () => index.search(query, { k: 10, filter: list, backend });
  const typed = Uint32Array.from(list);
  tasks[`${label} Uint32Array`] = () => index.search(query, { k: 10, filter: typed, backend });
  tasks[`${label} selectRows(Set)`] = async () => selectRows(segments, keys, checkFilter(set));
  const selection = selectRows(segments, keys, checkFilter(set));
  tasks[`${label} masked only`] = () => masked(selection);
  const pick = seededRandom(77);
  const randomHalf = new Set();
  for (let r = 0; r < rows; r++) if (pick() < 0.5) randomHalf.add(r);
  const randomSelection = selectRows(segments, keys, checkFilter(randomHalf));
  tasks['random 50% masked only'] = () => masked(randomSelection);
  const most = new Set();
  for (let r = 0; r < rows; r++) if (r % 10 !== 3) most.add(r);
  const mostSelection = selectRows(segments, keys, checkFilter(most));
  tasks['90% masked only'] = () => masked(mostSelection);
}
const times = Object.fromEntries(Object.keys(tasks).map((name) => [name, []]));
for (const fn of Object.values(tasks)) {
  await fn();
  await fn();
}
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of Object.entries(tasks)) {
    const start = performance.now();
    await fn();
    times[name].push(performance.now() - start);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const base = median(times.plain);
for (const [name, t] of Object.entries(times)) {
  console.log(`${name.padEnd(24)} ${median(t).toFixed(2).padStart(7)} ms  ${(median(t) / base).toFixed(3)}x  min ${Math.min(...t).toFixed(2)}`);
}
await engine.dispose();
