// Per-call cost of tiny searches (16 rows x 8): 20,000 one after another, then 20,000 at once
// (Promise.all), three rounds. Shows the engine's own overhead and that it stays flat with many
// calls in flight. Usage: node bench/many-calls.bench.mjs
import { createHybrid } from '../dist/index.js';

const CALLS = 20_000;
const hs = await createHybrid({ gpu: null });
const index = await hs.createIndex(new Float32Array(16 * 8).map((_, i) => Math.sin(i + 1)), { dim: 8 });
const query = new Float32Array(8).map((_, i) => Math.cos(i));
for (let round = 0; round < 3; round++) {
  let start = performance.now();
  for (let i = 0; i < CALLS; i++) await index.search(query, { k: 3 });
  const sequential = ((performance.now() - start) / CALLS) * 1000;
  start = performance.now();
  await Promise.all(Array.from({ length: CALLS }, () => index.search(query, { k: 3 })));
  const concurrent = ((performance.now() - start) / CALLS) * 1000;
  console.log(`round ${round + 1}: ${sequential.toFixed(1)} us per call one after another, ${concurrent.toFixed(1)} us per call with ${CALLS} in flight`);
}
await hs.dispose();
