// How a pull hop is shared out across threads: contiguous node ranges of about equal work.

/** Nodes [start, end) of one part (start a multiple of 4). */
export type NodeRange = readonly [start: number, end: number];

/**
 * Node ranges with about equal incoming edges plus nodes each (`offsets`: the CSR's n + 1
 * incoming-edge offsets), starting on multiples of 4; none empty.
 */
export function splitByEdges(offsets: Uint32Array, parts: number): NodeRange[] {
  const n = offsets.length - 1;
  if (parts <= 1 || n <= 4) return [[0, n]];
  const cost = (v: number) => offsets[v]! + v;
  const totalCost = cost(n);
  const ranges: NodeRange[] = [];
  let a = 0;
  for (let p = 1; p <= parts && a < n; p++) {
    let b = n;
    if (p < parts) {
      const goal = (totalCost * p) / parts;
      let lo = a;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cost(mid) < goal) lo = mid + 1;
        else hi = mid;
      }
      b = Math.min(n, Math.max(a + 4, Math.round(lo / 4) * 4));
    }
    ranges.push([a, b]);
    a = b;
  }
  return ranges;
}
