// Exact top-k fused with scoring: the scores of a block of rows go to a small scratch buffer
// (stays in L1) and a bounded min-heap of the k best keeps the candidates; N scores never leave
// WASM memory. Order: higher score first, ties to the lower row index. The heap root is the
// worst kept entry; a candidate enters only if it beats the root under that order, and a SIMD
// compare against the root's score skips 4 scores at a time when none can.
//
// Heap state per query: scores f32[k] at `hs`, indices u32[k] at `hi`, current size u32 at `state`.

import { dotScores, dotMatrixBlock } from './scores';
import { panelBytes } from './layout';

/** a is worse than b: lower score, or equal score and higher index. */
@inline
function worse(sa: f32, ia: u32, sb: f32, ib: u32): bool {
  return sa < sb || (sa == sb && ia > ib);
}

function siftDown(hs: usize, hi: usize, size: u32, start: u32): void {
  let pos: u32 = start;
  const s = load<f32>(hs + (<usize>pos << 2));
  const i = load<u32>(hi + (<usize>pos << 2));
  while (true) {
    let child: u32 = 2 * pos + 1;
    if (child >= size) break;
    let cs = load<f32>(hs + (<usize>child << 2));
    let ci = load<u32>(hi + (<usize>child << 2));
    const right: u32 = child + 1;
    if (right < size) {
      const rs = load<f32>(hs + (<usize>right << 2));
      const ri = load<u32>(hi + (<usize>right << 2));
      if (worse(rs, ri, cs, ci)) { child = right; cs = rs; ci = ri; }
    }
    if (!worse(cs, ci, s, i)) break;
    store<f32>(hs + (<usize>pos << 2), cs);
    store<u32>(hi + (<usize>pos << 2), ci);
    pos = child;
  }
  store<f32>(hs + (<usize>pos << 2), s);
  store<u32>(hi + (<usize>pos << 2), i);
}

function siftUp(hs: usize, hi: usize, start: u32): void {
  let pos: u32 = start;
  const s = load<f32>(hs + (<usize>pos << 2));
  const i = load<u32>(hi + (<usize>pos << 2));
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    const ps = load<f32>(hs + (<usize>parent << 2));
    const pi = load<u32>(hi + (<usize>parent << 2));
    if (!worse(s, i, ps, pi)) break;
    store<f32>(hs + (<usize>pos << 2), ps);
    store<u32>(hi + (<usize>pos << 2), pi);
    pos = parent;
  }
  store<f32>(hs + (<usize>pos << 2), s);
  store<u32>(hi + (<usize>pos << 2), i);
}

/** Offer one (score, index) to a heap of `size` entries (capacity k); returns the new size. */
@inline
export function heapOffer(hs: usize, hi: usize, size: u32, k: u32, s: f32, idx: u32): u32 {
  if (size < k) {
    store<f32>(hs + (<usize>size << 2), s);
    store<u32>(hi + (<usize>size << 2), idx);
    siftUp(hs, hi, size);
    return size + 1;
  }
  if (worse(load<f32>(hs), load<u32>(hi), s, idx)) {
    store<f32>(hs, s);
    store<u32>(hi, idx);
    siftDown(hs, hi, size, 0);
  }
  return size;
}

/**
 * Offer `count` scores (row indices base .. base+count-1) to the heap. Exported so the
 * TypeScript side can merge candidate lists (GPU partial top-k, worker shards) the same way.
 */
export function selectTopK(scores: usize, count: i32, base: u32, k: u32,
                           hs: usize, hi: usize, state: usize): void {
  let size = load<u32>(state);
  let i = 0;
  while (size < k && i < count) {
    size = heapOffer(hs, hi, size, k, load<f32>(scores + (<usize>i << 2)), base + <u32>i);
    i++;
  }
  // Heap full: only a score >= the root's can enter (>= so that ties reach the exact test).
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(scores + (<usize>i << 2));
    if (!v128.any_true(f32x4.ge(v, f32x4.splat(load<f32>(hs))))) continue;
    for (let l = 0; l < 4; l++) {
      size = heapOffer(hs, hi, size, k, load<f32>(scores + (<usize>(i + l) << 2)), base + <u32>(i + l));
    }
  }
  for (; i < count; i++) {
    size = heapOffer(hs, hi, size, k, load<f32>(scores + (<usize>i << 2)), base + <u32>i);
  }
  store<u32>(state, size);
}

/** Turn the heap into a list sorted best first (heapsort with the worst-at-root heap). */
export function sortHeap(hs: usize, hi: usize, size: u32): void {
  for (let end = size; end > 1; end--) {
    const last = end - 1;
    const s = load<f32>(hs), i = load<u32>(hi);
    store<f32>(hs, load<f32>(hs + (<usize>last << 2)));
    store<u32>(hi, load<u32>(hi + (<usize>last << 2)));
    store<f32>(hs + (<usize>last << 2), s);
    store<u32>(hi + (<usize>last << 2), i);
    siftDown(hs, hi, last, 0);
  }
}

/**
 * Top-k of one padded normalised query over rows 0 .. n-1 of a panel region. `scratch` holds
 * `blockRows` floats (a multiple of 4). Leaves the result sorted in (hs, hi); returns its
 * length min(k, n).
 */
export function searchTopK(query: usize, panels: usize, n: i32, stride: i32, k: u32,
                           hs: usize, hi: usize, state: usize,
                           scratch: usize, blockRows: i32): u32 {
  const bytes = panelBytes(stride);
  store<u32>(state, 0);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const count = min<i32>(blockRows, n - r0);
    dotScores(query, panels + <usize>(r0 >> 2) * bytes, count, stride, scratch);
    selectTopK(scratch, count, <u32>r0, k, hs, hi, state);
  }
  const size = load<u32>(state);
  sortHeap(hs, hi, size);
  return size;
}

/**
 * Top-k of `m` padded normalised queries over rows 0 .. n-1 of a panel region, in one pass over
 * the corpus. Heaps for query q at hs + q*k*4, hi + q*k*4, states + q*4. `scratch` holds
 * m * blockRows floats (blockRows a multiple of 4).
 */
export function searchTopKBatch(queries: usize, m: i32, panels: usize, n: i32, stride: i32, k: u32,
                                hs: usize, hi: usize, states: usize,
                                scratch: usize, blockRows: i32): void {
  const bytes = panelBytes(stride);
  const heapBytes = <usize>k << 2;
  for (let q = 0; q < m; q++) store<u32>(states + (<usize>q << 2), 0);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const count = min<i32>(blockRows, n - r0);
    dotMatrixBlock(queries, m, panels + <usize>(r0 >> 2) * bytes, count, stride, scratch, blockRows);
    for (let q = 0; q < m; q++) {
      selectTopK(scratch + <usize>q * (<usize>blockRows << 2), count, <u32>r0, k,
                 hs + <usize>q * heapBytes, hi + <usize>q * heapBytes, states + (<usize>q << 2));
    }
  }
  for (let q = 0; q < m; q++) {
    sortHeap(hs + <usize>q * heapBytes, hi + <usize>q * heapBytes, load<u32>(states + (<usize>q << 2)));
  }
}
