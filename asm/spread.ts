// Activation spreading, one hop at a time (DESIGN.md, "Activation spreading: the maths"):
//
//   c[v] = decay * sum over edges u->v of  g[u] * w(u,v),   g[u] = f[u] / fan(u)
//   f'[v] = c[v] if |c[v]| >= threshold else 0
//   total[v] = clamp(total[v] + f'[v], 0, maxActivation)
//
// The activations are kept pre-scaled: the `g` block holds f * fanInverse (rounded to f32 once,
// when f is made), so an edge costs one multiply and one add. Each c[v] is summed in ONE fixed
// order, its incoming edges by ascending source, parallel edges in input order, one f32 add after
// another from +0: that is the order of the graph stored by target (pull), and the order in which
// pushing from a frontier sorted by node id, each source's edges by ascending target, reaches v.
// Push adds only the active sources' terms; pull adds the others too, but those are +-0, and
// adding +-0 to a sum that starts at +0 never changes it (it never becomes -0). So push, pull,
// any split of the nodes across threads, and the WGSL kernels (same order) give the same bits.
//
// K seed sets are K interleaved columns: node u's activations are `cols` consecutive floats
// (cols = K rounded up to 4 when K > 1, so SIMD runs over the columns; cols = 1 when K = 1). A node
// is in the frontier when any column is non-zero (one traversal serves every seed set).
//
// Blocks (the TypeScript side allocates them; src/spreading/scratch.ts): `g` (this hop), `acc`
// (push accumulators, or the pull's next g), `total`; all zero between calls except where a call
// is working, and every kernel leaves what it does not own zero, so that no call pays O(nodes)
// to clear them. One exception within a call: a pull over a large frontier leaves its input g as
// it was (the caller would clear every node of it), and the next pull, told that its gNext is
// stale (GNEXT_DIRTY), stores every node's g' instead of only the non-zero ones. `marks`, one
// bit per node (n / 8 bytes: it stays in L1/L2 where the f32 blocks do not), marks the nodes a
// push hop touched; the hop clears its bits as it finishes them.
// Pushing K > 1 sets pushes them one set after another (spreadHopPushSets): a set's sums then
// stay in cache. A target's sum in one set still comes in ascending source order.

// ------------------------------------------------------------------------------------------------
// Start: the seeds.

/**
 * For each seed node nodes[i] (distinct), with its `cols` values at values + i * cols: g = values *
 * fanInverse and total = clamp(values, 0, maxActivation).
 */
