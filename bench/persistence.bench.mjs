// Persistence benchmark: a generated index image (default 1M x 768 f32, 3.07 GB, in segments of
// 65,536 rows) encoded and written, and read and decoded into a sink that keeps the data, from
// the page cache, against plain fs writes, copies and reads of the same bytes in the same run;
// medians of --reps runs. Decoding runs in a child process (one per run) that reports its time
// and peak RSS, so the RSS is the loader's alone (node + data + the format's buffer).
// Usage: node bench/persistence.bench.mjs [--rows N] [--dim D] [--reps R] [--out FILE]
// (npm run bench:persistence; build first: it runs dist/).
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checksums } from '../dist/store/format/checksum.js';
import { encodeIndex, saveIndexFile } from '../dist/store/format/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1];
};

// ---- child mode: decode (or plain-read) FILE into memory that is kept, report time and RSS ----
if (process.argv[2] === '--child') {
  const [, , , mode, file, bufferBytes, memory, segmentBytes] = process.argv;
  const { decodeIndex } = await import('../dist/store/format/index.js');
  const rssBefore = process.memoryUsage().rss;
  // 'touched': the kept memory is allocated and written once before the clock starts, so the
  // time is the reading alone; 'fresh': allocated as the data comes (first-touch page faults
  // included, as in a real load).
  const pool = [];
  if (memory === 'touched') {
    for (let left = statSync(file).size; left > 0; left -= Number(segmentBytes)) pool.push(new Uint8Array(Number(segmentBytes)).fill(1));
  }
  const allocate = (bytes) => (pool.length ? pool.shift().subarray(0, bytes) : new Uint8Array(bytes));
  const started = performance.now();
  let kept = 0;
  if (mode === 'decode') {
    // Keeps what a store keeps: every segment's values, dead bitmap and keys, in memory it owns.
    const segments = [];
    let current;
    let rowBytes = 0;
    await decodeIndex(file, {
      begin(header) { rowBytes = header.dim * 4; },
      beginSegment(info) { current = { values: allocate(info.rows * rowBytes), dead: new Uint8Array(Math.ceil(info.rows / 8)), keys: new Float64Array(info.rows) }; },
      values(bytes, firstRow) { current.values.set(bytes, firstRow * rowBytes); },
      scales() {},
      dead(bitmap, firstRow) { current.dead.set(bitmap, firstRow / 8); },
      keys(keys, firstRow) { current.keys.set(keys, firstRow); },
      endSegment() { segments.push(current); kept += current.values.length + current.dead.length + current.keys.byteLength; },
      commit() {},
      abort() { segments.length = 0; },
    }, { bufferBytes: Number(bufferBytes) });
  } else if (mode === 'touch') {
    const piece = Number(segmentBytes);
    const parts = [];
    for (let left = statSync(file).size; left > 0; left -= piece) {
      parts.push(new Uint8Array(Math.min(piece, left)).fill(1));
      kept += parts.at(-1).length;
    }
  } else {
    // The plain-fs floor: the same bytes read straight into memory that is kept (no buffer, no checks).
    const size = statSync(file).size;
    const piece = Number(segmentBytes);
    const parts = [];
    const fd = openSync(file, 'r');
    for (let at = 0; at < size; at += piece) {
      const part = allocate(Math.min(piece, size - at));
      for (let done = 0; done < part.length;) done += readSync(fd, part, done, part.length - done, at + done);
      parts.push(part);
      kept += part.length;
    }
    closeSync(fd);
  }
  const ms = performance.now() - started;
  const { maxRSS } = process.resourceUsage(); // KiB
  process.stdout.write(JSON.stringify({ ms, kept, maxRssBytes: maxRSS * 1024, rssBefore }));
  process.exit(0);
}

