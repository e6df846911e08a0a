// Exact top-k of a batch of queries through int8 panels: the prefilter copy of f32/f16 rows
// (prefilterTopKBatch, the batch form of prefilter.ts's prefilterTopK) and i8 rows
// (topKRowsI8Batch, the batch form of topk.ts's topKRows for dtype i8).
//
// A one-query int8 scan is compute bound (each row byte is widened and multiplied once per query),
// so a batch gains nothing from sharing the memory reads alone: what it shares is the work done per
// row. Rows go in blocks of 256 (196 KiB at 768 values: they stay in L2 while every query passes
// over them); for each pair of queries, batch-dots.ts computes the exact integer dots I of the pair
// with every panel of the block (the rows' Winograd terms or sums computed once per block for all
// queries), then each query of the pair turns its dots into bounds exactly as prefilterTopK does
// (boundsOfDots: the same Cauchy-Schwarz bounds per metric, from the query's own quantisation
// info), keeps its own running threshold tau (the k-th largest lower bound seen, or its k-th best
// exact score if larger) and notes its candidates (upper >= tau) in its own list. A list that
// fills, and every list at the end, is re-scored with the exact row scorer in ascending row
// order, skipping rows the threshold has passed since: the same argument as prefilter.ts's, query
// by query, so each query's heap ends with exactly the top-k of the exact scan (ties included),
// and results are the same bits as single searches.
//
// The heaps persist across calls (the caller resets them), as prefilterTopK's do. Heap j (the
// exact one and the lower-bound one) holds k entries at hs + j * k * 4, hi + j * k * 4, its size at
// states + 4j. Rows whose bit in `mask` (if any) is clear are never offered.

import { anyBits, panelBytesOf, panelSkipped, COSINE, DOT, L2 } from './layout';
import { boundsOfDots, exactScore, l2Gamma, l2Margin } from './prefilter';
import { heapOffer, selectTopK, selectMasked } from './topk';
import { blockDots, rowTerms, queryFormBytes, WINOGRAD } from './batch-dots';
import { i8Scores } from './score-i8';

/** Rows per block (a multiple of 32: mask words start on a block). */
const BLOCK: i32 = 256;
const PANELS: i32 = BLOCK >> 2;
/** Candidates noted per query before its list is re-scored. */
const CANDIDATES: i32 = 512;

// Scratch (from `scratch`): row terms, dots of the pair's two queries (16 bytes a panel each),
// lower and upper bounds (or scores) of one query (4 bytes a row each), then per query a count
// and CANDIDATES (row, upper) pairs.
const TERMS: usize = 0;
const DOTS_A: usize = TERMS + (<usize>PANELS << 4);
const DOTS_B: usize = DOTS_A + (<usize>PANELS << 4);
const LOWER: usize = DOTS_B + (<usize>PANELS << 4);
const UPPER: usize = LOWER + (<usize>BLOCK << 2);
const LISTS: usize = UPPER + (<usize>BLOCK << 2);

/** Bytes of scratch prefilterTopKBatch and topKRowsI8Batch need for `m` queries. */
export function batchScratchBytes(m: i32): usize {
  return LISTS + <usize>m * (4 + (<usize>CANDIDATES << 3));
}

@inline
function listOf(scratch: usize, m: i32, j: i32): usize {
  return scratch + LISTS + (<usize>m << 2) + <usize>j * (<usize>CANDIDATES << 3);
}

@inline
function countOf(scratch: usize, j: i32): usize {
  return scratch + LISTS + (<usize>j << 2);
}

/** The threshold of query j: its k-th best lower bound or exact score, whichever is larger. */
@inline
function thresholdOf(k: u32, hs: usize, state: usize, lhs: usize, lstate: usize): f32 {
  let tau: f32 = -Infinity;
  if (load<u32>(lstate) == k) tau = load<f32>(lhs);
  if (load<u32>(state) == k) tau = max<f32>(tau, load<f32>(hs));
  return tau;
}

