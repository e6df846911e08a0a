import { loadBytes } from '#platform';
import { KERNELS_WASM_BASE64 } from '../generated/kernels-wasm.js';

/** The exports of asm/index.ts (byte addresses are plain numbers). */
export interface KernelExports {
  heapBase(): number;
  normalizeRows(rows: number, n: number, stride: number): void;
  normalizePanelRows(panels: number, first: number, n: number, stride: number): void;
  padRows(base: number, n: number, dim: number, stride: number): void;
  toPanels(src: number, n: number, dim: number, panels: number, first: number, stride: number, scratch: number): number;
  findNonFinite(ptr: number, count: number): number;
  dotScores(query: number, panels: number, n: number, stride: number, out: number): void;
  cosineScores(query: number, panels: number, n: number, stride: number, out: number): void;
  dotMatrix(queries: number, m: number, panels: number, n: number, stride: number,
    out: number, outStride: number, blockRows: number): void;
  selectTopK(scores: number, count: number, base: number, k: number,
    heapScores: number, heapIndices: number, state: number): void;
  sortHeap(heapScores: number, heapIndices: number, size: number): void;
  searchTopK(query: number, panels: number, n: number, stride: number, k: number,
    heapScores: number, heapIndices: number, state: number, scratch: number, blockRows: number): number;
  quantizePanelRows(panels: number, first: number, n: number, stride: number,
    compact: number, meta: number, qstride: number): void;
  quantizeQuery(query: number, stride: number, out: number, qstride: number, info: number): void;
  searchTopKCompact(query: number, query16: number, info: number, slack: number,
    panels: number, compact: number, meta: number, n: number, stride: number, qstride: number, k: number,
    heapScores: number, heapIndices: number, state: number,
    lowerScores: number, lowerIndices: number, lowerState: number,
    lower: number, upper: number, blockRows: number, candidates: number, candidateUpper: number): number;
  scaleRows(f: number, fanInverse: number, g: number, n: number, cols: number): void;
  spreadHopSingle(inOffsets: number, inSources: number, inWeights: number, g: number, fNext: number, total: number,
    n: number, decay: number, threshold: number, maxActivation: number): number;
  spreadHopColumns(inOffsets: number, inSources: number, inWeights: number, g: number, fNext: number, total: number,
    n: number, cols: number, decay: number, threshold: number, maxActivation: number): number;
  clampInto(f: number, total: number, count: number, maxActivation: number): void;
  searchTopKBatch(queries: number, m: number, panels: number, n: number, stride: number, k: number,
    heapScores: number, heapIndices: number, states: number, scratch: number, blockRows: number): void;
}

/** Where the module bytes came from: the .wasm file beside this module, or the inline copy. */
export type WasmSource = 'url' | 'inline';

interface CompiledKernels {
  module: WebAssembly.Module;
  source: WasmSource;
  bytes: number;
}

let compiled: Promise<CompiledKernels> | null = null;

/** Compile the kernels once per process (each engine instantiates its own copy). */
export function compileKernels(): Promise<CompiledKernels> {
  compiled ??= compileFromUrl().catch(() => compileInline());
  return compiled;
}

/** Instantiate the kernels over `memory` (the engine's own linear memory). */
export async function instantiateKernels(memory: WebAssembly.Memory): Promise<{
  exports: KernelExports;
  source: WasmSource;
  bytes: number;
}> {
  const { module, source, bytes } = await compileKernels();
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { exports: instance.exports as unknown as KernelExports, source, bytes };
}

// Bundlers see `new URL('./kernels.wasm', import.meta.url)` and ship the file (the browser
// bundle has its own copy beside it); when the file is not there (a bundle that dropped it, a
// test run from src/, a page opened from file://), the inline base64 copy is used.
async function compileFromUrl(): Promise<CompiledKernels> {
  const bytes = await loadBytes(new URL('./kernels.wasm', import.meta.url));
  return { module: await WebAssembly.compile(bytes), source: 'url', bytes: bytes.byteLength };
}

async function compileInline(): Promise<CompiledKernels> {
  const binary = atob(KERNELS_WASM_BASE64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { module: await WebAssembly.compile(bytes), source: 'inline', bytes: bytes.byteLength };
}
