// The long soak: `npm run soak [-- --calls 100000 --gpu]`. Mixed calls (index create / search /
// scores / dispose, one-shot cosine, spreading) on one engine, sampling RSS, WASM memory and the
// GPU's live buffer count every 10% of the run; exits 1 if they grew after the first 10%.
import { createHybrid } from '../dist/index.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--calls');
const calls = at >= 0 ? Number(argv[at + 1]) : 100_000;
let gpu = null;
if (argv.includes('--gpu')) gpu = (await import('webgpu')).create([]);
const hs = await createHybrid({ gpu, gpuMinBatchSize: 1, explorationRate: 0.3 });
const dim = 32;
let seed = 1;
const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return (seed / 4294967296) * 2 - 1; };
const corpus = new Float32Array(4000 * dim).map(random);
const graph = hs.createGraph({ nodeCount: 1000, from: new Uint32Array(4000).map((_, i) => (i * 31) % 1000), to: new Uint32Array(4000).map((_, i) => (i * 17 + 3) % 1000) });
const samples = [];
const sample = (done) => samples.push({ calls: done, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20), wasmMB: Math.round(hs.info().cpu.memoryBytes / 2 ** 20), gpuBuffers: hs['gpu']?.bufferCount ?? 0 });
let done = 0;
while (done < calls) {
  const index = await hs.createIndex(corpus.subarray(0, (1000 + (done % 5) * 500) * dim), { dim });
  for (let j = 0; j < 8 && done < calls; j++, done++) {
    const query = new Float32Array(dim).map(random);
    const pick = done % 4;
    if (pick === 0) await index.search(query, { k: 10 });
    else if (pick === 1) await index.scores(query);
    else if (pick === 2) await hs.cosineSimilarity(query, corpus.subarray(0, 500 * dim));
    else await hs.spreadActivation(graph, { seeds: { nodes: new Uint32Array([done % 1000]), values: new Float32Array([1]) } });
    if (done % Math.ceil(calls / 10) === 0) sample(done);
  }
  index.dispose();
}
sample(done);
console.table(samples);
const warm = samples[1] ?? samples[0];
const end = samples[samples.length - 1];
const grew = end.wasmMB > warm.wasmMB || end.gpuBuffers > warm.gpuBuffers + 2 || end.rssMB - warm.rssMB > 128;
console.log(grew ? 'memory grew after warm-up' : `flat after warm-up: ${calls} calls, nothing lost`);
await hs.dispose();
process.exitCode = grew ? 1 : 0;
