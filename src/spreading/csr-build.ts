// Building a graph's two CSRs in the canonical order (asm/spread.ts): by target, each node's
// incoming edges by ascending source, parallel edges in input order; by source, each node's
// outgoing edges by ascending target, parallel edges in that same order. Both are stable LSD radix
// sorts with 11-bit digits: a counting sort by the whole node id scatters every edge to one of n
// places in arrays of 4E bytes (a cache and TLB miss each: 7 s for 10M edges here), a digit pass
// writes to 2048 places at a time, which stay in cache.

/** Edges as parallel arrays (each sort pass moves all three). */
export interface EdgeArrays {
  sources: Uint32Array;
  targets: Uint32Array;
  weights: Float32Array;
}

const DIGIT_BITS = 8;
const BUCKETS = 1 << DIGIT_BITS;

/** Bits needed for node ids below n. */
function idBits(n: number): number {
  return Math.max(1, 32 - Math.clz32(Math.max(1, n - 1)));
}

/**
 * The edges stably sorted by `keys` ('sources' or 'targets'), one digit pass after another (least
 * significant first): the order of equal keys is kept. `edges` is left as it was unless
 * `consume`, when its arrays may be reused for the passes.
 */
export function stableSortBy(edges: EdgeArrays, keys: 'sources' | 'targets', nodeCount: number, consume = false): EdgeArrays {
  const e = edges.sources.length;
  const fresh = (): EdgeArrays => ({ sources: new Uint32Array(e), targets: new Uint32Array(e), weights: new Float32Array(e) });
  let from = edges;
  let spare: EdgeArrays | null = null;
  const counts = new Uint32Array(BUCKETS);
  const bits = idBits(nodeCount);
  for (let shift = 0; shift < bits; shift += DIGIT_BITS) {
    const to: EdgeArrays = spare ?? fresh();
    const key = from[keys];
    counts.fill(0);
    for (let i = 0; i < e; i++) counts[(key[i]! >>> shift) & (BUCKETS - 1)]!++;
    let at = 0;
    for (let d = 0; d < BUCKETS; d++) {
      const c = counts[d]!;
      counts[d] = at;
      at += c;
    }
    const { sources, targets, weights } = from;
    const { sources: toSources, targets: toTargets, weights: toWeights } = to;
    for (let i = 0; i < e; i++) {
      const slot = counts[(key[i]! >>> shift) & (BUCKETS - 1)]!++;
      toSources[slot] = sources[i]!;
      toTargets[slot] = targets[i]!;
      toWeights[slot] = weights[i]!;
    }
    spare = from === edges && !consume ? null : from;
    from = to;
  }
  return from;
}

/** n + 1 offsets of a CSR whose edges are sorted by `key` (ids below n). */
export function offsetsOf(key: Uint32Array, n: number): Uint32Array {
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < key.length; i++) offsets[key[i]! + 1]!++;
  for (let v = 0; v < n; v++) offsets[v + 1]! += offsets[v]!;
  return offsets;
}

/** The edges (left as they are) in the canonical in-order: by target, then source, then input position. */
export function byTargetThenSource(edges: EdgeArrays, nodeCount: number): EdgeArrays {
  return stableSortBy(stableSortBy(edges, 'sources', nodeCount), 'targets', nodeCount, true);
}

/** The targets of a CSR's edges, from its offsets (edges of node v at offsets[v] .. offsets[v + 1]). */
export function expandOffsets(offsets: Uint32Array): Uint32Array {
  const n = offsets.length - 1;
  const ids = new Uint32Array(offsets[n]!);
  for (let v = 0; v < n; v++) ids.fill(v, offsets[v]!, offsets[v + 1]!);
  return ids;
}
