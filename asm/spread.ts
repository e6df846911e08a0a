// Activation spreading, one hop (DESIGN.md, "Activation spreading: the maths"), pulled over the
// graph stored by target (CSR: for node v, incoming edges inOffsets[v] .. inOffsets[v+1] with
// their sources and weights, in input order):
//
//   c[v] = decay * sum over edges u->v of  g[u] * w(u,v),   g[u] = f[u] / fan(u)
//   f'[v] = c[v] if |c[v]| >= threshold else 0
//   total[v] = clamp(total[v] + f'[v], 0, maxActivation)
//
// K seed sets are K interleaved columns: node u's activations are `cols` consecutive floats
// (cols = K rounded up to 4 when K > 1, so SIMD runs over the columns; cols = 1 when K = 1, and
// then 4 incoming edges are summed at a time into independent partial sums). `g` is prepared per hop by scaleRows, so the
// edge loop does one multiply-add per column. Returns the number of nodes with a non-zero f'
// (0 means the frontier died out: the caller stops).

/** g[u] = f[u] * fanInverse[u] for every node (cols floats per node, cols % 4 == 0 or cols == 1). */
export function scaleRows(f: usize, fanInverse: usize, g: usize, n: i32, cols: i32): void {
  if (cols == 1) {
    let u = 0;
    for (; u + 4 <= n; u += 4) {
      const o = <usize>u << 2;
      v128.store(g + o, f32x4.mul(v128.load(f + o), v128.load(fanInverse + o)));
    }
    for (; u < n; u++) store<f32>(g + (<usize>u << 2), load<f32>(f + (<usize>u << 2)) * load<f32>(fanInverse + (<usize>u << 2)));
    return;
  }
  const rowBytes = <usize>cols << 2;
  for (let u = 0; u < n; u++) {
    const s = f32x4.splat(load<f32>(fanInverse + (<usize>u << 2)));
    const from = f + <usize>u * rowBytes, to = g + <usize>u * rowBytes;
    for (let c = 0; c < cols; c += 4) v128.store(to + (<usize>c << 2), f32x4.mul(v128.load(from + (<usize>c << 2)), s));
  }
}

/**
 * One hop for K = 1 (cols = 1). Four independent partial sums over the incoming edges keep the
 * gathers and adds of successive edges in flight (measured: faster here than gathering 4
 * sources into one f32x4 with replace_lane).
 */
export function spreadHopSingle(inOffsets: usize, inSources: usize, inWeights: usize, g: usize,
                                fNext: usize, total: usize, n: i32,
                                decay: f32, threshold: f32, maxActivation: f32): i32 {
  let active = 0;
  for (let v = 0; v < n; v++) {
    const start = load<u32>(inOffsets + (<usize>v << 2));
    const end = load<u32>(inOffsets + (<usize>(v + 1) << 2));
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    let e = start;
    for (; e + 4 <= end; e += 4) {
      const s = inSources + (<usize>e << 2), w = inWeights + (<usize>e << 2);
      s0 += load<f32>(g + (<usize>load<u32>(s) << 2)) * load<f32>(w);
      s1 += load<f32>(g + (<usize>load<u32>(s, 4) << 2)) * load<f32>(w, 4);
      s2 += load<f32>(g + (<usize>load<u32>(s, 8) << 2)) * load<f32>(w, 8);
      s3 += load<f32>(g + (<usize>load<u32>(s, 12) << 2)) * load<f32>(w, 12);
    }
    for (; e < end; e++) {
      s0 += load<f32>(g + (<usize>load<u32>(inSources + (<usize>e << 2)) << 2)) * load<f32>(inWeights + (<usize>e << 2));
    }
    const c = decay * ((s0 + s1) + (s2 + s3));
    const next: f32 = Mathf.abs(c) >= threshold ? c : 0;
    store<f32>(fNext + (<usize>v << 2), next);
    if (next != 0) {
      active++;
      const t = total + (<usize>v << 2);
      store<f32>(t, min<f32>(max<f32>(load<f32>(t) + next, 0), maxActivation));
    }
  }
  return active;
}

/** One hop for K > 1 (cols % 4 == 0): SIMD over the columns, accumulated in fNext's row. */
export function spreadHopColumns(inOffsets: usize, inSources: usize, inWeights: usize, g: usize,
                                 fNext: usize, total: usize, n: i32, cols: i32,
                                 decay: f32, threshold: f32, maxActivation: f32): i32 {
  const rowBytes = <usize>cols << 2;
  const d = f32x4.splat(decay);
  const thr = f32x4.splat(threshold);
  const zero = f32x4.splat(0);
  const top = f32x4.splat(maxActivation);
  let active = 0;
  for (let v = 0; v < n; v++) {
    const start = load<u32>(inOffsets + (<usize>v << 2));
    const end = load<u32>(inOffsets + (<usize>(v + 1) << 2));
    const row = fNext + <usize>v * rowBytes;
    for (let c = 0; c < cols; c += 4) v128.store(row + (<usize>c << 2), zero);
    for (let e = start; e < end; e++) {
      const src = g + <usize>load<u32>(inSources + (<usize>e << 2)) * rowBytes;
      const w = f32x4.splat(load<f32>(inWeights + (<usize>e << 2)));
      for (let c = 0; c < cols; c += 4) {
        const o = <usize>c << 2;
        v128.store(row + o, f32x4.add(v128.load(row + o), f32x4.mul(v128.load(src + o), w)));
      }
    }
    let any = false;
    const t = total + <usize>v * rowBytes;
    for (let c = 0; c < cols; c += 4) {
      const o = <usize>c << 2;
      const value = f32x4.mul(v128.load(row + o), d);
      const kept = v128.and(value, f32x4.ge(f32x4.abs(value), thr));
      v128.store(row + o, kept);
      if (v128.any_true(f32x4.ne(kept, zero))) {
        any = true;
        v128.store(t + o, f32x4.min(f32x4.max(f32x4.add(v128.load(t + o), kept), zero), top));
      }
    }
    if (any) active++;
  }
  return active;
}

/** total = clamp(f0, 0, maxActivation), element-wise over `count` floats. */
export function clampInto(f: usize, total: usize, count: i32, maxActivation: f32): void {
  for (let i = 0; i < count; i++) {
    store<f32>(total + (<usize>i << 2), min<f32>(max<f32>(load<f32>(f + (<usize>i << 2)), 0), maxActivation));
  }
}
