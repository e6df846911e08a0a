// Activation spreading's float64 reference (DESIGN.md's rule written here from the raw edge
// list, not the library's CSR), random graphs and seeds, and the table of cases every backend
// runs, in Node (spreading.test.ts) and in the browser page (test/browser/). Free of vitest and
// Node APIs; a failed check throws.
import type { Decay, FanMode, HybridEngine } from '../src/index.js';
import { check, LONG, rng } from './helpers.js';

/** A graph as an edge list (what createGraph takes). */
export interface TestGraph { nodeCount: number; from: Uint32Array; to: Uint32Array; weight: Float32Array; undirected: boolean }
/** One seed set. */
export interface Seeds { nodes: Uint32Array; values: Float32Array }
/** Every spreading option, resolved. */
export interface Options { maxHops: number; decay: Decay; threshold: number; fan: FanMode; maxActivation: number }

/** Power-law-ish degrees (node ids skewed towards 0), isolated tail, self-loops, a cycle, parallel edges. */
export function randomGraph(nodeCount: number, edges: number, seed: number, undirected = false): TestGraph {
  const random = rng(seed);
  const from: number[] = [];
  const to: number[] = [];
  const weight: number[] = [];
  const live = Math.max(1, Math.floor(nodeCount * 0.95)); // the last 5% stay isolated
  const skewed = () => Math.min(live - 1, Math.floor(live * random() ** 3));
  for (let i = 0; i < edges; i++) {
    const u = random() < 0.5 ? skewed() : Math.floor(random() * live);
    const v = random() < 0.05 ? u : random() < 0.5 ? skewed() : Math.floor(random() * live);
    from.push(u); to.push(v); weight.push(random() * 2 - 1);
    if (random() < 0.03) { from.push(u); to.push(v); weight.push(random()); } // a parallel edge
  }
  for (let i = 0; i < Math.min(10, live); i++) { from.push(i); to.push((i + 1) % Math.min(10, live)); weight.push(0.9); } // a cycle
  return { nodeCount, from: Uint32Array.from(from), to: Uint32Array.from(to), weight: Float32Array.from(weight), undirected };
}

export function randomSeeds(nodeCount: number, count: number, seed: number): Seeds {
  const random = rng(seed);
  const nodes = new Uint32Array(count).map(() => Math.floor(random() * nodeCount));
  if (count > 2) nodes[1] = nodes[0]!; // a duplicate: values add up
  const values = new Float32Array(count).map(() => random() * 1.6 - 0.3); // some negative, some > 1
  return { nodes, values };
}

export function decayAt(decay: Decay, h: number): number {
  if (typeof decay === 'number') return decay;
  if (decay.kind === 'exponential') return Math.exp(-(decay.rate ?? 0.7) * h);
  if (decay.kind === 'power') return (h + 1) ** -decay.exponent;
  return Math.max(0, 1 - decay.slope * h);
}

/** The rule in float64; also the smallest distance of any |c| to the threshold (near ties). */
export function reference(graph: TestGraph, seeds: Seeds, o: Options): { total: Float64Array; margin: number } {
  const n = graph.nodeCount;
  const src: number[] = [], dst: number[] = [], w: number[] = [];
  for (let i = 0; i < graph.from.length; i++) {
    src.push(graph.from[i]!); dst.push(graph.to[i]!); w.push(graph.weight[i]!);
    if (graph.undirected && graph.from[i] !== graph.to[i]) { src.push(graph.to[i]!); dst.push(graph.from[i]!); w.push(graph.weight[i]!); }
  }
  const out = new Float64Array(n);
  for (const u of src) out[u]!++;
  const fan = (u: number) => (o.fan === 'none' || out[u] === 0 ? 1 : o.fan === 'outDegree' ? out[u]! : Math.sqrt(out[u]!));
  let f = new Float64Array(n);
  for (let i = 0; i < seeds.nodes.length; i++) f[seeds.nodes[i]!]! += seeds.values[i]!;
  const clamp = (x: number) => Math.min(Math.max(x, 0), Math.fround(o.maxActivation));
  const total = f.map(clamp);
  const threshold = Math.fround(o.threshold);
  let margin = Infinity;
  for (let h = 1; h <= o.maxHops; h++) {
    const c = new Float64Array(n);
    for (let e = 0; e < src.length; e++) c[dst[e]!]! += f[src[e]!]! * w[e]! / fan(src[e]!);
    const d = Math.fround(decayAt(o.decay, h));
    const next = new Float64Array(n);
    let any = false;
    for (let v = 0; v < n; v++) {
      const value = d * c[v]!;
      // With threshold 0 nothing is ambiguous: every non-zero c is kept.
      if (value !== 0 && threshold > 0) margin = Math.min(margin, Math.abs(Math.abs(value) - threshold));
      if (Math.abs(value) >= threshold && value !== 0) { next[v] = value; any = true; total[v] = clamp(total[v]! + value); }
    }
    if (!any) break;
    f = next;
  }
  return { total, margin };
}

