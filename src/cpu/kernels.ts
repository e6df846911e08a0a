import { loadBytes } from '#platform';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from '../generated/kernels-wasm.js';
import type { KernelModule } from './strategy-types.js';

/** The exports of asm/index.ts (byte addresses are plain numbers; see the asm files for each). */
export interface KernelExports {
  heapBase(): number;
  normalizeRows(rows: number, n: number, stride: number): void;
  normalizePanelRows(panels: number, first: number, n: number, stride: number): void;
  padRows(base: number, n: number, dim: number, stride: number): void;
  toPanels(src: number, n: number, dim: number, panels: number, first: number, stride: number, scratch: number,
    scale: number): number;
  findNonFinite(ptr: number, count: number): number;
  // One-shot cosine (asm/scores.ts).
  cosineScores(query: number, panels: number, n: number, stride: number, out: number): void;
  dotMatrix(queries: number, m: number, panels: number, n: number, stride: number,
    out: number, outStride: number, blockRows: number): void;
  // Index rows (asm/score-*.ts, asm/prefilter.ts, asm/topk.ts).
  scoresF32(metric: number, query: number, panels: number, n: number, stride: number, out: number): void;
  scoresF32Masked(metric: number, query: number, panels: number, n: number, stride: number, out: number, mask: number): void;
  blockScoresF32(metric: number, queries: number, m: number, panels: number, n: number, stride: number,
    out: number, outStride: number): void;
  scoresF16(variant: number, query: number, panels: number, n: number, stride: number, out: number): void;
  scoresF16Masked(variant: number, query: number, panels: number, n: number, stride: number, out: number, mask: number): void;
  rowScoreF16(variant: number, query: number, panels: number, row: number, stride: number): number;
  widenF16Panels(panels: number, first: number, n: number, stride: number, out: number, outFirst: number, stride4: number): void;
  encodeF16Rows(panels: number, first: number, n: number, stride4: number, out: number, outFirst: number, stride: number): number;
  quantizeQuery16(query: number, stride4: number, out: number, stride: number, info: number): void;
  scoresI8(metric: number, query16: number, info: number, panels: number, meta: number, n: number, stride: number, out: number): void;
  scoresI8Masked(metric: number, query16: number, info: number, panels: number, meta: number, n: number, stride: number,
    out: number, mask: number): void;
  encodeI8Rows(metric: number, panels: number, first: number, n: number, stride4: number,
    out: number, meta: number, outFirst: number, stride: number): void;
  widenI8Panels(panels: number, meta: number, first: number, n: number, stride: number,
    out: number, outFirst: number, stride4: number): void;
  encodePrefilter(panels: number, first: number, n: number, stride4: number,
    out: number, meta: number, outFirst: number, stride: number): void;
  prefilterTopK(metric: number, scorer: number, query: number, rows: number, rowStride: number,
    query16: number, info: number, gamma: number,
    prefilter: number, pmeta: number, stride: number, n: number, base: number, mask: number, k: number,
    hs: number, hi: number, state: number, lhs: number, lhi: number, lstate: number,
    lower: number, upper: number, candidates: number, candidateUpper: number, pre: number, preUpper: number): number;
  prefilterBounds(metric: number, query16: number, info: number, gamma: number, rowStride: number,
    prefilter: number, pmeta: number, stride: number, n: number, lower: number, upper: number): void;
  selectTopK(scores: number, count: number, base: number, k: number,
    heapScores: number, heapIndices: number, state: number): void;
  selectMasked(scores: number, count: number, base: number, k: number,
    heapScores: number, heapIndices: number, state: number, mask: number): void;
  sortHeap(heapScores: number, heapIndices: number, size: number): void;
  topKRows(dtype: number, code: number, query: number, query16: number, info: number,
    rows: number, meta: number, n: number, stride: number, base: number, mask: number, k: number,
    hs: number, hi: number, state: number, scratch: number): void;
  topKRowsBatch(metric: number, queries: number, m: number, rows: number, n: number, stride: number,
    base: number, mask: number, k: number, hs: number, hi: number, states: number, scratch: number, blockRows: number): void;
  copyRows(src: number, list: number, n: number, dst: number, first: number, chunks: number): void;
  copyRowMeta(src: number, list: number, n: number, dst: number, first: number, fields: number): void;
  fillU32(ptr: number, count: number, value: number): void;
  panelsToPacked(src: number, first: number, n: number, chunks: number, rowBytes: number, dst: number): void;
  packedToPanels(src: number, n: number, rowBytes: number, dst: number, first: number, chunks: number): void;
  checkF16(ptr: number, count: number): number;
  i8RowSquares(metric: number, panels: number, meta: number, first: number, n: number, stride: number): void;
  // Batched top-k through int8 panels (asm/prefilter-batch.ts, asm/batch-dots.ts).
  relaxedSimd(): number;
  batchScratchBytes(m: number): number;
  prefilterTopKBatch(metric: number, variant: number, m: number, queries: number, queryBytes: number, scorers: number,
    rows: number, rowStride: number, forms: number, terms: number, infos: number, gamma: number,
    prefilter: number, pmeta: number, stride: number, n: number, base: number, mask: number, k: number,
    hs: number, hi: number, states: number, lhs: number, lhi: number, lstates: number, scratch: number): number;
  topKRowsI8Batch(metric: number, m: number, forms: number, terms: number, infos: number, rows: number, meta: number,
    n: number, stride: number, base: number, mask: number, k: number, hs: number, hi: number, states: number, scratch: number): void;
  prefilterBoundsBatch(metric: number, variant: number, form: number, term: number, info: number, gamma: number, rowStride: number,
    prefilter: number, pmeta: number, stride: number, n: number, lower: number, upper: number, scratch: number): void;
  blockDots(variant: number, qa: number, qb: number, panels: number, p0: number, p1: number, chunks: number,
    words: number, outA: number, outB: number): void;
  rowTerms(variant: number, panels: number, p0: number, p1: number, chunks: number, out: number): void;
  winogradQueries(query16: number, m: number, stride: number, out: number, terms: number): void;
  offsetQueries(variant: number, queries: number, m: number, stride4: number, out: number, stride: number, info: number): void;
  // Activation spreading (asm/spread.ts).
  spreadStart(nodes: number, count: number, values: number, g: number, total: number, fanInverse: number,
    cols: number, maxActivation: number): void;
  spreadHopPush(outOffsets: number, outTargets: number, outWeights: number, fanInverse: number, g: number, acc: number,
    total: number, frontier: number, count: number, next: number, marks: number, bound: number, budget: number,
    decay: number, threshold: number, maxActivation: number, info: number): number;
  spreadHopPushSets(outOffsets: number, outTargets: number, outWeights: number, fanInverse: number, g: number,
    acc: number, total: number, frontier: number, count: number, next: number, marks: number, live: number,
    touched: number, lists: number, cols: number, k: number, bound: number, budget: number,
    decay: number, threshold: number, maxActivation: number, info: number): number;
  spreadHopPull(inOffsets: number, inSources: number, inWeights: number, outOffsets: number, fanInverse: number,
    g: number, gNext: number, total: number, first: number, end: number, cols: number,
    decay: number, threshold: number, maxActivation: number, list: number, listCap: number, info: number, mode: number): number;
  clearBlock(ptr: number, bytes: number): void;
  clearRows(base: number, list: number, count: number, cols: number): void;
  compactSeedRows(sums: number, marks: number, n: number, cols: number, nodes: number, rows: number): number;
  listTotals(total: number, list: number, count: number, cols: number, j: number, nodes: number, values: number,
    marks: number, tmp: number, counts: number, bits: number): number;
  listTotalsSets(total: number, list: number, count: number, cols: number, k: number, unique: number,
    nodes: number, values: number, sizes: number, room: number, marks: number, tmp: number, counts: number, bits: number): number;
  sortNodes(list: number, count: number, tmp: number, counts: number, bits: number): void;
}

