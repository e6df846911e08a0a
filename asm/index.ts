// The CPU kernels, compiled by AssemblyScript to a WASM-SIMD module (no GC runtime: the
// TypeScript side owns the imported memory and passes byte addresses). See layout.ts. Built twice
// (asconfig.json): with baseline SIMD, and with relaxed SIMD too (batch-dots.ts's relaxed
// variants; every other kernel compiles to the same code in both).
export { normalizeRows, normalizePanelRows, padRows, toPanels, findNonFinite } from './normalize';
export { cosineScores, dotMatrix } from './scores';
export { scoresF32, scoresF32Masked, blockScoresF32 } from './score-f32';
export { scoresF16, scoresF16Masked, rowScoreF16, widenF16Panels, encodeF16Rows } from './score-f16';
export { quantizeQuery16, scoresI8, scoresI8Masked, encodeI8Rows, widenI8Panels, i8RowSquares } from './score-i8';
export { encodePrefilter, prefilterTopK, prefilterBounds } from './prefilter';
export { prefilterTopKBatch, topKRowsI8Batch, batchScratchBytes, prefilterBoundsBatch } from './prefilter-batch';
export { relaxedSimd, blockDots, rowTerms, winogradQueries, offsetQueries } from './batch-dots';
export { selectTopK, selectMasked, sortHeap, topKRows, topKRowsBatch } from './topk';
export { copyRows, copyRowMeta, fillU32, panelsToPacked, packedToPanels, checkF16 } from './copy';
export { spreadStart, spreadHopPush, spreadHopPushSets, spreadHopPull, clearBlock, clearRows, listTotals, listTotalsSets, sortNodes, compactSeedRows } from './spread';

/** First byte the TypeScript allocator may use (after this module's static data). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}
