// What marking a filter's default keys costs through the key table and through a bitmap of keys
// (src/store/selection.ts, markByKeyBits), both forced, on a fresh 1M-row index (one run of
// consecutive keys) and on one compacted after removing every 50th row (runs up to the column's
// limit, most rows past them): 3 keys (the pass over the rows alone) and 500k keys. The numbers
// behind throughKeyBits' weights. Reads private fields: a probe, not an API.
//   node bench/key-marking-probe.bench.mjs [DIST] [ROUNDS]   (defaults: ./dist 31)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.argv[2] ?? 'dist')).href;
const rounds = Number(process.argv[3] ?? 31);
const { createHybrid } = await import(`${dist}/index.js`);
const { selectRows, checkFilter, keyMarking } = await import(`${dist}/store/selection.js`);
const rows = 1_000_000, dim = 8;
const corpus = new Float32Array(rows * dim); for (let i = 0; i < corpus.length; i++) corpus[i] = Math.sin(i);
const engine = await createHybrid({ gpu: null });
const fresh = await engine.createIndex(corpus, { dim });
const gappy = await engine.createIndex(corpus, { dim });
await gappy.remove(Array.from({ length: 20_000 }, (_, i) => i * 50 + 1));
await gappy.compact();
const info = (ix) => ix.segments.map((s) => `${s.rows} rows, ${s.keys.runCount} runs to row ${s.keys.runsEnd}`).join('; ');
console.log('fresh:', info(fresh), '| compacted:', info(gappy));
const tiny = [5, 77, 999];
const half = []; for (let r = 7; r < rows; r += 2) half.push(r);
const tasks = {};
for (const [name, ix] of [['fresh', fresh], ['compacted', gappy]]) for (const [fname, f] of [['3 keys', tiny], ['500k keys', half]]) for (const path of ['bits', 'table']) {
  tasks[`${name} ${fname} ${path}`] = () => { keyMarking.force = path; selectRows(ix.segments, ix.keys0(), checkFilter(f)); keyMarking.force = undefined; };
}
const times = Object.fromEntries(Object.keys(tasks).map((n) => [n, []]));
for (let r = 0; r < rounds; r++) for (const [n, f] of Object.entries(tasks)) { const t = performance.now(); f(); times[n].push(performance.now() - t); }
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [n, t] of Object.entries(times)) console.log(n.padEnd(28), med(t).toFixed(3), 'ms');
await engine.dispose();
