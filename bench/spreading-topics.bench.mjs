// K = 16 seed sets in one spreadActivationBatch call against one set, on the semantic-network
// graph of bench/spreading.bench.mjs (118k nodes, 378k edges; 4 hops, threshold 0.01, fan
// outDegree, sparse output), for sets that share a topic (each a concept and 1-4 of its
// out-neighbours: frontiers overlap) and for unrelated sets (semanticSeeds: frontiers disjoint,
// so the work adds up). Each build given is loaded into this process and the calls alternate
// between them round by round, so a busy machine moves them alike.
//   node bench/spreading-topics.bench.mjs [DIST ...]   (default: ./dist; two builds: before, after)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dists = (process.argv.length > 2 ? process.argv.slice(2) : ['dist']).map((d) => pathToFileURL(resolve(d)).href);
const libs = await Promise.all(dists.map((d) => import(`${d}/index.js`)));
const { semanticGraph, semanticSeeds } = await import(`${dists[dists.length - 1]}/bench/semantic-graph.js`);
const sg = semanticGraph();
const opts = { maxHops: 4, threshold: 0.01, fan: 'outDegree', decay: { kind: 'exponential', rate: 0.7 }, output: 'sparse' };
const { from, to, nodeCount } = sg.input;
const out = Array.from({ length: nodeCount }, () => []);
for (let e = 0; e < from.length; e++) out[from[e]].push(to[e]);
let s = 7; const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
const anchors = semanticSeeds(sg, 64).map((x) => x.nodes[0]).filter((u) => out[u].length >= 4);
const topic = (u) => Array.from({ length: 16 }, () => {
  const nodes = new Set([u]); const want = 1 + Math.floor(rnd() * 4);
  while (nodes.size < want + 1 && nodes.size < out[u].length) nodes.add(out[u][Math.floor(rnd() * out[u].length)]);
  const list = Uint32Array.from(nodes); return { nodes: list, values: new Float32Array(list.length).fill(1) };
});
const related = anchors.slice(0, 8).map(topic);
const unrelated = [0, 1, 2, 3].map((i) => semanticSeeds(sg, 16, 100 + i));
const engines = [];
for (const lib of libs) { const hs = await lib.createHybrid({ gpu: null, warmup: false }); engines.push({ hs, graph: hs.createGraph(sg.input) }); }
const tasks = {
  'related 1 set': (E, i) => E.hs.spreadActivation(E.graph, { seeds: related[i % 8][i % 16], ...opts }),
  'related 16 sets': (E, i) => E.hs.spreadActivationBatch(E.graph, { seedSets: related[i % 8], ...opts }),
  'unrelated 1 set': (E, i) => E.hs.spreadActivation(E.graph, { seeds: unrelated[i % 4][i % 16], ...opts }),
  'unrelated 16 sets': (E, i) => E.hs.spreadActivationBatch(E.graph, { seedSets: unrelated[i % 4], ...opts }),
};
const ms = engines.map(() => Object.fromEntries(Object.keys(tasks).map((k) => [k, []])));
for (let round = 0; round < 600; round++) for (const [k, f] of Object.entries(tasks)) for (const e of round % 2 ? engines.map((_, i) => engines.length - 1 - i) : engines.map((_, i) => i)) { const t = performance.now(); await f(engines[e], round); ms[e][k].push(performance.now() - t); }
const med = (a) => { const b = a.slice(100).sort((x, y) => x - y); return b[b.length >> 1]; };
for (const k of Object.keys(tasks)) {
  const last = ms.length - 1;
  const versus = last > 0 ? `  last / first ${med(ms[last][k].map((x, i) => x / ms[0][k][i])).toFixed(3)}` : '';
  console.log(k.padEnd(20), ms.map((m, e) => `${dists[e].split('/').slice(-2).join('/')} ${med(m[k]).toFixed(4)} ms`).join('  '), versus);
}
ms.forEach((m, e) => console.log(dists[e], 'related: 16 sets / 1 set', (med(m['related 16 sets']) / med(m['related 1 set'])).toFixed(2),
  ' unrelated: 16 sets / 1 set', (med(m['unrelated 16 sets']) / med(m['unrelated 1 set'])).toFixed(2)));
for (const E of engines) await E.hs.dispose();
