// A call's seed sets, checked and summed into the sparse form both backends start from: only the
// seeded nodes, never an array over every node (a call costs what it touches).
import { HybridError } from '../errors.js';
import { describe } from '../validate.js';
import type { SeedSet } from './options.js';
import type { SpreadGraph, StagedSeeds } from './types.js';

/** Floats per node for k seed sets: 1, or k rounded up to 4 (SIMD over the columns). */
export function columnsFor(k: number): number {
  return k === 1 ? 1 : Math.ceil(k / 4) * 4;
}

/**
 * Room for float64 sums of `nodes` rows, and its release. Either the sums are zero, or (where they
 * sit in WASM memory) they are not, and `marks` (a zeroed bit per node) and `compact` come with
 * them: the caller zeroes a node's row when it first marks the node, and `compact` lists the rows
 * of the marked nodes with any value not 0 in f32, ascending, rounded to f32 (asm/spread.ts,
 * compactSeedRows), and clears the marks. So a call touches the seeded rows only: no pass over
 * every node's row to zero or to list them (~3 ms for 1M nodes). The engine lends WASM memory.
 */
export type SumsScratch = (length: number, nodes: number) => {
  sums: Float64Array;
  release(): void;
  marks?: Uint32Array;
  compact?(n: number, cols: number, most: number): { nodes: Uint32Array; rows: Float32Array };
};

const freshSums: SumsScratch = (length) => ({ sums: new Float64Array(length), release: () => undefined });

/**
 * Seed set j in column j (`cols` columns); duplicate nodes add up in float64, rounded to f32
 * once (many seeds sum in one row per node, in memory from `scratch`). Unknown nodes, non-finite
 * values and mismatched lengths are errors naming the seed set. Nodes whose values are all zero
 * are left out (they spread nothing and their total stays 0).
 */
export function stageSeeds(graph: SpreadGraph, seedSets: unknown[], argument: string, cols: number,
  scratch: SumsScratch = freshSums): StagedSeeds {
  const k = seedSets.length;
  const n = graph.nodeCount;
  const checked = seedSets.map((set, j) => checkSeedSet(set, argument, k === 1 && argument === 'seeds' ? -1 : j, n));
  const entries = checked.reduce((sum, s) => sum + s.nodes.length, 0);
  // Few seeds (the usual call): rows for the seeded nodes only. Many: one row per node is faster.
  const { nodes, rows } = entries * 16 < n ? sparseRows(checked, cols) : denseRows(checked, cols, n, scratch);
  const values = rows instanceof Float32Array ? rows : Float32Array.from(rows);
  let edges = 0;
  let setEdges = 0;
  const degrees = graph.outDegree;
  for (let i = 0; i < nodes.length; i++) {
    const degree = degrees[nodes[i]!]!;
    edges += degree;
    if (cols === 1) setEdges += degree;
    else for (let c = 0; c < cols; c++) if (values[i * cols + c] !== 0) setEdges += degree;
  }
  return { nodes, values, edges, setEdges };
}

/**
 * A seed set, checked: Uint32Array nodes below n, as many finite Float32Array values. Named in
 * errors as `argument[j]` (j < 0: `argument` alone); the name is built only for an error.
 */
function checkSeedSet(set: unknown, argument: string, j: number, n: number): SeedSet {
  if (typeof set === 'object' && set !== null) {
    const { nodes, values } = set as Partial<SeedSet>;
    if (nodes instanceof Uint32Array && values instanceof Float32Array && nodes.length === values.length) {
      let ok = true;
      for (let i = 0; i < nodes.length && ok; i++) ok = nodes[i]! < n && Number.isFinite(values[i]!);
      if (ok) return { nodes, values };
    }
  }
  return failSeedSet(set, j < 0 ? argument : `${argument}[${j}]`, n);
}