/** Re-score query j's noted candidates exactly and empty its list; returns how many were re-scored. */
@inline
function flush(j: i32, m: i32, scratch: usize, query: usize, scorer: i32, rows: usize, rowStride: i32, base: u32, k: u32,
               hs: usize, hi: usize, state: usize, lhs: usize, lstate: usize): i32 {
  const count = load<i32>(countOf(scratch, j));
  if (count == 0) return 0;
  const list = listOf(scratch, m, j);
  const tau = thresholdOf(k, hs, state, lhs, lstate);
  let size = load<u32>(state);
  let rescored = 0;
  for (let c = 0; c < count; c++) {
    const ul = load<f32>(list + (<usize>c << 3), 4);
    if (ul < tau || (size == k && ul < load<f32>(hs))) continue;
    const row = load<u32>(list + (<usize>c << 3));
    size = heapOffer(hs, hi, size, k, exactScore(scorer, query, rows, <i32>row, rowStride), base + row);
    rescored++;
  }
  store<u32>(state, size);
  store<i32>(countOf(scratch, j), 0);
  return rescored;
}

@inline
function batchImpl(metric: i32, variant: i32, m: i32, queries: usize, queryBytes: i32, scorers: usize,
                   rows: usize, rowStride: i32, forms: usize, terms: usize, infos: usize, gamma: f32,
                   prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                   hs: usize, hi: usize, states: usize, lhs: usize, lhi: usize, lstates: usize, scratch: usize): i32 {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  const formBytes = queryFormBytes(variant, stride);
  const heapBytes = <usize>k << 2;
  const gamma2 = l2Gamma(rowStride), margin = l2Margin(rowStride);
  const lower = scratch + LOWER, upper = scratch + UPPER;
  for (let j = 0; j < m; j++) store<i32>(countOf(scratch, j), 0);
  let rescored = 0;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const rows0 = min<i32>(BLOCK, n - r0);
    if (mask != 0 && !anyBits(mask, r0, rows0)) continue;
    const words = mask != 0 ? mask + (<usize>(r0 >> 5) << 2) : 0;
    const panels = (rows0 + 3) >> 2;
    const block = prefilter + <usize>(r0 >> 2) * bytes;
    const meta = pmeta + (<usize>(r0 >> 2) << 6);
    rowTerms(variant, block, 0, panels, chunks, scratch + TERMS);
    for (let j = 0; j < m; j += 2) {
      const pair = j + 1 < m;
      const inPair = pair ? 2 : 1;
      const qa = forms + <usize>j * formBytes;
      blockDots(variant, qa, pair ? qa + formBytes : 0, block, 0, panels, chunks, words, scratch + DOTS_A, scratch + DOTS_B);
      for (let t = 0; t < inPair; t++) {
        const q = j + t;
        const dots = scratch + (t == 0 ? DOTS_A : DOTS_B);
        const info = infos + (<usize>q << 4);
        const term = i32x4.splat(load<i32>(terms + (<usize>q << 2)));
        for (let p = 0; p < panels; p++) {
          if (panelSkipped(words, p)) continue;
          const at = <usize>p << 4;
          const dot = i32x4.sub(i32x4.sub(v128.load(dots + at), v128.load(scratch + TERMS + at)), term);
          boundsOfDots(metric, dot, info, meta + (<usize>p << 6), gamma, gamma2, margin, lower + at, upper + at);
        }
        const h = <usize>q * heapBytes;
        const state = states + (<usize>q << 2), lstate = lstates + (<usize>q << 2);
        if (words != 0) selectMasked(lower, rows0, base + <u32>r0, k, lhs + h, lhi + h, lstate, words);
        else selectTopK(lower, rows0, base + <u32>r0, k, lhs + h, lhi + h, lstate);
        const tau = thresholdOf(k, hs + h, state, lhs + h, lstate);
        const query = queries + <usize>q * <usize>queryBytes;
        const scorer = load<i32>(scorers + (<usize>q << 2));
        if (load<i32>(countOf(scratch, q)) + rows0 > CANDIDATES) {
          rescored += flush(q, m, scratch, query, scorer, rows, rowStride, base, k, hs + h, hi + h, state, lhs + h, lstate);
        }
        const list = listOf(scratch, m, q);
        let count = load<i32>(countOf(scratch, q));
        const t4 = f32x4.splat(tau);
        for (let i = 0; i < rows0; i += 4) {
          const bits: u32 = words != 0 ? (load<u32>(words + (<usize>(i >> 5) << 2)) >> <u32>(i & 31)) & 15 : 15;
          if (bits == 0) continue;
          if (!v128.any_true(f32x4.ge(v128.load(upper + (<usize>i << 2)), t4))) continue;
          const lanes = min<i32>(4, rows0 - i);
          for (let l = 0; l < lanes; l++) {
            if (((bits >> <u32>l) & 1) == 0) continue;
            const ul = load<f32>(upper + (<usize>(i + l) << 2));
            if (ul >= tau) {
              store<u32>(list + (<usize>count << 3), <u32>(r0 + i + l));
              store<f32>(list + (<usize>count << 3), ul, 4);
              count++;
            }
          }
        }
        store<i32>(countOf(scratch, q), count);
      }
    }
  }
  for (let j = 0; j < m; j++) {
    const h = <usize>j * heapBytes;
    rescored += flush(j, m, scratch, queries + <usize>j * <usize>queryBytes, load<i32>(scorers + (<usize>j << 2)),
      rows, rowStride, base, k, hs + h, hi + h, states + (<usize>j << 2), lhs + h, lstates + (<usize>j << 2));
  }
  return rescored;
}

