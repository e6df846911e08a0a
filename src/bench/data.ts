// The benchmarks' data and the float64 references every timed result is checked against first.
import { BenchCheckError } from './types.js';

/** A seeded xorshift stream of floats in [-1, 1] (the same stream in every bench for a seed). */
export function seededRandom(seed = 0x9e3779b9): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

/** `length` floats from `random`. */
export function fill(random: () => number, length: number): Float32Array {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = random();
  return a;
}

/** A copy of `rows` (row-major, `dim` values each) with every row scaled to unit length. */
export function normaliseRows(rows: Float32Array, dim: number): Float32Array {
  const out = rows.slice();
  for (let o = 0; o < out.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += out[o + j]! ** 2;
    const f = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[o + j]! *= f;
  }
  return out;
}

/** Cosine of `query` against every row, accumulated in float64. */
export function referenceCosines(query: Float32Array, rows: Float32Array, dim: number, queryOffset = 0): Float64Array {
  const n = rows.length / dim;
  let qq = 0;
  for (let j = 0; j < dim; j++) qq += query[queryOffset + j]! ** 2;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let dot = 0, rr = 0;
    const o = r * dim;
    for (let j = 0; j < dim; j++) {
      const x = rows[o + j]!;
      dot += query[queryOffset + j]! * x;
      rr += x * x;
    }
    out[r] = qq > 0 && rr > 0 ? dot / Math.sqrt(qq * rr) : 0;
  }
  return out;
}

/** Every score within `tolerance` of the reference, or a BenchCheckError naming the worst row. */
export function checkScores(what: string, got: ArrayLike<number>, want: Float64Array, tolerance: number): void {
  if (got.length !== want.length) throw new BenchCheckError(`${what}: ${got.length} scores, want ${want.length}`);
  let worst = 0, at = 0;
  for (let r = 0; r < want.length; r++) {
    const e = Math.abs(got[r]! - want[r]!);
    if (!(e <= worst)) { worst = e; at = r; }
  }
  if (!(worst <= tolerance)) {
    throw new BenchCheckError(`${what}: row ${at} scores ${got[at]}, float64 reference ${want[at]} (tolerance ${tolerance})`);
  }
}

/** The k-th largest reference score (k clamped to the count). */
function kthBest(want: Float64Array, k: number): number {
  const sorted = Float64Array.from(want).sort();
  return sorted[Math.max(0, sorted.length - Math.min(k, sorted.length))]!;
}

/**
 * `indices` (best first) is a correct top-k of the reference: min(k, N) distinct rows, each
 * scoring at least the k-th best reference score less `tolerance`, in descending order (within
 * tolerance), and `scores` (when given) within tolerance of the reference. Near-ties may come in
 * either order; a wrong row fails.
 */
export function checkTopK(what: string, indices: ArrayLike<number>, scores: ArrayLike<number> | null,
  want: Float64Array, k: number, tolerance: number): void {
  const count = Math.min(k, want.length);
  if (indices.length !== count) throw new BenchCheckError(`${what}: ${indices.length} results, want ${count}`);
  const floor = kthBest(want, count) - tolerance;
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const r = Number(indices[i]);
    if (!(r >= 0 && r < want.length) || seen.has(r)) throw new BenchCheckError(`${what}: result ${i} is row ${r} (out of range or repeated)`);
    seen.add(r);
    if (want[r]! < floor) throw new BenchCheckError(`${what}: row ${r} (float64 score ${want[r]}) is not in the top ${k} (k-th best ${floor + tolerance})`);
    if (i > 0 && want[r]! > want[Number(indices[i - 1])]! + tolerance) throw new BenchCheckError(`${what}: results ${i - 1} and ${i} out of order`);
    if (scores && Math.abs(scores[i]! - want[r]!) > tolerance) {
      throw new BenchCheckError(`${what}: row ${r} scored ${scores[i]}, float64 reference ${want[r]}`);
    }
  }
}

/** The k best rows of `scores` (ties to the lower row), best first: what the peers' scores are turned into. */
export function topOf(scores: ArrayLike<number>, k: number): number[] {
  const best: Array<[number, number]> = [];
  for (let r = 0; r < scores.length; r++) {
    const s = scores[r]!;
    if (best.length < k || s > best[best.length - 1]![0]) {
      best.push([s, r]);
      best.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      if (best.length > k) best.pop();
    }
  }
  return best.map(([, r]) => r);
}

/** A random directed graph with skewed out-degrees and weights in [0, 1). */
export interface BenchGraph {
  nodeCount: number;
  from: Uint32Array;
  to: Uint32Array;
  weight: Float32Array;
}