export function spreadStart(nodes: usize, count: i32, values: usize, g: usize, total: usize, fanInverse: usize,
                            cols: i32, maxActivation: f32): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < count; i++) {
    const u = <usize>load<u32>(nodes + (<usize>i << 2));
    const s = load<f32>(fanInverse + (u << 2));
    const from = values + <usize>i * rowBytes, gRow = g + u * rowBytes, tRow = total + u * rowBytes;
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      const x = load<f32>(from + o);
      store<f32>(gRow + o, x * s);
      store<f32>(tRow + o, min<f32>(max<f32>(x, 0), maxActivation));
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Push: from the frontier (sorted ascending) along the graph stored by source.

/**
 * One push hop, K = 1. The frontier's `count` nodes (ascending) add g[u] * w into acc[v] for their
 * out-edges (each source's edges by ascending target); the nodes touched are marked and listed in
 * `next` as they are first reached. Then g is cleared at the frontier, and each touched node v gets
 * its c = decay * acc[v] (acc[v] back to 0), f' = c cut at the threshold, total and g updated; the
 * nodes with a non-zero f' are kept in `next` (in the order touched: sort them before the next
 * hop). Returns how many were kept; info[0] = their out-edges (outOffsets: the CSR by source).
 */
export function spreadHopPush(outOffsets: usize, outTargets: usize, outWeights: usize, fanInverse: usize,
                              g: usize, acc: usize, total: usize, frontier: usize, count: i32, next: usize,
                              marks: usize, bound: usize, budget: f64, decay: f32, threshold: f32, maxActivation: f32,
                              info: usize): i32 {
  const touched = pushColumn(outOffsets, outTargets, outWeights, g, acc, frontier, count, next, marks, 1, 0,
    bound, count > 0 ? budget / <f64>count : 0);
  let kept = 0;
  let edges: u32 = 0;
  for (let i = 0; i < touched; i++) {
    const v = <usize>load<u32>(next + (<usize>i << 2));
    unmark(marks, v);
    if (finishRow(acc, g, total, fanInverse, v, decay, threshold, maxActivation)) {
      store<u32>(next + (<usize>kept << 2), <u32>v);
      kept++;
      edges += load<u32>(outOffsets + ((v + 1) << 2)) - load<u32>(outOffsets + (v << 2));
    }
  }
  store<u32>(info, edges);
  store<u32>(info, edges, 4);
  return kept;
}

/**
 * One push hop, K > 1 seed sets (cols floats per node). The sets' frontiers are pushed one set
 * at a time, each from its own list (the frontier's nodes active in that set, ascending, split into
 * `lists`: room for k * count + k u32), so that a set's sums stay in cache while it is pushed (all sets
 * at once would scatter over n * cols floats: measured 8x slower on the semantic graph). Each set
 * is finished as in spreadHopPush (touched nodes listed in `touched`); the nodes active in any set
 * are kept once in `next` (marked in `live`, unsorted). Returns how many; info[0] = their out-edges,
 * info[1] = the out-edges summed over the sets (each set's own frontier: the next push's work).
 */
export function spreadHopPushSets(outOffsets: usize, outTargets: usize, outWeights: usize, fanInverse: usize,
                                  g: usize, acc: usize, total: usize, frontier: usize, count: i32, next: usize,
                                  marks: usize, live: usize, touched: usize, lists: usize, cols: i32, k: i32,
                                  bound: usize, budget: f64, decay: f32, threshold: f32, maxActivation: f32,
                                  info: usize): i32 {
  const rowBytes = <usize>cols << 2;
  const listBytes = <usize>count << 2;
  // Each set's frontier: the nodes whose g is non-zero in column j, ascending as the frontier is,
  // all split in one pass over the frontier's rows (a pass per set re-read every row k times:
  // scattered loads, most of a 16-set call). Their sizes sit after the k lists.
  const sizes = lists + <usize>k * listBytes;
  memory.fill(sizes, 0, <usize>k << 2);
  const zero = f32x4.splat(0);
  for (let i = 0; i < count; i++) {
    const u = load<u32>(frontier + (<usize>i << 2));
    const row = g + <usize>u * rowBytes;
    for (let c = 0; c < cols; c += 4) {
      let lanes = i32x4.bitmask(f32x4.ne(v128.load(row + (<usize>c << 2)), zero));
      while (lanes != 0) {
        const j = c + <i32>ctz<u32>(lanes);
        lanes &= lanes - 1;
        if (j >= k) break; // padding columns stay 0; never a list past the k
        const slot = sizes + (<usize>j << 2);
        const size = load<u32>(slot);
        store<u32>(lists + <usize>j * listBytes + (<usize>size << 2), u);
        store<u32>(slot, size + 1);
      }
    }
  }
  let kept = 0;
  let edges: u32 = 0;
  let setEdges: u32 = 0;
  for (let j = 0; j < k; j++) {
    const list = lists + <usize>j * listBytes;
    const size = <i32>load<u32>(sizes + (<usize>j << 2));
    const reached = pushColumn(outOffsets, outTargets, outWeights, g, acc, list, size, touched, marks, cols, j,
      bound, size > 0 ? budget / <f64>size : 0);
    const d = decay;
    for (let i = 0; i < reached; i++) {
      const v = <usize>load<u32>(touched + (<usize>i << 2));
      unmark(marks, v);
      const at = v * rowBytes + (<usize>j << 2);
      const c = d * load<f32>(acc + at);
      store<f32>(acc + at, 0);
      const f: f32 = Mathf.abs(c) >= threshold ? c : 0;
      if (f == 0) continue;
      store<f32>(total + at, min<f32>(max<f32>(load<f32>(total + at) + f, 0), maxActivation));
      store<f32>(g + at, f * load<f32>(fanInverse + (v << 2)));
      const degree = load<u32>(outOffsets + ((v + 1) << 2)) - load<u32>(outOffsets + (v << 2));
      setEdges += degree;
      if (markNew(live, v)) {
        store<u32>(next + (<usize>kept << 2), <u32>v);
        kept++;
        edges += degree;
      }
    }
  }
  for (let i = 0; i < kept; i++) unmark(live, <usize>load<u32>(next + (<usize>i << 2)));
  store<u32>(info, edges);
  store<u32>(info, setEdges, 4);
  return kept;
}

/**
 * Column j (of cols per node) of the `count` nodes listed at `list` (ascending): acc[v] +=
 * g[u] * w along their out-edges, the nodes touched marked and listed at `touched`; g cleared at
 * the list. Returns how many were touched.
 *
 * Light edges (`share` > 0): the edges from a source u into one target v (parallel edges summed)
 * carry at most |g[u]| * sum |w|; when that is at most `share`, the run is light. A target that
 * only light runs reach cannot get to the threshold (the caller sizes share so that count * share,
 * times decay and a rounding margin, is below it: src/spreading/prune.ts), so it ends the hop with
 * f' = 0 whatever its sum, and is left untouched. So the targets of heavy runs are marked first
 * (a source whose largest run, bound[u], is light has none), and then every source in ascending
 * order adds into the marked targets only: each marked target's sum gets exactly the terms, in
 * exactly the order, of the full push, so the bits are the same. It saves the scattered adds and
 * the finishing of the many targets of a hub whose activation, divided among thousands of edges,
 * is too small to matter.
 */
@inline
function pushColumn(outOffsets: usize, outTargets: usize, outWeights: usize, g: usize, acc: usize,
                    list: usize, count: i32, touched: usize, marks: usize, cols: i32, j: i32,
                    bound: usize, share: f64): i32 {
  const rowBytes = <usize>cols << 2;
  const column = <usize>j << 2;
  let reached = 0;
  if (share > 0) {
    // Pass 1: the targets of heavy runs, marked and listed.
    for (let i = 0; i < count; i++) {
      const u = <usize>load<u32>(list + (<usize>i << 2));
      const gu = <f64>Mathf.abs(load<f32>(g + u * rowBytes + column));
      if (gu * <f64>load<f32>(bound + (u << 2)) <= share) continue;
      const most = share / gu;
      const end = load<u32>(outOffsets + ((u + 1) << 2));
      let previous: usize = <usize>(-1);
      let run: f64 = 0;
      for (let e = load<u32>(outOffsets + (u << 2)); e < end; e++) {
        const v = <usize>load<u32>(outTargets + (<usize>e << 2));
        run = (v == previous ? run : 0) + <f64>Mathf.abs(load<f32>(outWeights + (<usize>e << 2)));
        previous = v;
        if (run <= most) continue;
        if (markNew(marks, v)) {
          store<u32>(touched + (<usize>reached << 2), <u32>v);
          reached++;
        }
      }
    }
    // Pass 2: every source in order, into the marked targets only (none: nothing to add).
    for (let i = 0; i < count; i++) {
      const u = <usize>load<u32>(list + (<usize>i << 2));
      const gAt = g + u * rowBytes + column;
      const gu = load<f32>(gAt);
      store<f32>(gAt, 0);
      if (reached == 0) continue;
      const end = load<u32>(outOffsets + ((u + 1) << 2));
      for (let e = load<u32>(outOffsets + (u << 2)); e < end; e++) {
        const v = <usize>load<u32>(outTargets + (<usize>e << 2));
        if ((load<u32>(marks + ((v >> 5) << 2)) & (<u32>1 << <u32>(v & 31))) == 0) continue;
        const a = acc + v * rowBytes + column;
        store<f32>(a, load<f32>(a) + gu * load<f32>(outWeights + (<usize>e << 2)));
      }
    }
    return reached;
  }
  for (let i = 0; i < count; i++) {
    const u = <usize>load<u32>(list + (<usize>i << 2));
    const gAt = g + u * rowBytes + column;
    const gu = load<f32>(gAt);
    const end = load<u32>(outOffsets + ((u + 1) << 2));
    for (let e = load<u32>(outOffsets + (u << 2)); e < end; e++) {
      const v = <usize>load<u32>(outTargets + (<usize>e << 2));
      if (markNew(marks, v)) {
        store<u32>(touched + (<usize>reached << 2), <u32>v);
        reached++;
      }
      const a = acc + v * rowBytes + column;
      store<f32>(a, load<f32>(a) + gu * load<f32>(outWeights + (<usize>e << 2)));
    }
    store<f32>(gAt, 0);
  }
  return reached;
}

/** Set node v's bit in the bitmap at `marks`; whether it was clear (v seen for the first time). */
@inline
function markNew(marks: usize, v: usize): bool {
  const word = marks + ((v >> 5) << 2);
  const bit: u32 = 1 << <u32>(v & 31);
  const bits = load<u32>(word);
  if ((bits & bit) != 0) return false;
  store<u32>(word, bits | bit);
  return true;
}

/** Clear node v's bit in a bitmap. */
@inline
function unmark(marks: usize, v: usize): void {
  const word = marks + ((v >> 5) << 2);
  store<u32>(word, load<u32>(word) & ~(<u32>1 << <u32>(v & 31)));
}

/**
 * K = 1: node v's sum sits in `sums`: c = decay * sum, cut at the threshold into f'; the sum goes
 * back to 0, total += f' (clamped), and g gets f' * fanInverse when f' is non-zero. Returns
 * whether f' is non-zero.
 */
@inline
function finishRow(sums: usize, g: usize, total: usize, fanInverse: usize, v: usize,
                   decay: f32, threshold: f32, maxActivation: f32): bool {
  const s = sums + (v << 2);
  const c = decay * load<f32>(s);
  store<f32>(s, 0);
  const next: f32 = Mathf.abs(c) >= threshold ? c : 0;
  if (next == 0) return false;
  const t = total + (v << 2);
  store<f32>(t, min<f32>(max<f32>(load<f32>(t) + next, 0), maxActivation));
  store<f32>(g + (v << 2), next * load<f32>(fanInverse + (v << 2)));
  return true;
}

// ------------------------------------------------------------------------------------------------
// Pull: every node in [first, end) sums over its incoming edges (the graph stored by target).

/** spreadHopPull's `mode` bits. GNEXT_DIRTY: gNext may hold stale values on entry (every row is written). */
const GNEXT_DIRTY = 1;
/** DROP_G: no later hop reads g', so gNext is left (or made) zero instead of holding it. */
const DROP_G = 2;

/**
 * One pull hop over nodes [first, end): c[v] from g over v's incoming edges (ascending source),
 * then as finishRow, into gNext and total. The nodes with a non-zero f' are listed, ascending, from
 * `list`, the first `listCap` of them (a frontier that large is pulled again and cleared whole:
 * listing it would be a stream more for nothing); returns how many. K > 1: info[0] = their
 * out-edges, info[1] = the out-edges summed over the seed sets each node is active in (K = 1: not
 * counted).
 *
 * `mode` (bits; every combination gives the same totals, f' and list):
 * - 0: gNext is zero on entry; g' is stored where f' is non-zero.
 * - GNEXT_DIRTY: gNext may hold anything (the g of two hops ago, not cleared): every node's g' is
 *   stored, +0 where f' is 0, so that no pass over the block is needed to clear it first.
 * - DROP_G (the last hop): g' is not stored; gNext is left zero (made zero where it was dirty).
 */
export function spreadHopPull(inOffsets: usize, inSources: usize, inWeights: usize, outOffsets: usize,
                           fanInverse: usize, g: usize, gNext: usize, total: usize, first: i32, end: i32, cols: i32,
                           decay: f32, threshold: f32, maxActivation: f32, list: usize, listCap: i32, info: usize,
                           mode: i32): i32 {
  let kept = 0;
  let edges: u32 = 0;
  let setEdges: u32 = 0;
  const dirty = (mode & GNEXT_DIRTY) != 0;
  const drop = (mode & DROP_G) != 0;
  if (cols == 1) {
    // One loop per mode (the flags folded in: measured 5-10% faster than testing them per node).
    if (mode == 0) kept = pullSingle(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap);
    else if (mode == GNEXT_DIRTY) kept = pullSingleDirty(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap);
    else if (mode == DROP_G) kept = pullSingleDrop(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap);
    else kept = pullSingleDirtyDrop(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap);
  } else {
    const rowBytes = <usize>cols << 2;
    const zero = f32x4.splat(0);
    for (let v = first; v < end; v++) {
      const stop = load<u32>(inOffsets + (<usize>(v + 1) << 2));
      const row = gNext + <usize>v * rowBytes;
      // The row is the accumulator: zero it first where it may be stale.
      if (dirty) for (let c = 0; c < cols; c += 4) v128.store(row + (<usize>c << 2), zero);
      for (let e = load<u32>(inOffsets + (<usize>v << 2)); e < stop; e++) {
        const src = g + <usize>load<u32>(inSources + (<usize>e << 2)) * rowBytes;
        const w = f32x4.splat(load<f32>(inWeights + (<usize>e << 2)));
        for (let c = 0; c < cols; c += 4) {
          const o = <usize>c << 2;
          v128.store(row + o, f32x4.add(v128.load(row + o), f32x4.mul(v128.load(src + o), w)));
        }
      }
      // The row holds the sums; finishInPlace turns them into g' in place (after reading them).
      const sets = finishInPlace(row, total, fanInverse, <usize>v, cols, decay, threshold, maxActivation);
      if (drop) for (let c = 0; c < cols; c += 4) v128.store(row + (<usize>c << 2), zero);
      if (sets > 0) {
        if (kept < listCap) store<u32>(list + (<usize>kept << 2), <u32>v);
        kept++;
        const degree = load<u32>(outOffsets + (<usize>(v + 1) << 2)) - load<u32>(outOffsets + (<usize>v << 2));
        edges += degree;
        setEdges += degree * <u32>sets;
      }
    }
  }
  store<u32>(info, edges);
  store<u32>(info, setEdges, 4);
  return kept;
}

// K = 1 pull loops, one per mode (spreadHopPull's), from one template with the flags constant.
function pullSingle(inOffsets: usize, inSources: usize, inWeights: usize, fanInverse: usize, g: usize, gNext: usize, total: usize,
                    first: i32, end: i32, decay: f32, threshold: f32, maxActivation: f32, list: usize, listCap: i32): i32 {
  return pullSingleLoop(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap, false, false);
}
function pullSingleDirty(inOffsets: usize, inSources: usize, inWeights: usize, fanInverse: usize, g: usize, gNext: usize, total: usize,
                         first: i32, end: i32, decay: f32, threshold: f32, maxActivation: f32, list: usize, listCap: i32): i32 {
  return pullSingleLoop(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap, true, false);
}
function pullSingleDrop(inOffsets: usize, inSources: usize, inWeights: usize, fanInverse: usize, g: usize, gNext: usize, total: usize,
                        first: i32, end: i32, decay: f32, threshold: f32, maxActivation: f32, list: usize, listCap: i32): i32 {
  return pullSingleLoop(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap, false, true);
}
function pullSingleDirtyDrop(inOffsets: usize, inSources: usize, inWeights: usize, fanInverse: usize, g: usize, gNext: usize, total: usize,
                             first: i32, end: i32, decay: f32, threshold: f32, maxActivation: f32, list: usize, listCap: i32): i32 {
  return pullSingleLoop(inOffsets, inSources, inWeights, fanInverse, g, gNext, total, first, end, decay, threshold, maxActivation, list, listCap, true, true);
}

/**
 * The K = 1 pull (see spreadHopPull): each node's sum one add after another in edge order (the
 * order that makes push and pull agree), four edges an iteration, still one chain, addressed from
 * one base pointer with constant offsets (measured: as fast as four partial sums, the gathers
 * dominate; computing each edge's address from its index cost ~10% more instructions and time).
 * The frontier's out-edges are left to the caller (K = 1: a separate stream read per node cost
 * 15-20% here; the caller needs them only while they may be few).
 */
@inline
function pullSingleLoop(inOffsets: usize, inSources: usize, inWeights: usize, fanInverse: usize, g: usize, gNext: usize, total: usize,
                        first: i32, end: i32, decay: f32, threshold: f32, maxActivation: f32, list: usize, listCap: i32,
                        dirty: bool, drop: bool): i32 {
  let kept = 0;
  let e = load<u32>(inOffsets + (<usize>first << 2));
  for (let v = first; v < end; v++) {
    const stop = load<u32>(inOffsets + (<usize>(v + 1) << 2));
    let sum: f32 = 0;
    for (; e + 4 <= stop; e += 4) {
      const s = inSources + (<usize>e << 2), w = inWeights + (<usize>e << 2);
      sum += load<f32>(g + (<usize>load<u32>(s) << 2)) * load<f32>(w);
      sum += load<f32>(g + (<usize>load<u32>(s, 4) << 2)) * load<f32>(w, 4);
      sum += load<f32>(g + (<usize>load<u32>(s, 8) << 2)) * load<f32>(w, 8);
      sum += load<f32>(g + (<usize>load<u32>(s, 12) << 2)) * load<f32>(w, 12);
    }
    for (; e < stop; e++) sum += term(inSources, inWeights, g, e);
    const c = decay * sum;
    const next: f32 = Mathf.abs(c) >= threshold ? c : 0;
    const at = <usize>v << 2;
    if (dirty) {
      // +0 where f' is 0 (never -0 or a stale value: a later push reads g only at its frontier,
      // a later pull everywhere).
      store<f32>(gNext + at, drop ? 0 : select<f32>(next * load<f32>(fanInverse + at), 0, next != 0));
    }
    if (next == 0) continue;
    const t = total + at;
    store<f32>(t, min<f32>(max<f32>(load<f32>(t) + next, 0), maxActivation));
    if (!dirty && !drop) store<f32>(gNext + at, next * load<f32>(fanInverse + at));
    if (kept < listCap) store<u32>(list + (<usize>kept << 2), <u32>v);
    kept++;
  }
  return kept;
}

/** Edge e's term for K = 1: g[source] * weight. */
@inline
function term(inSources: usize, inWeights: usize, g: usize, e: u32): f32 {
  return load<f32>(g + (<usize>load<u32>(inSources + (<usize>e << 2)) << 2)) * load<f32>(inWeights + (<usize>e << 2));
}

/**
 * A pull's finish for K > 1: the sums sit in gNext's row, and g' replaces them there. Returns
 * in how many columns f' is non-zero.
 */
@inline
function finishInPlace(row: usize, total: usize, fanInverse: usize, v: usize, cols: i32,
                       decay: f32, threshold: f32, maxActivation: f32): i32 {
  const d = f32x4.splat(decay);
  const thr = f32x4.splat(threshold);
  const zero = f32x4.splat(0);
  const top = f32x4.splat(maxActivation);
  const scale = f32x4.splat(load<f32>(fanInverse + (v << 2)));
  const tRow = total + v * (<usize>cols << 2);
  let sets = 0;
  for (let c = 0; c < cols; c += 4) {
    const o = <usize>c << 2;
    const value = f32x4.mul(v128.load(row + o), d);
    const kept = v128.and(value, f32x4.ge(f32x4.abs(value), thr));
    const lanes = i32x4.bitmask(f32x4.ne(kept, zero));
    if (lanes != 0) {
      sets += <i32>popcnt<u32>(lanes);
      v128.store(tRow + o, f32x4.min(f32x4.max(f32x4.add(v128.load(tRow + o), kept), zero), top));
      v128.store(row + o, f32x4.mul(kept, scale));
    } else {
      v128.store(row + o, zero);
    }
  }
  return sets;
}

// ------------------------------------------------------------------------------------------------
// Helpers: clearing rows and sorting a frontier.

/**
 * Zero `bytes` bytes at `ptr` (memory.fill: a memset; a TypedArray fill over the shared memory
 * the workers use was measured 2x slower here, 0.6-0.7 ms for 4 MB).
 */
export function clearBlock(ptr: usize, bytes: usize): void {
  memory.fill(ptr, 0, bytes);
}

/** Zero the rows (cols floats each) of the `count` nodes listed at `list`. */
export function clearRows(base: usize, list: usize, count: i32, cols: i32): void {
  if (cols == 1) {
    for (let i = 0; i < count; i++) store<f32>(base + (<usize>load<u32>(list + (<usize>i << 2)) << 2), 0);
    return;
  }
  const rowBytes = <usize>cols << 2;
  const zero = f32x4.splat(0);
  for (let i = 0; i < count; i++) {
    const row = base + <usize>load<u32>(list + (<usize>i << 2)) * rowBytes;
    for (let c = 0; c < cols; c += 4) v128.store(row + (<usize>c << 2), zero);
  }
}

/**
 * Seeds staged densely (many seeds): `sums`, f64 rows of `cols` per node, summed by the caller,
 * which set node u's bit in `marks` (a bit per node) when it first wrote u's row: only marked
 * rows are read (the others hold whatever was there). The marked nodes with any column not 0 in
 * f32, ascending, into `nodes`, and their rows rounded to f32 into `rows` (room for as many as were
 * marked); `marks` is left zero. Returns how many. (A pass over every node's row instead read 8 MB
 * for 1M nodes with a branch miss per seeded one, ~2 ms, and needed the sums zeroed first.)
 */
export function compactSeedRows(sums: usize, marks: usize, n: i32, cols: i32, nodes: usize, rows: usize): i32 {
  let kept = 0;
  const words = (n + 31) >>> 5;
  const rowBytes = <usize>cols << 3;
  for (let w = 0; w < words; w++) {
    const at = marks + (<usize>w << 2);
    let bits = load<u32>(at);
    if (bits == 0) continue;
    store<u32>(at, 0);
    while (bits != 0) {
      const u = (<u32>w << 5) + ctz<u32>(bits);
      bits &= bits - 1;
      const from = sums + <usize>u * rowBytes;
      if (cols == 1) {
        const f = <f32>load<f64>(from);
        if (f == 0) continue;
        store<u32>(nodes + (<usize>kept << 2), u);
        store<f32>(rows + (<usize>kept << 2), f);
        kept++;
        continue;
      }
      let any = false;
      for (let c = 0; c < cols; c++) if (<f32>load<f64>(from + (<usize>c << 3)) != 0) any = true;
      if (!any) continue;
      const to = rows + <usize>kept * (<usize>cols << 2);
      for (let c = 0; c < cols; c++) store<f32>(to + (<usize>c << 2), <f32>load<f64>(from + (<usize>c << 3)));
      store<u32>(nodes + (<usize>kept << 2), u);
      kept++;
    }
  }
  return kept;
}

/**
 * Column j (of cols per node) of `total` at the `count` nodes listed at `list` (in any order,
 * duplicates allowed; or every node 0 .. count - 1 when `list` is 0): the nodes whose total is not
 * 0, once each and ascending, into `nodes`, their totals into `values` (the same bits). `marks`
 * (a bit per node, zero) tells a listed node already taken; it is left zero. `tmp` (count u32)
 * and `counts` (256 u32) serve sortNodes. `total` is left as it was. Returns how many.
 */
export function listTotals(total: usize, list: usize, count: i32, cols: i32, j: i32, nodes: usize, values: usize,
                           marks: usize, tmp: usize, counts: usize, bits: i32): i32 {
  const rowBytes = <usize>cols << 2;
  const column = total + (<usize>j << 2);
  let kept = 0;
  if (list == 0) {
    for (let v = 0; v < count; v++) {
      const x = load<f32>(column + <usize>v * rowBytes);
      if (x != 0) {
        store<u32>(nodes + (<usize>kept << 2), <u32>v);
        store<f32>(values + (<usize>kept << 2), x);
        kept++;
      }
    }
    return kept;
  }
  for (let i = 0; i < count; i++) {
    const v = <usize>load<u32>(list + (<usize>i << 2));
    if (load<f32>(column + v * rowBytes) == 0) continue;
    const word = marks + ((v >> 5) << 2);
    const bit: u32 = 1 << <u32>(v & 31);
    const w = load<u32>(word);
    if ((w & bit) != 0) continue;
    store<u32>(word, w | bit);
    store<u32>(nodes + (<usize>kept << 2), <u32>v);
    kept++;
  }
  sortNodes(nodes, kept, tmp, counts, bits);
  for (let i = 0; i < kept; i++) {
    const v = <usize>load<u32>(nodes + (<usize>i << 2));
    unmark(marks, v);
    store<f32>(values + (<usize>i << 2), load<f32>(column + v * rowBytes));
  }
  return kept;
}

/**
 * Every seed set's non-zero totals at once (K > 1; listTotals does one column): the nodes listed at
 * `list` (`count` of them, any order, duplicates allowed; or every node 0 .. count - 1 when `list`
 * is 0), each set j < k's nodes whose total is not 0, ascending, and their totals (the same bits),
 * packed set after set into `nodes` and `values`; `sizes` (2k u32) gets each set's count, then its
 * start. The listed nodes are taken once each and sorted in `unique` (room for count; `marks`, a zero
 * bit per node, is left zero; `tmp` and `counts` serve sortNodes), so one sort and one pass over the
 * rows serve every set, where a listTotals per set read and sorted the list k times. Returns how
 * many (node, set) entries were written, or -1 when they would be more than `room` (then the
 * caller lists the sets one at a time). `total` is left as it was.
 */
export function listTotalsSets(total: usize, list: usize, count: i32, cols: i32, k: i32, unique: usize,
                               nodes: usize, values: usize, sizes: usize, room: i32,
                               marks: usize, tmp: usize, counts: usize, bits: i32): i32 {
  const rowBytes = <usize>cols << 2;
  let u = count;
  if (list != 0) {
    u = 0;
    for (let i = 0; i < count; i++) {
      const v = <usize>load<u32>(list + (<usize>i << 2));
      if (markNew(marks, v)) {
        store<u32>(unique + (<usize>u << 2), <u32>v);
        u++;
      }
    }
    for (let i = 0; i < u; i++) unmark(marks, <usize>load<u32>(unique + (<usize>i << 2)));
    sortNodes(unique, u, tmp, counts, bits);
  }
  const starts = sizes + (<usize>k << 2);
  memory.fill(sizes, 0, <usize>k << 3);
  // Pass 1: each set's count.
  visitEntries(false, total, list, unique, u, rowBytes, cols, k, sizes, 0, 0);
  let pairs: u32 = 0;
  for (let j = 0; j < k; j++) {
    store<u32>(starts + (<usize>j << 2), pairs);
    pairs += load<u32>(sizes + (<usize>j << 2));
    if (pairs > <u32>room) return -1;
  }
  // Pass 2: the entries, each set's in ascending node order (the order of `unique`); the starts
  // serve as cursors and are put back after.
  visitEntries(true, total, list, unique, u, rowBytes, cols, k, starts, nodes, values);
  for (let j = 0; j < k; j++) {
    const slot = starts + (<usize>j << 2);
    store<u32>(slot, load<u32>(slot) - load<u32>(sizes + (<usize>j << 2)));
  }
  return <i32>pairs;
}

/**
 * listTotalsSets' passes: for each of the `u` nodes (listed in `unique`, or 0 .. u - 1 when `list`
 * is 0), each column j < k whose total is not 0 bumps slot j of `slots`; with `write`, the slot is
 * a cursor, and the node and its total are stored at it in `nodes` and `values`.
 */
@inline
function visitEntries(write: bool, total: usize, list: usize, unique: usize, u: i32, rowBytes: usize, cols: i32, k: i32,
                      slots: usize, nodes: usize, values: usize): void {
  const zero = f32x4.splat(0);
  for (let i = 0; i < u; i++) {
    const v = list != 0 ? <usize>load<u32>(unique + (<usize>i << 2)) : <usize>i;
    const row = total + v * rowBytes;
    for (let c = 0; c < cols; c += 4) {
      let lanes = i32x4.bitmask(f32x4.ne(v128.load(row + (<usize>c << 2)), zero));
      while (lanes != 0) {
        const j = c + <i32>ctz<u32>(lanes);
        lanes &= lanes - 1;
        if (j >= k) break;
        const slot = slots + (<usize>j << 2);
        const at = <usize>load<u32>(slot);
        store<u32>(slot, <u32>at + 1);
        if (write) {
          store<u32>(nodes + (at << 2), <u32>v);
          store<f32>(values + (at << 2), load<f32>(row + (<usize>j << 2)));
        }
      }
    }
  }
}

/**
 * Sort `count` node ids (each below 2^bits) ascending in place: insertion sort when short, else
 * LSD radix sort by bytes through `tmp` (count u32) with `counts` (256 u32) as the histogram.
 */
export function sortNodes(list: usize, count: i32, tmp: usize, counts: usize, bits: i32): void {
  if (count < 2) return;
  if (count < 64) {
    for (let i = 1; i < count; i++) {
      const x = load<u32>(list + (<usize>i << 2));
      let j = i - 1;
      while (j >= 0 && load<u32>(list + (<usize>j << 2)) > x) {
        store<u32>(list + (<usize>(j + 1) << 2), load<u32>(list + (<usize>j << 2)));
        j--;
      }
      store<u32>(list + (<usize>(j + 1) << 2), x);
    }
    return;
  }
  let src = list, dst = tmp;
  for (let shift = 0; shift < bits; shift += 8) {
    memory.fill(counts, 0, 1024);
    for (let i = 0; i < count; i++) {
      const d = counts + (<usize>((load<u32>(src + (<usize>i << 2)) >>> shift) & 255) << 2);
      store<u32>(d, load<u32>(d) + 1);
    }
    let at: u32 = 0;
    for (let d = 0; d < 256; d++) {
      const slot = counts + (<usize>d << 2);
      const n = load<u32>(slot);
      store<u32>(slot, at);
      at += n;
    }
    for (let i = 0; i < count; i++) {
      const x = load<u32>(src + (<usize>i << 2));
      const slot = counts + (<usize>((x >>> shift) & 255) << 2);
      const to = load<u32>(slot);
      store<u32>(slot, to + 1);
      store<u32>(dst + (<usize>to << 2), x);
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src != list) memory.copy(list, src, <usize>count << 2);
}