/**
 * Offer the exact top-k of rows 0 .. n-1 (those with a set bit in `mask`, when mask != 0) of one
 * segment's piece to each of `m` queries' heaps, through the prefilter copy (prefilter, pmeta,
 * `stride` int8 values a row). Query j: its exact form at queries + j * queryBytes, read by scorer
 * scorers[j] (prefilter.ts exactScore) over `rows` (`rowStride` values a row); its `variant` form
 * (batch-dots.ts) at forms + j * formBytes, its queryTerm at terms + 4j and its quantisation info
 * at infos + 16j. `scratch` holds batchScratchBytes(m). Returns the rows re-scored exactly.
 */
export function prefilterTopKBatch(metric: i32, variant: i32, m: i32, queries: usize, queryBytes: i32, scorers: usize,
                                   rows: usize, rowStride: i32, forms: usize, terms: usize, infos: usize, gamma: f32,
                                   prefilter: usize, pmeta: usize, stride: i32, n: i32, base: u32, mask: usize, k: u32,
                                   hs: usize, hi: usize, states: usize, lhs: usize, lhi: usize, lstates: usize,
                                   scratch: usize): i32 {
  if (metric == COSINE) {
    return batchImpl(COSINE, variant, m, queries, queryBytes, scorers, rows, rowStride, forms, terms, infos, gamma,
      prefilter, pmeta, stride, n, base, mask, k, hs, hi, states, lhs, lhi, lstates, scratch);
  }
  if (metric == DOT) {
    return batchImpl(DOT, variant, m, queries, queryBytes, scorers, rows, rowStride, forms, terms, infos, gamma,
      prefilter, pmeta, stride, n, base, mask, k, hs, hi, states, lhs, lhi, lstates, scratch);
  }
  return batchImpl(L2, variant, m, queries, queryBytes, scorers, rows, rowStride, forms, terms, infos, gamma,
    prefilter, pmeta, stride, n, base, mask, k, hs, hi, states, lhs, lhi, lstates, scratch);
}

@inline
function i8Impl(metric: i32, m: i32, forms: usize, terms: usize, infos: usize, rows: usize, meta: usize, n: i32,
                stride: i32, base: u32, mask: usize, k: u32, hs: usize, hi: usize, states: usize, scratch: usize): void {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  const formBytes = queryFormBytes(WINOGRAD, stride);
  const heapBytes = <usize>k << 2;
  const scores = scratch + LOWER;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const rows0 = min<i32>(BLOCK, n - r0);
    if (mask != 0 && !anyBits(mask, r0, rows0)) continue;
    const words = mask != 0 ? mask + (<usize>(r0 >> 5) << 2) : 0;
    const panels = (rows0 + 3) >> 2;
    const block = rows + <usize>(r0 >> 2) * bytes;
    const blockMeta = meta + (<usize>(r0 >> 2) << 5);
    rowTerms(WINOGRAD, block, 0, panels, chunks, scratch + TERMS);
    for (let j = 0; j < m; j += 2) {
      const pair = j + 1 < m;
      const inPair = pair ? 2 : 1;
      const qa = forms + <usize>j * formBytes;
      blockDots(WINOGRAD, qa, pair ? qa + formBytes : 0, block, 0, panels, chunks, words, scratch + DOTS_A, scratch + DOTS_B);
      for (let t = 0; t < inPair; t++) {
        const q = j + t;
        const dots = scratch + (t == 0 ? DOTS_A : DOTS_B);
        const info = infos + (<usize>q << 4);
        const term = i32x4.splat(load<i32>(terms + (<usize>q << 2)));
        for (let p = 0; p < panels; p++) {
          if (panelSkipped(words, p)) continue;
          const at = <usize>p << 4;
          const dot = i32x4.sub(i32x4.sub(v128.load(dots + at), v128.load(scratch + TERMS + at)), term);
          v128.store(scores + at, i8Scores(metric, dot, info, blockMeta + (<usize>p << 5)));
        }
        const h = <usize>q * heapBytes;
        if (words != 0) selectMasked(scores, rows0, base + <u32>r0, k, hs + h, hi + h, states + (<usize>q << 2), words);
        else selectTopK(scores, rows0, base + <u32>r0, k, hs + h, hi + h, states + (<usize>q << 2));
      }
    }
  }
}

