// The store at scale (issue 13/14 targets): indexes built through add() in 100,000-row chunks of
// embedding-shaped rows, with the process's peak RSS, each chunk's add time, and top-10 per row at
// the start and at the end; one wide index built at once; key tables at 10M keys; the segment size.
// One experiment per process (they need most of the machine's RAM):
//   node bench/store-scale.bench.mjs build --rows 4000000 [--dim 768] [--dtype f32|f16|i8]
//   node bench/store-scale.bench.mjs once --rows 1000000 --dim 1536
//   node bench/store-scale.bench.mjs keys --rows 10000000 --kind number|string
//   node bench/store-scale.bench.mjs segments --rows 1000000   (top-10 and scan by segment size)
//   node bench/store-scale.bench.mjs persist --rows 1000000 [--file /tmp/x.hsx]  (save, toBytes, load
//       against a plain copy and read of the same bytes; then a fresh process loads the file:
//       its peak RSS against the index's memory, its first search against warm ones)
//   node bench/store-scale.bench.mjs load --file /tmp/x.hsx   (that fresh process)
// Prints a JSON line per figure and writes bench/results/store-scale-<experiment>.json.
import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHybrid } from '../dist/index.js';
import { embeddingLike, seededRandom } from '../dist/bench/data.js';
import { storeLimits } from '../dist/store/limits.js';