/**
 * A threshold with no |c| within 1e-5 of it in the reference, so that the f32 kernels and the
 * float64 reference cut the same nodes (a node on the edge would otherwise differ by the whole
 * threshold, and its neighbours after it). Nudged up a little until that holds.
 */
export function settledOptions(graph: TestGraph, seedSets: Seeds[], o: Options): Options {
  let options = o;
  for (let attempt = 0; attempt < 40; attempt++) {
    if (seedSets.every((s) => reference(graph, s, options).margin >= 1e-5)) return options;
    options = { ...options, threshold: options.threshold * 1.0173 + 1e-6 };
  }
  throw new Error('no threshold without near ties');
}

/** Totals within 2e-5 of the float64 reference, every one finite; throws naming the worst node. */
export function expectTotalsClose(actual: Float32Array, expected: Float64Array, label: string): void {
  check(actual.length === expected.length, `${label}: ${actual.length} totals, want ${expected.length}`);
  let worst = 0, at = -1;
  for (let v = 0; v < expected.length; v++) {
    if (!Number.isFinite(actual[v]!)) throw new Error(`${label}: node ${v} is ${actual[v]}`);
    const error = Math.abs(actual[v]! - expected[v]!);
    if (error > worst) { worst = error; at = v; }
  }
  check(worst < 2e-5, `${label}: worst error ${worst} at node ${at}: ${actual[at]} vs ${expected[at]}`);
}

/** The default options. */
export const base: Options = { maxHops: 4, decay: { kind: 'exponential', rate: 0.7 }, threshold: 0.01, fan: 'none', maxActivation: 1 };

/** The large graph: 200k nodes / 1M edges under `npm run test:long` (test/helpers.ts), 50k / 250k otherwise. */
const LARGE = LONG ? { nodes: 200_000, edges: 1_000_000, name: '200k / 1M edges' } : { nodes: 50_000, edges: 250_000, name: '50k / 250k edges' };

/** Graphs of the case table, built on first use (the large one takes a while). */
export const GRAPHS = {
  small: once(() => randomGraph(1000, 5000, 11)),
  smallUndirected: once(() => randomGraph(1000, 3000, 12, true)),
  large: once(() => randomGraph(LARGE.nodes, LARGE.edges, 13)),
};

/** One spreading case: a graph, K seed sets (K = 1 also runs the single-set call), options. */
export interface SpreadingCase { name: string; graph: keyof typeof GRAPHS; k: number; options: Options }

