// The 2-thread top-10 speedup on 1 x 100k x 768 under call patterns other than tinybench's back
// to back: a plain loop of 200 calls with 0, 0.5 or 3.5 ms of busy work on the calling thread
// between calls, then the 1-thread and 2-thread engines interleaved call by call (5 rounds of
// 300). Medians; ratio = 1 thread / 2 threads. Usage: node bench/threads-patterns.bench.mjs
import { createHybrid } from '../dist/index.js';
import { fill, seededRandom } from './data.mjs';

const dim = 768;
const n = 100_000;
const random = seededRandom();
const rows = fill(random, n * dim);
const query = fill(random, dim);
const one = await createHybrid({ gpu: null, cpuThreads: 1, offMainThread: false });
const two = await createHybrid({ gpu: null, cpuThreads: 2 });
const a = await one.createIndex(rows, { dim });
const b = await two.createIndex(rows, { dim });
const median = (values) => values.sort((x, y) => x - y)[values.length >> 1];
const timed = async (index) => {
  const start = performance.now();
  await index.search(query, { k: 10 });
  return performance.now() - start;
};
for (let i = 0; i < 20; i++) { await timed(a); await timed(b); }

for (const gapMs of [0, 0.5, 3.5]) {
  const loop = async (index) => {
    const times = [];
    for (let i = 0; i < 200; i++) {
      const until = performance.now() + gapMs;
      while (performance.now() < until);
      times.push(await timed(index));
    }
    return median(times);
  };
  const [ma, mb] = [await loop(a), await loop(b)];
  console.log(`loop, ${gapMs} ms of other work between calls: 1 thread ${ma.toFixed(2)} ms, 2 threads ${mb.toFixed(2)} ms, ratio ${(ma / mb).toFixed(2)}`);
}
for (let round = 1; round <= 5; round++) {
  const ta = [];
  const tb = [];
  for (let i = 0; i < 300; i++) { ta.push(await timed(a)); tb.push(await timed(b)); }
  const [ma, mb] = [median(ta), median(tb)];
  console.log(`interleaved, round ${round}: 1 thread ${ma.toFixed(2)} ms, 2 threads ${mb.toFixed(2)} ms, ratio ${(ma / mb).toFixed(2)}`);
}
await one.dispose();
await two.dispose();
