// Demo on generated data: an index of 100k 384-d vectors, a few searches, timings, and which
// backend answered each call. Run: npm run demo
import { createHybrid } from 'hybrid-similarity';

const N = 100_000;
const D = 384;
let seed = 42;
const random = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return (seed / 4294967296) * 2 - 1;
};
const vectors = new Float32Array(N * D).map(random);

const hs = await createHybrid();
const { cpu, gpu } = hs.info();
console.log(`CPU: WASM-SIMD kernels (${cpu.wasmBytes} bytes, loaded from ${cpu.wasmSource}); GPU: ${gpu ? gpu.adapter.description ?? 'yes' : 'none'}`);

let t = performance.now();
const index = await hs.createIndex(vectors, { dim: D });
console.log(`built an index of ${index.size} x ${index.dim} in ${(performance.now() - t).toFixed(1)} ms`);
// Before serving: workers, kernels, this index's memory (and GPU copy), the router's estimate.
const warm = await hs.warmup();
console.log(`warmed up in ${warm.totalMs.toFixed(0)} ms (${warm.steps.map((s) => s.name).join(', ')})`);

/** Run a call and report its time and the backend the router chose (from stats()). */
async function timed(label, call) {
  const before = hs.stats().operations.cosine;
  t = performance.now();
  const result = await call();
  const ms = performance.now() - t;
  const after = hs.stats().operations.cosine;
  const backend = after.gpu.calls > before.gpu.calls ? 'gpu' : 'cpu';
  console.log(`${label.padEnd(44)} ${ms.toFixed(2).padStart(8)} ms  backend: ${backend}`);
  return result;
}

// A query that is a noisy copy of row 1234: that row should come first.
const query = vectors.slice(1234 * D, 1235 * D).map((x) => x + 0.3 * random());
for (let i = 0; i < 3; i++) {
  const { indices, scores } = await timed(`search top-5 (run ${i + 1})`, () => index.search(query, { k: 5 }));
  if (i === 2) {
    console.log('  best matches:', Array.from(indices).map((r, j) => `#${r} (${scores[j].toFixed(4)})`).join(', '));
  }
}
const queries = new Float32Array(64 * D).map(random);
await timed('searchBatch of 64 queries, top-10', () => index.searchBatch(queries, { k: 10 }));
await timed('scores of one query against all rows', () => index.scores(query));
if (gpu) {
  // Both backends forced, same query: what the router chooses between.
  for (const backend of ['cpu', 'gpu']) {
    await index.search(query, { k: 5, backend }); // warm (first GPU use uploads the index)
    await timed(`search top-5 forced to ${backend}`, () => index.search(query, { k: 5, backend }));
  }
}
for (let i = 0; i < 2; i++) {
  // The first one-shot call also pays for fresh WASM pages (page faults); later ones reuse them.
  await timed(`one-shot cosineSimilarity vs 10k raw rows (${i + 1})`, () => hs.cosineSimilarity(query, vectors.subarray(0, 10_000 * D)));
}

const stats = hs.stats();
console.log('router decisions:', JSON.stringify(stats.decisions.cosine));
console.log(`CPU latency over the window: p50 ${stats.operations.cosine.cpu.p50Ms.toFixed(2)} ms, p99 ${stats.operations.cosine.cpu.p99Ms.toFixed(2)} ms`);
index.dispose();
await hs.dispose();