export const SPREADING_CASES: SpreadingCase[] = [
  { name: '1k defaults, K 1', graph: 'small', k: 1, options: base },
  { name: '1k outDegree fan, K 3', graph: 'small', k: 3, options: { ...base, fan: 'outDegree' } },
  { name: '1k sqrtOutDegree fan, K 8', graph: 'small', k: 8, options: { ...base, fan: 'sqrtOutDegree' } },
  { name: '1k power decay, K 33, no threshold', graph: 'small', k: 33, options: { ...base, decay: { kind: 'power', exponent: 1.5 }, threshold: 0 } },
  { name: '1k linear decay, K 1', graph: 'small', k: 1, options: { ...base, decay: { kind: 'linear', slope: 0.2 } } },
  { name: '1k constant decay 0.8, K 3', graph: 'small', k: 3, options: { ...base, decay: 0.8, threshold: 0.05 } },
  { name: '1k exponential rate 0.3, no threshold, 6 hops', graph: 'small', k: 1, options: { ...base, decay: { kind: 'exponential', rate: 0.3 }, threshold: 0, maxHops: 6 } },
  { name: '1k threshold cuts everything', graph: 'small', k: 3, options: { ...base, threshold: 1e6 } },
  { name: '1k maxHops 0', graph: 'small', k: 3, options: { ...base, maxHops: 0 } },
  { name: '1k maxHops 1', graph: 'small', k: 8, options: { ...base, maxHops: 1 } },
  { name: '1k maxActivation 0.5, 50 hops (early stop)', graph: 'small', k: 1, options: { ...base, maxActivation: 0.5, maxHops: 50 } },
  { name: '1k undirected, outDegree, K 8', graph: 'smallUndirected', k: 8, options: { ...base, fan: 'outDegree' } },
  { name: `${LARGE.name}, K 1`, graph: 'large', k: 1, options: { ...base, fan: 'sqrtOutDegree' } },
  // Graphs this large have too many activations near any threshold for f32 and f64 to cut the
  // same ones: these run with the cut off (threshold 0) and with one far above every activation.
  { name: `${LARGE.name}, K 8, no threshold`, graph: 'large', k: 8, options: { ...base, decay: { kind: 'power', exponent: 1 }, threshold: 0 } },
  { name: `${LARGE.name}, K 3, threshold above all`, graph: 'large', k: 3, options: { ...base, fan: 'outDegree', threshold: 50 } },
];

/** The K seed sets of a case (fresh per case, reproducible). */
export function caseSeedSets(graph: TestGraph, k: number): Seeds[] {
  return Array.from({ length: k }, (_, j) => randomSeeds(graph.nodeCount, 5 + j, 100 + j + graph.nodeCount));
}

/**
 * Run one case on `engine` (forced to `backend`, or routed with 'auto') and check every seed
 * set's totals against the reference; throws on a difference. `beforeCalls` runs once the graph
 * is built (the Node tests poison free memory there).
 */
export async function runSpreadingCase(c: SpreadingCase, engine: HybridEngine, backend: 'cpu' | 'gpu' | 'auto',
  beforeCalls: () => void = () => undefined): Promise<void> {
  const graph = GRAPHS[c.graph]();
  const seedSets = caseSeedSets(graph, c.k);
  const o = settledOptions(graph, seedSets, c.options);
  const g = engine.createGraph(graph);
  try {
    beforeCalls();
    if (c.k === 1) {
      const totals = await engine.spreadActivation(g, { seeds: seedSets[0]!, ...o, backend });
      expectTotalsClose(totals, reference(graph, seedSets[0]!, o).total, 'K 1');
    }
    const batch = await engine.spreadActivationBatch(g, { seedSets, ...o, backend });
    check(batch.length === c.k, `${batch.length} results for ${c.k} seed sets`);
    batch.forEach((totals, j) => expectTotalsClose(totals, reference(graph, seedSets[j]!, o).total, `seed set ${j}`));
    // output 'sparse' (in Node and in the browser bundle): the dense result's non-zero entries, bit for bit.
    const sparse = await engine.spreadActivationBatch(g, { seedSets, ...o, backend, output: 'sparse' });
    check(sparse.length === c.k, `${sparse.length} sparse results for ${c.k} seed sets`);
    sparse.forEach(({ nodes, values }, j) => {
      const dense = batch[j]!;
      let at = 0;
      for (let v = 0; v < dense.length; v++) {
        if (dense[v] === 0) continue;
        check(nodes[at] === v && Object.is(values[at], dense[v]), `seed set ${j}: sparse entry ${at} is node ${nodes[at]} = ${values[at]}, dense node ${v} = ${dense[v]}`);
        at++;
      }
      check(at === nodes.length && nodes.length === values.length, `seed set ${j}: ${nodes.length} sparse entries, ${at} non-zero totals`);
    });
  } finally {
    g.dispose();
  }
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
