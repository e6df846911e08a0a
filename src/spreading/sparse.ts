// Sparse totals (`output: 'sparse'`): listing a dense column's non-zero entries (the GPU reads
// back dense totals), and comparing two results of either shape entry by entry (the verifier).
import type { SparseTotals } from './types.js';

/** Column j (of cols per node, n nodes) of interleaved totals: its non-zero entries, nodes ascending. */
export function listColumn(totals: Float32Array, n: number, cols: number, j: number): SparseTotals {
  let count = 0;
  for (let v = 0; v < n; v++) if (totals[v * cols + j] !== 0) count++;
  const nodes = new Uint32Array(count);
  const values = new Float32Array(count);
  let at = 0;
  for (let v = 0; v < n && at < count; v++) {
    const x = totals[v * cols + j]!;
    if (x !== 0) {
      nodes[at] = v;
      values[at++] = x;
    }
  }
  return { nodes, values };
}

/**
 * Whether two seed sets' totals (each dense over `n` nodes or sparse) agree within `tol` at every
 * node (a node missing from a sparse one is 0 there).
 */
export function totalsAgree(a: Float32Array | SparseTotals, b: Float32Array | SparseTotals, n: number, tol: number): boolean {
  const x = dense(a, n), y = dense(b, n);
  if (!x || !y) return false;
  for (let v = 0; v < n; v++) if (!(Math.abs(x[v]! - y[v]!) <= tol)) return false;
  return true;
}

/** A result as nodeCount totals, or null when it is not one (a wrong length, nodes out of range or not ascending). */
function dense(t: Float32Array | SparseTotals, n: number): Float32Array | null {
  if (t instanceof Float32Array) return t.length === n ? t : null;
  const out = new Float32Array(n);
  const { nodes, values } = t;
  if (nodes.length !== values.length) return null;
  for (let i = 0; i < nodes.length; i++) {
    if (nodes[i]! >= n || (i > 0 && nodes[i]! <= nodes[i - 1]!)) return null;
    out[nodes[i]!] = values[i]!;
  }
  return out;
}
