// A generated graph shaped like a real semantic network (issue 16: ~118k concepts, ~378k typed
// relations): power-law out-degrees with mean 3.2, a fifth of the concepts with no relation out
// (they are only ever targets), a handful of hubs with thousands of relations, popular targets,
// parallel relations (two relation types between the same pair) and self-loops; weights by
// relation type in 0.3 .. 0.8, with a few inhibitory -0.3 ones. Seeded, so every run and every
// library version measured on it sees the same graph.
import type { BenchGraph } from './data.js';
import { seededRandom } from './data.js';

/** What semanticGraph builds: the edge list (what createGraph takes) and its out-degrees. */
export interface SemanticGraph {
  input: BenchGraph;
  outDegree: Uint32Array;
}

/** Relation-type weights (the inhibitory type is drawn separately). */
const WEIGHTS = [0.8, 0.7, 0.6, 0.5, 0.4, 0.3];

/**
 * `nodes` concepts and about `edges` relations (exactly `edges` stored edges), from `seed`.
 * Out-degrees: 20% of nodes 0; the rest Pareto (exponent 2.2) from 1, capped at 5000, scaled to
 * the edge count; 8 hubs get 1000 .. 5000 relations. Targets: half from a Zipf-like popularity
 * order, half uniform. 2% of edges repeat their predecessor's pair (a parallel edge), 0.5% are
 * self-loops, 7% weigh -0.3.
 */
export function semanticGraph(nodes = 118_000, edges = 378_000, seed = 16): SemanticGraph {
  const random = seededRandom(seed);
  const unit = () => (random() + 1) / 2;
  // A random relabelling, so that hubs and popular targets are not the low ids.
  const shuffled = () => {
    const order = new Uint32Array(nodes).map((_, i) => i);
    for (let i = nodes - 1; i > 0; i--) {
      const j = Math.floor(unit() * (i + 1)) % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  };
  const label = shuffled();
  // Popularity as a target is its own order: hubs (many relations out) are not the most named.
  const byPopularity = shuffled();
  const degree = new Float64Array(nodes);
  const hubs = Math.min(8, Math.floor(nodes / 100));
  for (let i = 0; i < nodes; i++) {
    if (i < hubs) degree[i] = 1000 + Math.floor(unit() * 4000);
    else if (unit() < 0.2) degree[i] = 0;
    else degree[i] = Math.min(5000, Math.floor(Math.pow(1 - unit() * 0.999999, -1 / 1.2)));
  }
  // Scale the non-hub degrees so the total is the edge count (hubs keep theirs).
  let hubEdges = 0, rest = 0;
  for (let i = 0; i < nodes; i++) {
    if (i < hubs) hubEdges += degree[i]!;
    else rest += degree[i]!;
  }
  // Hubs take at most half of the edges (small graphs: else the rest could not be fitted).
  if (hubEdges > edges / 2) {
    const shrink = edges / 2 / hubEdges;
    hubEdges = 0;
    for (let i = 0; i < hubs; i++) hubEdges += degree[i] = Math.max(1, Math.floor(degree[i]! * shrink));
  }
  const scale = Math.max(0, edges - hubEdges) / Math.max(1, rest);
  const outDegree = new Uint32Array(nodes);
  let total = 0;
  for (let i = 0; i < nodes; i++) {
    const d = i < hubs ? degree[i]! : degree[i]! * scale;
    // Stochastic rounding keeps the mean; degree-1 nodes stay >= 1.
    outDegree[label[i]!] = Math.max(degree[i]! > 0 ? 1 : 0, Math.floor(d + unit()));
    total += outDegree[label[i]!]!;
  }
  // Trim or pad at random non-hub nodes until the total is exact. Nodes keep a relation out (or
  // none) unless that cannot be: more such nodes than edges, or no non-hub node with one.
  let withEdges = 0;
  for (let i = hubs; i < nodes; i++) if (outDegree[label[i]!]! > 0) withEdges++;
  const floor = withEdges + hubEdges > edges ? 0 : 1;
  const padAny = withEdges === 0;
  for (let tries = 100 * (nodes + edges); total !== edges && tries > 0; tries--) {
    const u = label[hubs + Math.floor(unit() * (nodes - hubs)) % (nodes - hubs)]!;
    if (total > edges && outDegree[u]! > floor) { outDegree[u]!--; total--; }
    else if (total < edges && (outDegree[u]! > 0 || padAny)) { outDegree[u]!++; total++; }
  }
  if (total !== edges) throw new RangeError(`semanticGraph: ${edges} edges cannot be spread over ${nodes} nodes`);
  const from = new Uint32Array(edges), to = new Uint32Array(edges), weight = new Float32Array(edges);
  const popular = () => byPopularity[Math.min(nodes - 1, Math.floor(nodes * unit() ** 4))]!;
  let e = 0;
  for (let u = 0; u < nodes; u++) {
    for (let i = 0; i < outDegree[u]!; i++, e++) {
      from[e] = u;
      const r = unit();
      if (i > 0 && r < 0.02) to[e] = to[e - 1]!; // a second relation type between the same pair
      else if (r < 0.025) to[e] = u; // a self-loop
      else to[e] = unit() < 0.5 ? popular() : Math.floor(unit() * nodes) % nodes;
      weight[e] = unit() < 0.07 ? -0.3 : WEIGHTS[Math.floor(unit() * WEIGHTS.length) % WEIGHTS.length]!;
    }
  }
  // Edges arrive in a shuffled order, as an export of a triple store would give them.
  for (let i = edges - 1; i > 0; i--) {
    const j = Math.floor(unit() * (i + 1)) % (i + 1);
    [from[i], from[j]] = [from[j]!, from[i]!];
    [to[i], to[j]] = [to[j]!, to[i]!];
    [weight[i], weight[j]] = [weight[j]!, weight[i]!];
  }
  return { input: { nodeCount: nodes, from, to, weight }, outDegree };
}

/**
 * `count` seed sets of 1 .. 5 concepts each, value 1 each, drawn with probability proportional to
 * out-degree (cues land on well-connected concepts more often): on the default graph the 4 hops
 * then touch from a few to ~5,000 nodes (median ~300), the range the issue measured and beyond.
 */
export function semanticSeeds(graph: SemanticGraph, count: number, seed = 61): Array<{ nodes: Uint32Array; values: Float32Array }> {
  const random = seededRandom(seed);
  const unit = () => (random() + 1) / 2;
  const n = graph.input.nodeCount;
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let u = 0; u < n; u++) cumulative[u] = sum += graph.outDegree[u]!;
  const pick = () => {
    const x = unit() * sum;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return Array.from({ length: count }, () => {
    const size = 1 + (Math.floor(unit() * 5) % 5);
    return { nodes: Uint32Array.from({ length: size }, pick), values: new Float32Array(size).fill(1) };
  });
}