/** The error for a seed set that checkSeedSet did not accept, naming what is wrong. */
function failSeedSet(set: unknown, name: string, n: number): never {
  if (typeof set !== 'object' || set === null) {
    throw new HybridError('INVALID_ARGUMENT', `${name} must be { nodes: Uint32Array, values: Float32Array }, got ${describe(set)}`, name);
  }
  const { nodes, values } = set as Partial<SeedSet>;
  if (!(nodes instanceof Uint32Array)) throw new HybridError('INVALID_ARGUMENT', `${name}.nodes must be a Uint32Array, got ${describe(nodes)}`, `${name}.nodes`);
  if (!(values instanceof Float32Array)) throw new HybridError('INVALID_ARGUMENT', `${name}.values must be a Float32Array, got ${describe(values)}`, `${name}.values`);
  if (nodes.length !== values.length) {
    throw new HybridError('DIMENSION_MISMATCH', `${name}: ${nodes.length} nodes but ${values.length} values`, `${name}.values`);
  }
  for (let i = 0; i < nodes.length; i++) {
    if (nodes[i]! >= n) throw new HybridError('UNKNOWN_NODE', `${name}.nodes[${i}] = ${nodes[i]} is not a node (nodeCount ${n})`, `${name}.nodes`);
    if (!Number.isFinite(values[i]!)) throw new HybridError('NON_FINITE', `${name}.values[${i}] is ${values[i]}: every value must be finite`, `${name}.values`);
  }
  throw new HybridError('INVALID_ARGUMENT', `${name} is not a seed set`, name); // not reached: checkSeedSet accepted nothing else
}

/**
 * Working arrays for sparseRows, kept between calls while a call's rows are at most SMALL floats
 * (entries x cols; 256 KiB): a typed array of more than 64 bytes is allocated outside V8's heap,
 * ~1-2 us each here, and a fresh set of them was most of a 16-set call's staging. They grow to the
 * largest such call (rows are written `cols` apart, so wider ones serve narrower calls).
 */
const SMALL = 65_536;
interface WorkArrays {
  node: Uint32Array; column: Uint32Array; value: Float64Array; keys: Float64Array; order: Uint32Array;
  nodes: Uint32Array; rows: Float32Array; row: Float64Array;
}
let reusable: WorkArrays | null = null;

function workArrays(count: number, cols: number): WorkArrays {
  const fresh = (entries: number, width: number): WorkArrays => ({
    node: new Uint32Array(entries), column: new Uint32Array(entries), value: new Float64Array(entries),
    keys: new Float64Array(entries), order: new Uint32Array(entries), nodes: new Uint32Array(entries),
    rows: new Float32Array(entries * width), row: new Float64Array(width),
  });
  if (count * cols > SMALL) return fresh(count, cols);
  const r = reusable;
  if (r && r.node.length >= count && r.row.length >= cols && r.rows.length >= count * cols) return r;
  // Rows stay at most SMALL floats: count x width and the kept entries x width both fit.
  const width = r && count * r.row.length <= SMALL ? Math.max(cols, r.row.length) : cols;
  const entries = Math.max(count, Math.min(Math.floor(SMALL / width), Math.max(64, r?.node.length ?? 0)));
  return (reusable = fresh(entries, width));
}

/**
 * Float64 sums per seeded node (ascending), rounded to f32 once, from the (node, set, value)
 * entries ordered by node and, within a node, by their input order (set by set, then position),
 * so that each set's duplicates add up in the order given. Typed arrays, kept between calls (see
 * workArrays), and plain loops: the usual call has a few seeds per set, and this runs once per call.
 */
function sparseRows(sets: SeedSet[], cols: number): { nodes: Uint32Array; rows: Float32Array } {
  let count = 0;
  for (let j = 0; j < sets.length; j++) count += sets[j]!.nodes.length;
  const { node, column, value, keys, order, nodes: outNodes, rows: outRows, row } = workArrays(count, cols);
  let e = 0;
  for (let j = 0; j < sets.length; j++) {
    const { nodes, values } = sets[j]!;
    for (let i = 0; i < nodes.length; i++, e++) {
      node[e] = nodes[i]!;
      column[e] = j;
      value[e] = values[i]!;
    }
  }
  entryOrder(node, count, keys, order);
  let taken = 0;
  for (let at = 0; at < count;) {
    const u = node[order[at]!]!;
    for (; at < count && node[order[at]!] === u; at++) row[column[order[at]!]!]! += value[order[at]!]!;
    let any = false;
    const to = taken * cols;
    for (let c = 0; c < cols; c++) {
      const x = Math.fround(row[c]!);
      if (x !== 0) any = true;
      outRows[to + c] = x;
      row[c] = 0;
    }
    if (!any) continue;
    outNodes[taken] = u;
    taken++;
  }
  return { nodes: outNodes.slice(0, taken), rows: outRows.slice(0, taken * cols) };
}