/**
 * topKRows over i8 rows for `m` queries in one pass: query j's WINOGRAD form (winogradQueries of
 * its quantizeQuery16 output) at forms + j * stride * 2, queryTerm at terms + 4j, info at infos +
 * 16j; heaps as described at the top of this file. The dots are the one-query kernel's I exactly,
 * and the scores follow from them by the same f32 operations (score-i8.ts), so each query's heap
 * gets the same entries as topKRows would give it. `scratch` holds batchScratchBytes(m).
 */
export function topKRowsI8Batch(metric: i32, m: i32, forms: usize, terms: usize, infos: usize, rows: usize, meta: usize,
                                n: i32, stride: i32, base: u32, mask: usize, k: u32, hs: usize, hi: usize, states: usize,
                                scratch: usize): void {
  if (metric == COSINE) i8Impl(COSINE, m, forms, terms, infos, rows, meta, n, stride, base, mask, k, hs, hi, states, scratch);
  else if (metric == DOT) i8Impl(DOT, m, forms, terms, infos, rows, meta, n, stride, base, mask, k, hs, hi, states, scratch);
  else i8Impl(L2, m, forms, terms, infos, rows, meta, n, stride, base, mask, k, hs, hi, states, scratch);
}

/**
 * The bounds prefilterTopKBatch computes for one query (its `variant` form, term and info) on
 * rows 0 .. n-1 of a prefilter copy (n rounded up to whole panels is written), for tests that
 * check them row by row against the exact scores. `scratch` holds batchScratchBytes(1).
 */
export function prefilterBoundsBatch(metric: i32, variant: i32, form: usize, term: i32, info: usize, gamma: f32, rowStride: i32,
                                     prefilter: usize, pmeta: usize, stride: i32, n: i32, lower: usize, upper: usize,
                                     scratch: usize): void {
  const chunks = stride >> 4;
  const bytes = panelBytesOf(chunks);
  const gamma2 = l2Gamma(rowStride), margin = l2Margin(rowStride);
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const panels = (min<i32>(BLOCK, n - r0) + 3) >> 2;
    const block = prefilter + <usize>(r0 >> 2) * bytes;
    rowTerms(variant, block, 0, panels, chunks, scratch + TERMS);
    blockDots(variant, form, 0, block, 0, panels, chunks, 0, scratch + DOTS_A, 0);
    for (let p = 0; p < panels; p++) {
      const at = <usize>p << 4;
      const dot = i32x4.sub(i32x4.sub(v128.load(scratch + DOTS_A + at), v128.load(scratch + TERMS + at)), i32x4.splat(term));
      const out = <usize>(r0 + (p << 2)) << 2;
      const meta = pmeta + (<usize>((r0 >> 2) + p) << 6);
      if (metric == COSINE) boundsOfDots(COSINE, dot, info, meta, gamma, gamma2, margin, lower + out, upper + out);
      else if (metric == DOT) boundsOfDots(DOT, dot, info, meta, gamma, gamma2, margin, lower + out, upper + out);
      else boundsOfDots(L2, dot, info, meta, gamma, gamma2, margin, lower + out, upper + out);
    }
  }
}