// ---- parent mode ----
const rows = Number(arg('rows', 1 << 20));
const dim = Number(arg('dim', 768));
const reps = Number(arg('reps', 3));
const segmentRows = 65536;
const folder = mkdtempSync(join(arg('dir', os.tmpdir()), 'hs-persistence-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gb = (bytes, ms) => bytes / 1e9 / (ms / 1e3);
const log = (m) => process.stderr.write(`${m}\n`);

log(`generating ${rows} x ${dim} f32 (${(rows * dim * 4 / 1e9).toFixed(2)} GB) in segments of ${segmentRows} rows`);
const segments = [];
let seed = 1;
for (let first = 0; first < rows; first += segmentRows) {
  const n = Math.min(segmentRows, rows - first);
  const values = new Float32Array(n * dim);
  for (let i = 0; i < values.length; i += 97) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    values.fill(seed / 4294967296 - 0.5, i, i + 97);
  }
  segments.push({ rows: n, values, dead: new Uint8Array(Math.ceil(n / 8)), keys: Float64Array.from({ length: n }, (_, i) => first + i) });
}
const image = {
  header: { dim, metric: 'cosine', dtype: 'f32', keyKind: 'default', nextDefaultKey: rows, rows, liveRows: rows, segmentCount: segments.length, options: [] },
  segments,
};
const dataBytes = segments.reduce((sum, s) => sum + s.values.byteLength + s.dead.length + s.keys.byteLength, 0);

const encoded = join(folder, 'index.hsf');
const results = {};
const record = (name, bytes, ms) => {
  (results[name] ??= { bytes, ms: [] }).ms.push(ms);
  log(`  ${name}: ${ms.toFixed(0)} ms (${gb(bytes, ms).toFixed(2)} GB/s)`);
};

// Checksum speed alone (XXH64 over the image's first segment, from memory).
const sums = await checksums();
{
  const bytes = new Uint8Array(segments[0].values.buffer);
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    const sum = sums.running();
    sum.update(bytes);
    sum.digest();
    record('XXH64 (xxhash-wasm), from memory', bytes.length, performance.now() - t);
  }
}

/** What saveIndexFile does without the temporary file and the fsyncs: one write in flight while the next piece is made. */
async function encodeAndWrite(path) {
  const handle = await open(path, 'w');
  const writeAll = async (piece) => {
    for (let at = 0; at < piece.length;) at += (await handle.write(piece, at, piece.length - at)).bytesWritten;
  };
  let bytes = 0;
  let writing = Promise.resolve();
  for await (const piece of encodeIndex(image)) {
    await writing;
    writing = writeAll(piece);
    bytes += piece.length;
  }
  await writing;
  await handle.close();
  return bytes;
}

async function plainWrite(path, sync) {
  // The same bytes (the rows) from memory to a file through the same calls as the save (4 MiB
  // FileHandle writes, one in flight), without the format. (writeSync measured up to 3x slower
  // here on these 200 MB buffers.)
  const handle = await open(path, 'w');
  let bytes = 0;
  for (const s of segments) {
    const all = new Uint8Array(s.values.buffer);
    for (let at = 0; at < all.length; at += 4 << 20) bytes += (await handle.write(all.subarray(at, at + (4 << 20)))).bytesWritten;
  }
  if (sync) await handle.sync();
  await handle.close();
  return bytes;
}

function plainCopy(from, to) {
  // Read and write through one 4 MiB buffer (what a copy in JS is), and copyFileSync (the kernel's).
  const buffer = new Uint8Array(4 << 20);
  const input = openSync(from, 'r');
  const output = openSync(to, 'w');
  let bytes = 0;
  for (;;) {
    const got = readSync(input, buffer, 0, buffer.length, null);
    if (got === 0) break;
    writeSync(output, buffer, 0, got);
    bytes += got;
  }
  closeSync(input);
  closeSync(output);
  return bytes;
}

const child = (mode, file, memory, bufferBytes = 4 << 20) => JSON.parse(execFileSync(process.execPath,
  ['--max-old-space-size=256', fileURLToPath(import.meta.url), '--child', mode, file, String(bufferBytes), memory, String(segmentRows * dim * 4)],
  { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 }));
// Each write starts on a quiet disk: no dirty pages left from the one before, and no file
// removed just before (ext4 here is mounted with `discard`: a removed or truncated 3 GB file is
// trimmed at the next journal commit, within 5 s, and a write meanwhile ran up to 3x slower).
const settle = async (...paths) => {
  for (const path of paths) rmSync(path, { force: true });
  execFileSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 6000));
};