const argv = process.argv.slice(2);
const experiment = argv[0];
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const rows = Number(option('rows', 1_000_000));
const dim = Number(option('dim', 768));
const dtype = option('dtype', 'f32');
const chunk = Number(option('chunk', 100_000));
const GiB = 2 ** 30;
const results = { experiment, rows, dim, dtype, machine: `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, ${(os.totalmem() / GiB).toFixed(1)} GiB, Node ${process.version}`, figures: [] };
const say = (figure) => {
  results.figures.push(figure);
  console.log(JSON.stringify(figure));
};
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Median of `n` timed calls (after one warm-up). */
async function timed(call, n = 9) {
  await call();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** The top-10 of `index` equals the top 10 of its own scores (same keys, same bits). */
async function checkTop(index, query) {
  const scores = await index.scores(query, { backend: 'cpu' });
  const keys = index.keys();
  const result = await index.search(query, { k: 10, backend: 'cpu' });
  const order = [];
  for (let i = 0; i < scores.length; i++) {
    if (order.length === 10 && scores[i] <= scores[order[9]]) continue;
    let at = order.length;
    while (at > 0 && scores[order[at - 1]] < scores[i]) at--;
    order.splice(at, 0, i);
    if (order.length > 10) order.pop();
  }
  order.forEach((i, j) => {
    if (result.keys[j] !== keys[i] || !Object.is(result.scores[j], scores[i])) {
      throw new Error(`top-10 differs from the exact scan at ${j}: ${result.keys[j]} vs ${keys[i]}`);
    }
  });
}

const random = seededRandom(0x51ca1e);
const hs = await createHybrid({ gpu: null });
const threads = hs.info().cpu.threads;
try {
  if (experiment === 'build') {
    const index = await hs.createIndex(new Float32Array(0), { dim, dtype });
    const query = embeddingLike(random, 1, dim);
    const adds = [];
    for (let done = 0; done < rows; done += chunk) {
      const part = embeddingLike(random, Math.min(chunk, rows - done), dim);
      const t = performance.now();
      await index.add(part);
      adds.push(performance.now() - t);
      if (done === 0) {
        await checkTop(index, query);
        const ms = await timed(() => index.search(query, { k: 10, backend: 'cpu' }));
        say({ figure: 'top-10 after the first chunk', rows: index.size, ms, nsPerRow: (ms * 1e6) / index.size });
      }
    }
    const rowBytes = rows * dim * { f32: 4, f16: 2, i8: 1 }[dtype];
    say({ figure: 'adds', first: adds[0], last: adds[adds.length - 1], median: median(adds), lastOverFirst: adds[adds.length - 1] / adds[0] });
    await checkTop(index, query);
    const ms = await timed(() => index.search(query, { k: 10, backend: 'cpu' }), 7);
    const scanMs = await timed(() => index.scores(query, { backend: 'cpu' }), 3);
    say({ figure: 'top-10 at the end', rows: index.size, ms, nsPerRow: (ms * 1e6) / index.size, scanMs, threads });
    say({
      figure: 'memory', rowBytes, memoryBytes: index.memoryBytes, peakRss: peakRss(),
      peakOverRows: peakRss() / rowBytes, target: 1.3 * rowBytes + 1.5 * GiB, segments: index.segmentList.length,
      memories: hs.info().cpu.memoryRegions,
    });
  } else if (experiment === 'once') {
    const data = embeddingLike(random, rows, dim);
    const t = performance.now();
    const index = await hs.createIndex(data, { dim, dtype });
    const buildMs = performance.now() - t;
    const query = data.slice(77 * dim, 78 * dim);
    await checkTop(index, query);
    const ms = await timed(() => index.search(query, { k: 10, backend: 'cpu' }), 7);
    say({ figure: 'built at once', rows, dim, buildMs, top10Ms: ms, memoryBytes: index.memoryBytes, peakRss: peakRss(), memories: hs.info().cpu.memoryRegions });
  } else if (experiment === 'keys') {
    const kind = option('kind', 'number');
    const index = await hs.createIndex(new Float32Array(0), { dim: 1, dtype: 'i8', keys: [] });
    const heapBefore = process.memoryUsage().heapUsed;
    for (let done = 0; done < rows; done += chunk) {
      const n = Math.min(chunk, rows - done);
      const keys = Array.from({ length: n }, (_, i) => (kind === 'string' ? `doc-${(done + i).toString(36)}-x` : (done + i) * 7919 + 1));
      await index.add(new Float32Array(n).fill(1), { keys });
    }
    const text = index.segmentList.reduce((sum, s) => sum + (s.keys.textBytes ?? 0), 0);
    const columns = index.segmentList.reduce((sum, s) => sum + s.keys.bytes, 0);
    const table = index.keyTableBytes;
    const probe = kind === 'string' ? `doc-${(rows >> 1).toString(36)}-x` : (rows >> 1) * 7919 + 1;
    const lookups = Array.from({ length: 100_000 }, (_, i) => (kind === 'string' ? `doc-${((i * 97) % rows).toString(36)}-x` : ((i * 97) % rows) * 7919 + 1));
    const t = performance.now();
    let found = 0;
    for (const key of lookups) if (index.has(key)) found++;
    const nsPerLookup = ((performance.now() - t) * 1e6) / lookups.length;
    if (found !== lookups.length || !index.has(probe)) throw new Error('a key was not found');
    say({
      figure: `${kind} keys`, keys: rows, tableBytes: table, columnBytes: columns, textBytes: text,
      bytesPerKey: (table + columns - (kind === 'string' ? text : 0)) / rows, textPerKey: text / rows,
      heapGrowthPerKey: (process.memoryUsage().heapUsed - heapBefore) / rows, nsPerLookup,
    });
  } else if (experiment === 'segments') {
    const data = embeddingLike(random, rows, dim);
    const query = data.slice(5 * dim, 6 * dim);
    for (const mib of [4, 16, 64, 256]) {
      storeLimits.segmentBytes = mib * 2 ** 20;
      const index = await hs.createIndex(data, { dim });
      await checkTop(index, query);
      const top = await timed(() => index.search(query, { k: 10, backend: 'cpu' }));
      const scan = await timed(() => index.scores(query, { backend: 'cpu' }), 5);
      const add = performance.now();
      await index.add(data.subarray(0, 100_000 * dim));
      say({ figure: 'segment size', segmentMiB: mib, segments: index.segmentList.length, top10Ms: top, scanMs: scan, add100kMs: performance.now() - add, threads });
      index.dispose();
    }
  } else if (experiment === 'persist') {
    const { closeSync, copyFileSync, openSync, readSync, rmSync, statSync } = await import('node:fs');
    // A plain read of the file from the page cache, 64 MiB at a time into one buffer (files over 2 GiB cannot be read whole).
    const plainRead = (path) => { const fd = openSync(path, 'r'); const buffer = Buffer.allocUnsafe(64 << 20); try { while (readSync(fd, buffer, 0, buffer.length, null) > 0); } finally { closeSync(fd); } };
    const { execFileSync } = await import('node:child_process');
    const file = option('file', join(os.tmpdir(), 'hs-persist.hsx'));
    const data = embeddingLike(random, rows, dim);
    const index = await hs.createIndex(data, { dim, dtype });
    const query = data.slice(3 * dim, 4 * dim);
    const want = await index.search(query, { k: 10, backend: 'cpu' });
    const time = async (call) => { const t = performance.now(); await call(); return performance.now() - t; };
    const save = [], copy = [], load = [], read = [], toBytes = [];
    for (let i = 0; i < 3; i++) {
      rmSync(file, { force: true });
      save.push(await time(() => index.save(file)));
      rmSync(`${file}.copy`, { force: true });
      copy.push(await time(async () => copyFileSync(file, `${file}.copy`)));
      read.push(await time(async () => plainRead(file)));
      let loaded;
      load.push(await time(async () => { loaded = await hs.loadIndex(file); }));
      const got = await loaded.search(query, { k: 10, backend: 'cpu' });
      if (JSON.stringify(got.keys) !== JSON.stringify(want.keys)) throw new Error('a loaded index answers differently');
      loaded.dispose();
      toBytes.push(await time(() => index.toBytes()));
    }
    const bytes = statSync(file).size;
    const gbs = (ms) => bytes / 1e6 / median(ms);
    say({ figure: 'persist', bytes, saveMs: median(save), saveGBs: gbs(save), copyMs: median(copy), copyGBs: gbs(copy),
      loadMs: median(load), loadGBs: gbs(load), readMs: median(read), readGBs: gbs(read), toBytesMs: median(toBytes),
      saveOverCopy: median(save) / median(copy), loadOverRead: median(load) / median(read) });
    index.dispose();
    const script = fileURLToPath(import.meta.url);
    const out = execFileSync(process.execPath, [script, 'load', '--file', file, '--dim', String(dim)], { encoding: 'utf8' });
    for (const line of out.trim().split('\n')) if (line.startsWith('{')) say(JSON.parse(line));
    rmSync(`${file}.copy`, { force: true });
  } else if (experiment === 'load') {
    const file = option('file', '');
    const before = process.memoryUsage().rss;
    const t = performance.now();
    const index = await hs.loadIndex(file);
    const loadMs = performance.now() - t;
    const query = embeddingLike(random, 1, index.dim);
    const f = performance.now();
    await index.search(query, { k: 10, backend: 'cpu' });
    const firstMs = performance.now() - f;
    const warmMs = await timed(() => index.search(query, { k: 10, backend: 'cpu' }), 9);
    const memory = index.memoryBytes;
    say({ figure: 'fresh load', loadMs, memoryBytes: memory, rssBefore: before, peakRss: peakRss(),
      peakOverIndex: (peakRss() - before) / memory, limit: 1.1 * memory + 64 * 2 ** 20, firstSearchMs: firstMs, warmSearchMs: warmMs, firstOverWarm: firstMs / warmMs });
  } else {
    throw new Error(`unknown experiment ${experiment}: build, once, keys, segments, persist or load`);
  }
} finally {
  await hs.dispose();
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
if (experiment !== 'load') writeFileSync(join(out, `store-scale-${experiment}${experiment === 'keys' ? `-${option('kind', 'number')}` : ''}${experiment === 'build' ? `-${dtype}-${rows}` : ''}.json`), JSON.stringify(results, null, 2));
