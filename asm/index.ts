// The CPU kernels, compiled by AssemblyScript to one WASM-SIMD module (no GC runtime: the
// TypeScript side owns the imported memory and passes byte addresses). See layout.ts.
export { normalizeRows, normalizePanelRows, padRows, toPanels, findNonFinite } from './normalize';
export { dotScores, cosineScores, dotMatrix, dotMatrixBlock } from './scores';
export { selectTopK, sortHeap, searchTopK, searchTopKBatch } from './topk';
export { quantizePanelRows, quantizeQuery, compactBounds, searchTopKCompact } from './compact';
export { spreadStart, spreadHopPush, spreadHopPushSets, spreadHopPull, clearRows, sortNodes } from './spread';

/** First byte the TypeScript allocator may use (after this module's static data). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}
