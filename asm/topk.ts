// Exact top-k fused with scoring: the scores of a block of rows go to a small scratch buffer
// (stays in L1) and a bounded min-heap of the k best keeps the candidates; N scores never leave
// WASM memory. Order: higher score first, ties to the lower row index. The heap root is the
// worst kept entry; a candidate enters only if it beats the root under that order, and a SIMD
// compare against the root's score skips 4 scores at a time when none can.
//
// Heap state per query: scores f32[k] at `hs`, indices u32[k] at `hi`, current size u32 at `state`.

import { anyBits, panelBytesOf } from './layout';
import { scoresF32, scoresF32Masked, blockScoresF32 } from './score-f32';
import { scoresF16, scoresF16Masked } from './score-f16';
import { scoresI8, scoresI8Masked } from './score-i8';

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
 * Offer scores[i] for i in 0 .. count-1 whose bit i is set in the bitmap words at `mask` (rows
 * with a clear bit are never offered, whatever their score), in ascending order. Once the heap
 * is full, 4 scores at a time are tested against the root as selectTopK does, the clear bits'
 * lanes masked off, so a dense bitmap costs about what no bitmap does (the rows offered, and so
 * the heap, are the same as offering every set bit in turn). The scores of a group of 4 are
 * read whole: `scores` holds whole groups (the callers' blocks are whole panels).
 */
export function selectMasked(scores: usize, count: i32, base: u32, k: u32,
                             hs: usize, hi: usize, state: usize, mask: usize): void {
  let size = load<u32>(state);
  for (let w = 0; w < count; w += 32) {
    let bits = load<u32>(mask + (<usize>(w >> 5) << 2));
    if (w + 32 > count) bits &= (<u32>1 << <u32>(count - w)) - 1;
    while (bits != 0 && size < k) {
      const i = w + <i32>ctz(bits);
      bits &= bits - 1;
      size = heapOffer(hs, hi, size, k, load<f32>(scores + (<usize>i << 2)), base + <u32>i);
    }
    // Heap full: the remaining set bits, a group of 4 rows at a time.
    while (bits != 0) {
      const g = <i32>ctz(bits) & ~3;
      const nibble = (bits >> <u32>g) & 15;
      bits &= ~(<u32>15 << <u32>g);
      const i = w + g;
      const v = v128.load(scores + (<usize>i << 2));
      if (!v128.any_true(v128.and(f32x4.ge(v, f32x4.splat(load<f32>(hs))), laneMask(nibble)))) continue;
      let lanes = nibble;
      while (lanes != 0) {
        const l = <i32>ctz(lanes);
        lanes &= lanes - 1;
        size = heapOffer(hs, hi, size, k, load<f32>(scores + (<usize>(i + l) << 2)), base + <u32>(i + l));
      }
    }
  }
  store<u32>(state, size);
}

/** Lanes l of an i32x4 all ones where bit l of `nibble` is set, else zero. */
@inline
export function laneMask(nibble: u32): v128 {
  return i32x4.ne(v128.and(i32x4.splat(nibble), i32x4(1, 2, 4, 8)), i32x4.splat(0));
}

/** Rows per block of the fused top-k: 256 scores (1 KiB of scratch) stay in L1. */
const BLOCK: i32 = 256;

/** Scores of rows [r0, r0 + count) of a segment into `out` (masked: only panels with set bits). */
@inline
function blockScores(dtype: i32, code: i32, query: usize, query16: usize, info: usize, rows: usize, meta: usize,
                     r0: i32, count: i32, stride: i32, out: usize, mask: usize): void {
  if (dtype == 0) {
    const at = rows + <usize>(r0 >> 2) * panelBytesOf(stride >> 2);
    if (mask != 0) scoresF32Masked(code, query, at, count, stride, out, mask);
    else scoresF32(code, query, at, count, stride, out);
  } else if (dtype == 1) {
    const at = rows + <usize>(r0 >> 2) * panelBytesOf(stride >> 3);
    if (mask != 0) scoresF16Masked(code, query, at, count, stride, out, mask);
    else scoresF16(code, query, at, count, stride, out);
  } else {
    const at = rows + <usize>(r0 >> 2) * panelBytesOf(stride >> 4);
    const m = meta + (<usize>(r0 >> 2) << 5);
    if (mask != 0) scoresI8Masked(code, query16, info, at, m, count, stride, out, mask);
    else scoresI8(code, query16, info, at, m, count, stride, out);
  }
}

/**
 * Offer the scores of rows 0 .. n-1 of one segment (those with a set bit in `mask`, when
 * mask != 0) to the heap (hs, hi, state) as positions base + row, scoring 256 rows at a time into
 * `scratch`; the heap persists across calls (the caller resets and sorts it). `dtype` 0 = f32
 * rows (code = metric; query: padded f32), 1 = f16 (code = variant, see score-f16.ts), 2 = i8
 * (code = metric; query16/info from quantizeQuery16, meta = the rows' metadata).
 */
export function topKRows(dtype: i32, code: i32, query: usize, query16: usize, info: usize,
                         rows: usize, meta: usize, n: i32, stride: i32, base: u32, mask: usize, k: u32,
                         hs: usize, hi: usize, state: usize, scratch: usize): void {
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const count = min<i32>(BLOCK, n - r0);
    if (mask != 0) {
      if (!anyBits(mask, r0, count)) continue;
      const words = mask + (<usize>(r0 >> 5) << 2);
      blockScores(dtype, code, query, query16, info, rows, meta, r0, count, stride, scratch, words);
      selectMasked(scratch, count, base + <u32>r0, k, hs, hi, state, words);
    } else {
      blockScores(dtype, code, query, query16, info, rows, meta, r0, count, stride, scratch, 0);
      selectTopK(scratch, count, base + <u32>r0, k, hs, hi, state);
    }
  }
}

/**
 * topKRows for `m` padded f32 queries (`stride` floats apart) over f32 rows, in one pass over the
 * rows: blocks of `blockRows` rows (a multiple of 32, sized by the caller to stay in L2) scored
 * for every query (blockScoresF32), then offered to query q's heap at hs + q*k*4, hi + q*k*4,
 * states + q*4. `scratch` holds m * blockRows floats.
 */
export function topKRowsBatch(metric: i32, queries: usize, m: i32, rows: usize, n: i32, stride: i32,
                              base: u32, mask: usize, k: u32, hs: usize, hi: usize, states: usize,
                              scratch: usize, blockRows: i32): void {
  const bytes = panelBytesOf(stride >> 2);
  const heapBytes = <usize>k << 2;
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const count = min<i32>(blockRows, n - r0);
    if (mask != 0 && !anyBits(mask, r0, count)) continue;
    blockScoresF32(metric, queries, m, rows + <usize>(r0 >> 2) * bytes, count, stride, scratch, blockRows);
    for (let q = 0; q < m; q++) {
      const s = scratch + <usize>q * (<usize>blockRows << 2);
      const h = <usize>q * heapBytes;
      if (mask != 0) selectMasked(s, count, base + <u32>r0, k, hs + h, hi + h, states + (<usize>q << 2), mask + (<usize>(r0 >> 5) << 2));
      else selectTopK(s, count, base + <u32>r0, k, hs + h, hi + h, states + (<usize>q << 2));
    }
  }
}