/** Where the module bytes came from: the .wasm file beside this module, or the inline copy. */
export type WasmSource = 'url' | 'inline';

export type { KernelModule } from './strategy-types.js';

/** Which module an engine asks for: 'auto' (relaxed where the engine validates it) or 'baseline'. */
export type KernelChoice = 'auto' | 'baseline';

export interface CompiledKernels {
  module: WebAssembly.Module;
  source: WasmSource;
  bytes: number;
  kind: KernelModule;
}

interface KernelBinary {
  bytes: Uint8Array<ArrayBuffer>;
  source: WasmSource;
  kind: KernelModule;
}

const INLINE: Record<KernelModule, string> = { relaxed: KERNELS_RELAXED_WASM_BASE64, baseline: KERNELS_WASM_BASE64 };

const binaries = new Map<KernelChoice, Promise<KernelBinary>>();
let relaxedValid: boolean | undefined;
const compiled = new Map<string, Promise<CompiledKernels>>();

/** The module `choice` gets on this engine: relaxed when asked for ('auto') and valid here. */
export function kernelModuleFor(choice: KernelChoice): KernelModule {
  if (choice === 'baseline') return 'baseline';
  // The inline copy is at hand in every build, so the check costs no fetch.
  relaxedValid ??= WebAssembly.validate(decodeInline(INLINE.relaxed));
  return relaxedValid ? 'relaxed' : 'baseline';
}