/** Below 2^21 entries, an entry's node and position fit one float64 sort key (node * 2^21 + position < 2^53). */
const POSITION = 2 ** 21;

/**
 * The first `count` entries' positions into `order`, ordered by node and by position within a
 * node: one native numeric sort of packed keys (in `keys`; a sort with a JS comparator took ~15%
 * of a 16-set call here), or, from `limit` entries on (more than the keys can hold), the comparator.
 */
export function entryOrder(node: Uint32Array, count: number, keys: Float64Array, order: Uint32Array, limit = POSITION): void {
  if (count >= limit) {
    for (let i = 0; i < count; i++) order[i] = i;
    order.subarray(0, count).sort((a, b) => (node[a]! - node[b]!) || (a - b));
    return;
  }
  const packed = keys.subarray(0, count);
  for (let i = 0; i < count; i++) packed[i] = node[i]! * POSITION + i;
  packed.sort();
  for (let i = 0; i < count; i++) order[i] = packed[i]! % POSITION;
}

/** The same from one row per node (many seeds): sums in place, then the rows that are not 0. */
function denseRows(sets: SeedSet[], cols: number, n: number, scratch: SumsScratch): { nodes: Uint32Array; rows: Float64Array | Float32Array } {
  const { sums, release, marks, compact } = scratch(n * cols, n);
  try {
    let entries = 0;
    for (const { nodes } of sets) entries += nodes.length;
    for (let j = 0; j < sets.length; j++) {
      const { nodes, values } = sets[j]!;
      if (marks) {
        // Rows are zeroed as their node is first seen (the block is not zero).
        for (let i = 0; i < nodes.length; i++) {
          const u = nodes[i]!;
          const bit = 1 << (u & 31);
          if ((marks[u >>> 5]! & bit) === 0) {
            marks[u >>> 5] = marks[u >>> 5]! | bit;
            for (let c = 0; c < cols; c++) sums[u * cols + c] = 0;
          }
          sums[u * cols + j] = sums[u * cols + j]! + values[i]!;
        }
      } else {
        for (let i = 0; i < nodes.length; i++) sums[nodes[i]! * cols + j] = sums[nodes[i]! * cols + j]! + values[i]!;
      }
    }
    // At most `entries` nodes have a seed, so the lists are sized for that and trimmed at the end.
    const most = Math.min(n, entries);
    if (compact) return compact(n, cols, most);
    const nodes = new Uint32Array(most);
    const rows = new Float64Array(most * cols);
    let count = 0;
    if (cols === 1) {
      for (let u = 0; u < n; u++) {
        const x = sums[u]!;
        if (x !== 0 && Math.fround(x) !== 0) {
          nodes[count] = u;
          rows[count++] = x;
        }
      }
    } else {
      for (let u = 0; u < n; u++) {
        if (!hasValue(sums, u * cols, cols)) continue;
        nodes[count] = u;
        for (let c = 0; c < cols; c++) rows[count * cols + c] = sums[u * cols + c]!;
        count++;
      }
    }
    return { nodes: nodes.slice(0, count), rows: rows.slice(0, count * cols) };
  } finally {
    release();
  }
}

/** Whether a row of float64 sums has a value that is not 0 in f32. */
function hasValue(sums: Float64Array, at: number, cols: number): boolean {
  for (let c = 0; c < cols; c++) if (Math.fround(sums[at + c]!) !== 0) return true;
  return false;
}