// This VM serves memory the guest never used before slowly (page cache included: a first 1 GB
// write runs at ~0.4 GB/s, the same write again at ~2-4 GB/s): one unrecorded round of writes
// and a read first, so that the runs compare the code, not the host's first touch.
log('warm-up round (not recorded)');
await encodeAndWrite(encoded);
await plainWrite(join(folder, 'plain.bin'), false);
child('plain', encoded, 'fresh');

const plainPath = join(folder, 'plain.bin');
const copyPath = join(folder, 'copy.bin');
const savedPath = join(folder, 'saved.hsf');
const rssRuns = [];
for (let r = 0; r < reps; r++) {
  log(`run ${r + 1} of ${reps}`);
  let t = performance.now();
  let fileBytes = 0;
  for await (const piece of encodeIndex(image)) fileBytes += piece.length;
  record('encode only (pieces counted, not written)', fileBytes, performance.now() - t);

  await settle(encoded, plainPath);
  t = performance.now();
  await encodeAndWrite(encoded);
  record('save: encode + write (page cache, no fsync)', fileBytes, performance.now() - t);

  await settle(plainPath);
  t = performance.now();
  await plainWrite(plainPath, false);
  record('plain fs write of the rows from memory (no fsync)', rows * dim * 4, performance.now() - t);

  await settle(plainPath, copyPath);
  t = performance.now();
  plainCopy(encoded, copyPath);
  record('plain fs copy of the file (read + write, 4 MiB buffer)', fileBytes, performance.now() - t);

  await settle(copyPath);
  t = performance.now();
  copyFileSync(encoded, copyPath);
  record('fs.copyFileSync of the file (in the kernel)', fileBytes, performance.now() - t);

  await settle(copyPath, savedPath);
  t = performance.now();
  await saveIndexFile(savedPath, image);
  record('save: atomic (temporary, write, fsync, rename, folder fsync)', fileBytes, performance.now() - t);

  await settle(savedPath, plainPath);
  t = performance.now();
  await plainWrite(plainPath, true);
  record('plain fs write of the rows + fsync', rows * dim * 4, performance.now() - t);
  await settle(plainPath);

  // The file is in the page cache (written above, read since). Each read runs in its own process.
  const touch = child('touch', encoded, 'fresh');
  record('first touch of fresh memory (fill; no file)', fileBytes, touch.ms);
  for (const memory of ['fresh', 'touched']) {
    const plain = child('plain', encoded, memory);
    record(`plain fs read of the file into kept memory (${memory})`, fileBytes, plain.ms);
    const decoded = child('decode', encoded, memory);
    record(`load: read + verify + decode into a keeping sink (${memory})`, fileBytes, decoded.ms);
    if (memory === 'fresh') rssRuns.push({ decode: decoded.maxRssBytes, plain: plain.maxRssBytes, kept: decoded.kept, startRss: decoded.rssBefore });
  }
}
rmSync(folder, { recursive: true, force: true });

const table = Object.entries(results).map(([name, { bytes, ms }]) => ({ name, bytes, medianMs: median(ms), gbPerS: gb(bytes, median(ms)), runsMs: ms.map((x) => Math.round(x)) }));
const rss = {
  dataBytes,
  decodePeakRssBytes: median(rssRuns.map((r) => r.decode)),
  plainReadPeakRssBytes: median(rssRuns.map((r) => r.plain)),
  childStartRssBytes: median(rssRuns.map((r) => r.startRss)),
};
const report = {
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  rows, dim, reps, segmentRows, fileBytes: table.find((t) => t.name.startsWith('encode only'))?.bytes, table, rss,
};
console.log(`\n${rows} x ${dim} f32, ${reps} runs, medians (${report.machine.cpu}, ${report.machine.cores} cores, Node ${process.version})`);
for (const t of table) console.log(`${t.name.padEnd(78)} ${String(Math.round(t.medianMs)).padStart(7)} ms  ${t.gbPerS.toFixed(2).padStart(6)} GB/s`);
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(`peak RSS decoding: ${mib(rss.decodePeakRssBytes)} for ${mib(dataBytes)} of data kept (limit data + 64 MiB = ${mib(dataBytes + 64 * 2 ** 20)}; `
  + `node alone at start ${mib(rss.childStartRssBytes)}); plain read: ${mib(rss.plainReadPeakRssBytes)}`);
const out = arg('out', join(root, 'bench', 'results', 'persistence.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
log(`wrote ${out}`);
