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
 * Seed set j in column j (`cols` columns); duplicate nodes add up in float64, rounded to f32
 * once. Unknown nodes, non-finite values and mismatched lengths are errors naming the seed set.
 * Nodes whose values are all zero are left out (they spread nothing and their total stays 0).
 */
export function stageSeeds(graph: SpreadGraph, seedSets: unknown[], argument: string, cols: number): StagedSeeds {
  const k = seedSets.length;
  const n = graph.nodeCount;
  const rowOf = new Map<number, number>();
  let sums = new Float64Array(Math.max(16, cols * 16));
  let rows = 0;
  seedSets.forEach((set, j) => {
    const name = k === 1 && argument === 'seeds' ? 'seeds' : `${argument}[${j}]`;
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
      const u = nodes[i]!;
      if (u >= n) throw new HybridError('UNKNOWN_NODE', `${name}.nodes[${i}] = ${u} is not a node (nodeCount ${n})`, `${name}.nodes`);
      if (!Number.isFinite(values[i]!)) throw new HybridError('NON_FINITE', `${name}.values[${i}] is ${values[i]}: every value must be finite`, `${name}.values`);
      let row = rowOf.get(u);
      if (row === undefined) {
        row = rows++;
        rowOf.set(u, row);
        if (rows * cols > sums.length) {
          const grown = new Float64Array(sums.length * 2);
          grown.set(sums);
          sums = grown;
        }
      }
      sums[row * cols + j] = sums[row * cols + j]! + values[i]!;
    }
  });
  const order = Uint32Array.from(rowOf.keys()).sort();
  const kept: number[] = [];
  for (const u of order) {
    const base = rowOf.get(u)! * cols;
    for (let c = 0; c < cols; c++) {
      if (Math.fround(sums[base + c]!) !== 0) {
        kept.push(u);
        break;
      }
    }
  }
  const nodes = Uint32Array.from(kept);
  const values = new Float32Array(nodes.length * cols);
  let edges = 0;
  let setEdges = 0;
  nodes.forEach((u, i) => {
    const base = rowOf.get(u)! * cols;
    for (let c = 0; c < cols; c++) {
      values[i * cols + c] = sums[base + c]!;
      if (values[i * cols + c] !== 0) setEdges += graph.outDegree[u]!;
    }
    edges += graph.outDegree[u]!;
  });
  return { nodes, values, edges, setEdges };
}