/**
 * Compile the kernels once per process, module choice and memory kind (each engine instantiates
 * its own copy). `shared`: the module imports a shared memory (WASM threads), so that worker
 * threads can run the same kernels over the same memory (src/cpu/pool.ts). The two memory kinds
 * differ in one bit, the memory import's "shared" limits flag (asc --sharedMemory emits exactly
 * that), so one .wasm per module is shipped and the flag is set at load time.
 */
export function compileKernels(shared = false, choice: KernelChoice = 'auto'): Promise<CompiledKernels> {
  const key = `${choice}:${shared}`;
  let module = compiled.get(key);
  if (!module) {
    let binary = binaries.get(choice);
    if (!binary) {
      const kind = kernelModuleFor(choice);
      binary = loadFromUrl(kind).catch(() => loadInline(kind));
      binaries.set(choice, binary);
    }
    module = binary.then(async ({ bytes, source, kind }) => ({
      module: await WebAssembly.compile(shared ? withSharedMemory(bytes) : bytes),
      source,
      bytes: bytes.byteLength,
      kind,
    }));
    compiled.set(key, module);
  }
  return module;
}

/** Instantiate the kernels over `memory` (the engine's own linear memory, shared or not). */
export async function instantiateKernels(memory: WebAssembly.Memory, shared = false, choice: KernelChoice = 'auto'): Promise<{
  exports: KernelExports;
  module: WebAssembly.Module;
  source: WasmSource;
  bytes: number;
  kind: KernelModule;
}> {
  const { module, source, bytes, kind } = await compileKernels(shared, choice);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { exports: instance.exports as unknown as KernelExports, module, source, bytes, kind };
}

/**
 * A copy of `bytes` whose imported memory is declared shared (limits flag 0x01 -> 0x03: has a
 * maximum, shared). Walks the module's sections to the import section and its memory entry, as
 * the binary format defines them; throws if the module imports no memory with a maximum.
 */
export function withSharedMemory(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  let at = 8; // magic + version
  const leb = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = out[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  const skipName = () => {
    const length = leb();
    at += length;
  };
  while (at < out.length) {
    const id = out[at++]!;
    const size = leb();
    const end = at + size;
    if (id !== 2) {
      at = end;
      continue;
    }
    const count = leb();
    for (let i = 0; i < count; i++) {
      skipName();
      skipName();
      const kind = out[at++]!;
      if (kind === 0x00) leb(); // function: type index
      else if (kind === 0x01) { at++; const flags = leb(); leb(); if (flags & 1) leb(); } // table
      else if (kind === 0x03) at += 2; // global: value type, mutability
      else if (kind === 0x02) {
        if (out[at] !== 0x01 && out[at] !== 0x03) throw new Error('kernels.wasm: the memory import has no maximum');
        out[at] = 0x03;
        return out;
      } else throw new Error(`kernels.wasm: unknown import kind ${kind}`);
    }
    break;
  }
  throw new Error('kernels.wasm: no memory import');
}

// Bundlers see `new URL('./kernels.wasm', import.meta.url)` (and the relaxed one) and ship the
// files (the browser bundle has its own copies beside it); when a file is not there (a bundle that
// dropped it, a test run from src/, a page opened from file://), the inline base64 copy is used.
async function loadFromUrl(kind: KernelModule): Promise<KernelBinary> {
  const url = kind === 'relaxed' ? new URL('./kernels-relaxed.wasm', import.meta.url) : new URL('./kernels.wasm', import.meta.url);
  const bytes = new Uint8Array(await loadBytes(url));
  // Fail here (and fall back to the inline copy) if the file is not a valid module.
  if (!WebAssembly.validate(bytes)) throw new Error(`${url.href} is not a valid WebAssembly module`);
  return { bytes, source: 'url', kind };
}

function loadInline(kind: KernelModule): KernelBinary {
  return { bytes: decodeInline(INLINE[kind]), source: 'inline', kind };
}

function decodeInline(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