/** `edges` edges among `nodes` nodes: sources skewed towards low ids (uneven out-degrees), weights in [0, 1). */
export function randomGraph(random: () => number, nodes: number, edges: number): BenchGraph {
  const unit = () => (random() + 1) / 2;
  const from = new Uint32Array(edges), to = new Uint32Array(edges), weight = new Float32Array(edges);
  for (let i = 0; i < edges; i++) {
    from[i] = Math.min(nodes - 1, Math.floor(nodes * unit() ** 2)); // skewed out-degrees
    to[i] = Math.min(nodes - 1, Math.floor(nodes * unit()));
    weight[i] = unit();
  }
  return { nodeCount: nodes, from, to, weight };
}

/** The graph by target (CSR) with 1 / out-degree per source: what a pull loop reads. */
export interface PullGraph {
  n: number;
  offsets: Uint32Array;
  sources: Uint32Array;
  weights: Float32Array;
  fanInverse: Float32Array;
}

/** `g` stored by target, with 1 / out-degree per source (the plain JS loop's input). */
export function pullGraph(g: BenchGraph): PullGraph {
  const n = g.nodeCount, e = g.from.length;
  const offsets = new Uint32Array(n + 1), out = new Uint32Array(n);
  for (let i = 0; i < e; i++) { offsets[g.to[i]! + 1]!++; out[g.from[i]!]!++; }
  for (let v = 0; v < n; v++) offsets[v + 1]! += offsets[v]!;
  const next = offsets.slice(0, n), sources = new Uint32Array(e), weights = new Float32Array(e);
  for (let i = 0; i < e; i++) { const at = next[g.to[i]!]!++; sources[at] = g.from[i]!; weights[at] = g.weight[i]!; }
  const fanInverse = Float32Array.from(out, (d) => (d === 0 ? 1 : 1 / d));
  return { n, offsets, sources, weights, fanInverse };
}

/**
 * Activation spreading as the library defines it for fan 'outDegree', threshold 0 and totals
 * clamped to [0, 1]: f_h(v) = decay(h) x sum over edges u -> v of f_{h-1}(u) w / outDegree(u).
 * `Float64Array` gives the float64 reference; `Float32Array` is the plain JS peer.
 */
export function pullSpread(g: PullGraph, seeds: { nodes: Uint32Array; values: Float32Array }, decays: number[],
  kind: Float32ArrayConstructor | Float64ArrayConstructor): Float32Array | Float64Array {
  const { n, offsets, sources, weights, fanInverse } = g;
  let f = new kind(n);
  for (let i = 0; i < seeds.nodes.length; i++) f[seeds.nodes[i]!]! += seeds.values[i]!;
  const total = f.map((x) => Math.min(Math.max(x, 0), 1));
  for (const d of decays) {
    const next = new kind(n);
    for (let v = 0; v < n; v++) {
      let sum = 0;
      for (let e = offsets[v]!; e < offsets[v + 1]!; e++) sum += f[sources[e]!]! * fanInverse[sources[e]!]! * weights[e]!;
      next[v] = d * sum;
      total[v] = Math.min(Math.max(total[v]! + next[v]!, 0), 1);
    }
    f = next;
  }
  return total;
}

/**
 * Rows shaped like learned embeddings rather than noise: a shared direction (so rows are
 * anisotropic: the mean cosine between two rows is about 0.6), clusters of about 200 rows around
 * their own centres (a row's 10th-best neighbour scores about 0.9), 1% near-duplicates of other
 * rows and 0.1% all-zero rows. Noise is uniform, so that 1M x 768 fills in seconds.
 */
export function embeddingLike(random: () => number, rows: number, dim: number): Float32Array {
  const unit = (v: Float32Array) => {
    let s = 0;
    for (const x of v) s += x * x;
    const f = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i]! *= f;
    return v;
  };
  const shared = unit(fill(random, dim));
  const clusters = Math.max(1, Math.round(rows / 200));
  const centres = Array.from({ length: Math.min(clusters, 4096) }, () => unit(fill(random, dim)));
  // Uniform noise in [-a, a] has variance a^2 / 3 per component: |noise| about 0.45.
  const a = 0.45 * Math.sqrt(3 / dim);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const u = (random() + 1) / 2;
    if (u < 0.001) continue; // an all-zero row
    if (u < 0.011 && r > 0) {
      const from = Math.floor(((random() + 1) / 2) * r) * dim; // a near-duplicate of an earlier row
      for (let j = 0; j < dim; j++) out[o + j] = out[from + j]! + 1e-4 * random();
      continue;
    }
    const centre = centres[Math.floor(((random() + 1) / 2) * centres.length) % centres.length]!;
    for (let j = 0; j < dim; j++) out[o + j] = shared[j]! + 0.7 * centre[j]! + a * random();
  }
  return out;
}
