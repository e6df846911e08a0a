// Two builds side by side on the 50% key filter: each builds the same 1M x 768 embedding-like
// index (the store bench's data and query) in this one process, then plain, Set and array
// top-10 calls alternate between the builds round by round, so that a busy machine moves both
// alike. Prints each build's medians and filtered/plain ratios (of medians, and the median of
// per-round ratios), then B/A per task.
//   node bench/filter-ab.bench.mjs DIST_A DIST_B [ROUNDS]   (DIST: a built dist/ folder; default 25 rounds)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const dists = [process.argv[2], process.argv[3]].map((d) => pathToFileURL(resolve(d)).href);
const rounds = Number(process.argv[4] ?? 25);
const rows = 1_000_000, dim = 768;
const { embeddingLike, seededRandom } = await import(`${dists[0]}/bench/data.js`);
const random = seededRandom(0x5701e);
const corpus = embeddingLike(random, rows, dim);
const query = corpus.slice(12_345 * dim, 12_346 * dim).map((x) => x + 0.01 * random());
const set = new Set(); for (let r = 7; r < rows; r += 2) set.add(r);
const list = [...set];
const sides = [];
for (const d of dists) {
  const { createHybrid } = await import(`${d}/index.js`);
  const engine = await createHybrid({ gpu: null });
  const index = await engine.createIndex(corpus, { dim });
  sides.push({ engine, index });
}
const names = ['plain', 'Set', 'array'];
const run = (index, name) => index.search(query, { k: 10, backend: 'cpu', ...(name === 'Set' ? { filter: set } : name === 'array' ? { filter: list } : {}) });
const times = sides.map(() => Object.fromEntries(names.map((n) => [n, []])));
for (let r = -2; r < rounds; r++) for (const n of names) for (let s = 0; s < 2; s++) {
  const t = performance.now(); await run(sides[s].index, n); const dt = performance.now() - t;
  if (r >= 0) times[s][n].push(dt);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (let s = 0; s < 2; s++) {
  const T = times[s];
  const line = names.map((n) => `${n} ${med(T[n]).toFixed(2)}`).join('  ');
  const ratios = names.slice(1).map((n) => `${n}/plain ${(med(T[n]) / med(T.plain)).toFixed(3)} (per-round ${med(T[n].map((v, i) => v / T.plain[i])).toFixed(3)})`).join('  ');
  console.log(s === 0 ? 'A' : 'B', line, ' ', ratios);
}
for (const n of names) console.log(`B/A ${n}: ${med(times[1][n].map((v, i) => v / times[0][n][i])).toFixed(3)}`);
for (const s of sides) await s.engine.dispose();
