// Light edges in a push hop (asm/spread.ts, pushColumn): how much activation the edges whose
// targets are left alone may carry at most, so that leaving them changes no bit of any result.
//
// A target v sums, in f32, terms g[u] * w(u,v); those from one source u (parallel edges u -> v add
// up) are at most b_uv = |g[u]| * sum |w(u,v)| in all. The kernel calls the run u -> v light when
// b_uv <= budget / (frontier size), so a target reached by light runs only has sum_u b_uv <=
// budget. Each f32 product and add rounds by at most a factor (1 + 2^-24), and v's sum has at most
// maxInDegree terms, so |c[v]| <= |decay| * budget * (1 + 2^-24)^(D + 2) (D = maxInDegree; + 2 for
// the product and the decay). When that is below the threshold, c[v] is cut to 0, as it would have
// been had v been summed, and its total does not change.

/** Below this threshold no source is light (f32 subnormals would need a bound of their own). */
const SMALLEST_THRESHOLD = 1e-30;

/**
 * The budget for a push hop: the largest sum of b_uv over light runs into one target that keeps
 * it below `threshold` (0: nothing is light).
 */
export function lightBudget(threshold: number, decay: number, maxInDegree: number): number {
  if (!(threshold >= SMALLEST_THRESHOLD)) return 0;
  const scale = Math.abs(decay);
  if (scale === 0) return Infinity;
  // (1 + 2^-23) per term: twice the rounding factor, room for the f64 arithmetic here too.
  const margin = Math.pow(1 + 2 ** -23, maxInDegree + 3);
  return threshold / (scale * margin) * (1 - 1e-6);
}
