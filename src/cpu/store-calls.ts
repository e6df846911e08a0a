import type { BatchKernel, BoundKernel } from '../config.js';
import type { RowBlock } from '../types.js';
import { prefilterStrideOf } from '../store/dtype.js';
import { DTYPE_CODE, METRIC_CODE, type CorpusView, type PositionTopK, type Selection, type SegmentView } from '../store/types.js';
import type { CpuMemory } from './cpu-memory.js';
import { strideFor } from './cpu-memory.js';
import type { MemoryRegion } from './memory-region.js';
import { QUEUE_WORDS_BYTES, type KernelCall, type RegionCalls, type RegionPart, type SharedQueue } from './pool.js';
import { BOUND_KERNEL_CODE, type CpuStrategy } from './strategy.js';

/** What the store's calls need from the CPU backend: its thread plan and a way to run parts. */
export interface PartRunner {
  plan(work: number): { parts: number; here: boolean };
  run(plan: { parts: number; here: boolean }, parts: RegionPart[]): number[][] | Promise<number[][]>;
  /**
   * Run a queue's items on every worker at once, each taking the next free item; meanwhile call
   * `next` here and run the parts it returns, each once every item is done (all of it here
   * without workers). If `next` throws, that is thrown once no worker runs an item.
   */
  overlap(queue: SharedQueue, next: () => RegionPart[]): number[][] | Promise<number[][]>;
}

/** Rows per block of the fused top-k and prefilter kernels (asm/topk.ts, asm/prefilter.ts). */
const BLOCK_ROWS = 256;
/** Bytes of rows per block of the batch kernel: kept in L2 while every query passes over them. */
const L2_BLOCK_BYTES = 256 * 1024;
/** 2^112 (see asm/score-f16.ts). */
const F16_SCALE = 2 ** 112;
/** A k this small against a piece's rows makes the prefilter worth it: most rows are cut early. */
const PREFILTER_ROWS_PER_K = 64;

/**
 * Bytes of int8 rows per item of a shared bounds queue: ~0.4 ms of one thread's bounds pass here,
 * small against a call that overlaps, large against taking an item (an atomic add, a call).
 */
export const DEFAULT_QUEUE_ITEM_BYTES = 4 << 20;
/**
 * Calls whose selection was made beside their bounds pass, and the bytes of int8 rows per item of
 * their bounds queue (both read and set by this package's tests: small items make many).
 */
export const overlapped = { calls: 0, itemBytes: DEFAULT_QUEUE_ITEM_BYTES };

/** Rows [start, start + count) of segment `segment` (start a multiple of 256). */
interface Chunk {
  segment: number;
  start: number;
  count: number;
}

/**
 * Headroom of the prefilter's bounds (asm/prefilter.ts): the f32 rounding of the exact kernel over
 * `stride4` floats ((stride4 / 4 + 3) additions, relative 2^-24 each) and of the approximate score
 * and the bound arithmetic (8 more), with 1% to spare.
 */
export function prefilterGamma(stride4: number): number {
  return ((stride4 / 4 + 3) * 1.01 + 8) * 2 ** -24;
}

/**
 * The CPU side of the store's calls: scores and top-k over an index's segments, each kernel call in
 * the memory region its segment lives in, split across threads by rows. Inputs arrive staged in
 * region 0 (queries: padded f32, normalised for cosine); each region a call touches gets its own
 * copy of the prepared queries, heaps and scratch.
 */
export class CpuStoreCalls {
  private readonly memory: CpuMemory;
  private readonly runner: PartRunner;
  private readonly strategy: CpuStrategy;

  constructor(memory: CpuMemory, runner: PartRunner, strategy: CpuStrategy) {
    this.memory = memory;
    this.runner = runner;
    this.strategy = strategy;
  }

  /** Internal scores of one query against every stored row (live and dead), by position. */
  async scores(view: CorpusView, query: RowBlock): Promise<Float32Array> {
    const out = new Float32Array(view.rows);
    const selection = { segments: view.segments.map(() => null), passing: view.rows, passingBySegment: view.segments.map((s) => s.rows) };
    const blocks = new CallBlocks(this.memory);
    try {
      const prepared = this.prepare(view, query, blocks, view.dtype === 'i8', null);
      const plan = this.runner.plan(view.rows * bytesRead(view, false));
      const parts = splitChunks(view, selection, plan.parts);
      const outputs = view.segments.map((segment) => (segment.rows > 0 ? blocks.alloc(segment.region, segment.rows * 4) : 0));
      const work = parts.map((chunks) => groupByRegion(view, chunks).map(({ region, chunks: group }): RegionPart[number] => ({
        region,
        calls: group.map((chunk) => scanCall(view, prepared.in(region), prepared.variants[0]!, chunk, outputs[chunk.segment]! + chunk.start * 4)),
      })));
      const pending = this.runner.run(plan, work);
      if (pending instanceof Promise) await pending;
      view.segments.forEach((segment, i) => {
        if (segment.rows === 0) return;
        const f32 = this.memory.regions.region(segment.region).arena.f32;
        const at = outputs[i]! >>> 2;
        out.set(f32.subarray(at, at + segment.rows), view.bases[i]);
      });
      return out;
    } finally {
      blocks.freeAll();
    }
  }

  /**
   * The top k (<= passing rows) of each query among the selected rows: positions and internal
   * scores. A `deferred` selection (a key filter not yet turned into bitmaps; `selection` then
   * stands for every live row) is made here: where one query runs through the prefilter on worker
   * threads only, the workers compute every chunk's bounds first (into a buffer per chunk) while
   * this thread makes the selection, then select from those bounds; else it is made first. The
   * bounds are the same numbers either way, so are the results.
   */
  async topK(view: CorpusView, queries: RowBlock, k: number, selection: Selection, deferred?: () => Selection): Promise<PositionTopK[]> {
    const m = queries.rows;
    const blocks = new CallBlocks(this.memory);
    try {
      const usesPrefilter = view.segments.some((s) => s.prefilter !== 0);
      const batch = m > 1 ? this.batchPlan(view, usesPrefilter) : null;
      const prepared = this.prepare(view, queries, blocks, view.dtype === 'i8' || usesPrefilter, batch?.forms ?? null);
      const workFor = (s: Selection) => {
        // The work: rows read, a whole panel (4 rows) for each selected row at most.
        let touched = 0;
        view.segments.forEach((segment, i) => { touched += Math.min(segment.rows, 4 * (s.passingBySegment[i] ?? segment.rows)); });
        return touched * bytesRead(view, usesPrefilter) * m;
      };
      let plan = this.runner.plan(workFor(selection));
      const overlap = deferred !== undefined && m === 1 && usesPrefilter && !plan.here && plan.parts > 1;
      /** Per chunk, its bounds computed beforehand: lower at `pre`, upper at `preUpper`. */
      const bounds = new Map<Chunk, { pre: number; preUpper: number }>();
      let parts: Chunk[][] = overlap ? splitChunks(view, selection, plan.parts) : [];
      const heaps: Heap[] = [];
      /** Each part's calls over the rows `chosen` selects (the chunks of `parts`), its heaps in `heaps`. */
      const callsFor = (chosen: Selection): RegionPart[] => {
        const masks = view.segments.map((segment, i) => maskOf(segment, chosen.segments[i]!, blocks));
        const stride = view.stride;
        const blockRows = Math.max(32, Math.min(1024, Math.floor(L2_BLOCK_BYTES / (stride * 4)) & ~31));
        const batchScratch = batch?.forms ? this.memory.kernels.batchScratchBytes(m) : 0;
        return parts.map((chunks) => groupByRegion(view, chunks).map(({ region, chunks: group }) => {
          const ours = blocks.heaps(region, m, k);
          heaps.push(...ours);
          const largest = Math.max(...group.map((c) => c.count));
          const scratch = {
            block: blocks.alloc(region, Math.max(BLOCK_ROWS, m * blockRows) * 4),
            lower: blocks.alloc(region, BLOCK_ROWS * 4),
            upper: blocks.alloc(region, BLOCK_ROWS * 4),
            candidates: usesPrefilter ? blocks.alloc(region, largest * 4) : 0,
            candidateUpper: usesPrefilter ? blocks.alloc(region, largest * 4) : 0,
            lowerHeaps: usesPrefilter ? blocks.heaps(region, m, k) : [],
            batch: batchScratch > 0 ? blocks.alloc(region, batchScratch) : 0,
          };
          const q = prepared.in(region);
          // The part empties its own heaps first, so that a part run again (after a worker failed)
          // starts from nothing.
          const calls: KernelCall[] = [['fillU32', ours[0]!.state, m, 0]];
          if (usesPrefilter) calls.push(['fillU32', scratch.lowerHeaps[0]!.state, m, 0]);
          for (const chunk of group) {
            if (chosen.segments[chunk.segment] === 'none') continue; // (split before the selection was known)
            const segment = view.segments[chunk.segment]!;
            const base = view.bases[chunk.segment]! + chunk.start;
            const mask = masks[chunk.segment]! === 0 ? 0 : masks[chunk.segment]! + chunk.start / 8;
            const computed = bounds.get(chunk);
            const prefilter = segment.prefilter !== 0 && k * PREFILTER_ROWS_PER_K <= chunk.count;
            const f16 = view.dtype === 'f16';
            if (prefilter && batch?.path === 'int8-batch') {
              const lowerHeap = scratch.lowerHeaps[0]!;
              calls.push(['prefilterTopKBatch', METRIC_CODE[view.metric], BOUND_KERNEL_CODE[batch.forms!], m,
                f16 ? q.f16 : q.f32, (f16 ? stride : strideFor(view.dim)) * 4, q.scorers, rowsAt(view, segment, chunk.start), stride,
                q.forms, q.terms, q.formInfo, prepared.gamma,
                segment.prefilter + (chunk.start / 4) * view.prefilterStride * 4, segment.prefilterMeta + (chunk.start / 4) * 64,
                view.prefilterStride, chunk.count, base, mask, k, ours[0]!.scores, ours[0]!.positions, ours[0]!.state,
                lowerHeap.scores, lowerHeap.positions, lowerHeap.state, scratch.batch]);
              continue;
            }
            if (view.dtype === 'i8' && batch?.path === 'i8-batch') {
              calls.push(['topKRowsI8Batch', METRIC_CODE[view.metric], m, q.forms, q.terms, q.formInfo,
                rowsAt(view, segment, chunk.start), segment.meta + (chunk.start / 4) * 32, chunk.count, stride, base, mask, k,
                ours[0]!.scores, ours[0]!.positions, ours[0]!.state, scratch.batch]);
              continue;
            }
            if (view.dtype === 'f32' && m > 1 && (!prefilter || batch?.path === 'f32-matrix')) {
              calls.push(['topKRowsBatch', METRIC_CODE[view.metric], q.f32, m, rowsAt(view, segment, chunk.start), chunk.count,
                stride, base, mask, k, ours[0]!.scores, ours[0]!.positions, ours[0]!.state, scratch.block, blockRows]);
              continue;
            }
            for (let j = 0; j < m; j++) {
              const heap = ours[j]!;
              if (prefilter) {
                const lowerHeap = scratch.lowerHeaps[j]!;
                calls.push(['prefilterTopK', METRIC_CODE[view.metric], f16 ? 3 + prepared.variants[j]! : METRIC_CODE[view.metric],
                  f16 ? q.f16 + j * stride * 4 : q.f32 + j * strideFor(view.dim) * 4, rowsAt(view, segment, chunk.start), stride,
                  q.q16 + j * view.prefilterStride * 2, q.info + j * 16, prepared.gamma,
                  segment.prefilter + (chunk.start / 4) * view.prefilterStride * 4, segment.prefilterMeta + (chunk.start / 4) * 64,
                  view.prefilterStride, chunk.count, base, mask, k, heap.scores, heap.positions, heap.state,
                  lowerHeap.scores, lowerHeap.positions, lowerHeap.state, scratch.lower, scratch.upper,
                  scratch.candidates, scratch.candidateUpper, computed?.pre ?? 0, computed?.preUpper ?? 0]);
              } else {
                calls.push(['topKRows', DTYPE_CODE[view.dtype], codeOf(view, prepared.variants[j]!),
                  view.dtype === 'f16' ? q.f16 + j * stride * 4 : q.f32 + j * strideFor(view.dim) * 4,
                  q.q16 + j * view.prefilterStride * 2, q.info + j * 16,
                  rowsAt(view, segment, chunk.start), view.dtype === 'i8' ? segment.meta + (chunk.start / 4) * 32 : 0,
                  chunk.count, stride, base, mask, k, heap.scores, heap.positions, heap.state, scratch.block]);
              }
            }
          }
          return { region, calls };
        }));
      };
      if (overlap) {
        // The bounds first, while this thread makes the selection and then the calls that read them.
        overlapped.calls++;
        const queue = boundsQueue(view, parts, k, prepared, blocks, bounds);
        const pending = this.runner.overlap(queue, () => callsFor(selection = deferred()));
        if (pending instanceof Promise) await pending;
      } else {
        if (deferred) {
          selection = deferred();
          plan = this.runner.plan(workFor(selection));
        }
        parts = splitChunks(view, selection, plan.parts);
        const work = callsFor(selection);
        if (batch) this.strategy.countBatch(batch.name);
        const pending = this.runner.run(plan, work);
        if (pending instanceof Promise) await pending;
      }
      const perPart = heaps.length / m;
      return Array.from({ length: m }, (_, j) => {
        const lists: Heap[] = [];
        for (let p = 0; p < perPart; p++) lists.push(heaps[p * m + j]!);
        return mergeHeaps(this.memory, lists, k);
      });
    } finally {
      blocks.freeAll();
    }
  }

  /**
   * How a batch (m > 1) over this view runs, from the strategy (timed on this machine at first
   * use): the path of segments with a prefilter (f32/f16) or of i8 rows, the bound kernel whose
   * query forms it needs (null: none), and the name it is counted under in stats().
   */
  private batchPlan(view: CorpusView, usesPrefilter: boolean): { path: BatchKernel | 'i8-batch'; forms: BoundKernel | null; name: string } {
    if (view.dtype === 'i8') {
      if (this.strategy.batchKernel('f16') === 'per-query') return { path: 'per-query', forms: null, name: 'i8/per-query' };
      return { path: 'i8-batch', forms: 'winograd', name: 'i8/i8-batch/winograd' };
    }
    if (!usesPrefilter) return view.dtype === 'f32' ? { path: 'f32-matrix', forms: null, name: 'f32/f32-matrix' } : { path: 'per-query', forms: null, name: 'f16/per-query' };
    const path = this.strategy.batchKernel(view.dtype);
    if (path !== 'int8-batch') return { path, forms: null, name: `${view.dtype}/${path}` };
    const bound = this.strategy.boundKernel();
    return { path, forms: bound, name: `${view.dtype}/int8-batch/${bound}` };
  }

  /**
   * The queries in every region the view touches, in the forms its kernels read: f32 (padded to
   * dim rounded up to 4), f16 (padded to the f16 stride, scaled per variant: asm/score-f16.ts) and
   * 16-bit (quantizeQuery16) with their info, when `wants16`; for a batch kernel (`forms`), the
   * bound kernel's query forms, terms and info (asm/batch-dots.ts) and each query's exact scorer.
   */
  private prepare(view: CorpusView, queries: RowBlock, blocks: CallBlocks, wants16: boolean, forms: BoundKernel | null): PreparedQueries {
    const m = queries.rows;
    const first = this.memory.regions.region(0);
    const stride4 = strideFor(view.dim);
    const pstride = prefilterStrideOf(view.dim);
    const variants: number[] = [];
    const local: RegionQueries = { f32: queries.ptr, f16: 0, q16: 0, info: 0, forms: 0, terms: 0, formInfo: 0, scorers: 0 };
    const bytes: Record<keyof RegionQueries, number> = { f32: m * stride4 * 4, f16: 0, q16: 0, info: 0, forms: 0, terms: 0, formInfo: 0, scorers: 0 };
    if (wants16) {
      local.q16 = blocks.alloc(0, m * pstride * 2);
      local.info = blocks.alloc(0, m * 16);
      bytes.q16 = m * pstride * 2;
      bytes.info = m * 16;
      for (let j = 0; j < m; j++) {
        first.kernels.quantizeQuery16(queries.ptr + j * stride4 * 4, stride4, local.q16 + j * pstride * 2, pstride, local.info + j * 16);
      }
    }
    for (let j = 0; j < m; j++) variants.push(view.dtype === 'f16' ? f16Variant(view, first.arena.f32, queries.ptr + j * stride4 * 4, stride4) : 0);
    if (view.dtype === 'f16') {
      const stride = view.stride;
      local.f16 = blocks.alloc(0, m * stride * 4);
      bytes.f16 = m * stride * 4;
      const f32 = first.arena.f32;
      for (let j = 0; j < m; j++) {
        const from = (queries.ptr >>> 2) + j * stride4;
        const to = (local.f16 >>> 2) + j * stride;
        const scale = variants[j]! <= 1 ? F16_SCALE : 1;
        for (let i = 0; i < stride; i++) f32[to + i] = i < stride4 ? f32[from + i]! * scale : 0;
      }
    }
    // Batch forms exist only for i8 rows and prefilters, which want the 16-bit queries too.
    if (forms) {
      const code = BOUND_KERNEL_CODE[forms];
      bytes.forms = m * pstride * (forms === 'winograd' ? 2 : 1);
      bytes.terms = m * 4;
      bytes.formInfo = m * 16;
      bytes.scorers = m * 4;
      local.forms = blocks.alloc(0, bytes.forms);
      local.terms = blocks.alloc(0, bytes.terms);
      local.scorers = blocks.alloc(0, bytes.scorers);
      if (forms === 'winograd') {
        first.kernels.winogradQueries(local.q16, m, pstride, local.forms, local.terms);
        local.formInfo = local.info;
        bytes.formInfo = 0;
      } else {
        local.formInfo = blocks.alloc(0, bytes.formInfo);
        first.kernels.offsetQueries(code, queries.ptr, m, stride4, local.forms, pstride, local.formInfo);
        first.kernels.fillU32(local.terms, m, 0);
      }
      const u32 = first.arena.u32;
      for (let j = 0; j < m; j++) u32[(local.scorers >>> 2) + j] = view.dtype === 'f16' ? 3 + variants[j]! : METRIC_CODE[view.metric];
    }
    const byRegion = new Map<number, RegionQueries>([[0, local]]);
    for (const segment of view.segments) {
      if (byRegion.has(segment.region)) continue;
      const region = this.memory.regions.region(segment.region);
      const copy: RegionQueries = { f32: 0, f16: 0, q16: 0, info: 0, forms: 0, terms: 0, formInfo: 0, scorers: 0 };
      for (const field of ['f32', 'f16', 'q16', 'info', 'forms', 'terms', 'formInfo', 'scorers'] as const) {
        if (bytes[field] === 0) continue;
        copy[field] = blocks.alloc(region.id, bytes[field]);
        copyBetween(first, local[field], region, copy[field], bytes[field]);
      }
      if (forms === 'winograd') copy.formInfo = copy.info;
      byRegion.set(region.id, copy);
    }
    return { variants, gamma: prefilterGamma(stride4), in: (region) => byRegion.get(region)! };
  }
}

/** A call's queries in one region (0: not prepared). */
interface RegionQueries {
  f32: number;
  f16: number;
  q16: number;
  info: number;
  /** A batch kernel's query forms, terms and quantisation info (asm/batch-dots.ts), and exact scorers. */
  forms: number;
  terms: number;
  formInfo: number;
  scorers: number;
}

/** The queries of a call as each region holds them. */
interface PreparedQueries {
  /** The f16 variant of each query (asm/score-f16.ts; 0 for other dtypes). */
  variants: number[];
  gamma: number;
  in(region: number): RegionQueries;
}

/** f16 kernels' variant for a query: cosine 0; dot 1 when every |q_i| < 2^15 (else 2); l2 3. */
function f16Variant(view: CorpusView, f32: Float32Array, ptr: number, stride4: number): number {
  if (view.metric === 'cosine') return 0;
  if (view.metric === 'l2') return 3;
  const at = ptr >>> 2;
  for (let i = 0; i < stride4; i++) if (Math.abs(f32[at + i]!) >= 32768) return 2;
  return 1;
}

/** The kernel code topKRows takes for a dtype (metric, or the f16 variant). */
function codeOf(view: CorpusView, variant: number): number {
  return view.dtype === 'f16' ? variant : METRIC_CODE[view.metric];
}

/** Bytes a scan reads per row. */
function bytesRead(view: CorpusView, prefilter: boolean): number {
  if (prefilter) return view.prefilterStride;
  return view.stride * (view.dtype === 'f32' ? 4 : view.dtype === 'f16' ? 2 : 1);
}

/** Address of row `start` (a multiple of 4) of a segment's stored rows. */
function rowsAt(view: CorpusView, segment: SegmentView, start: number): number {
  const valueBytes = view.dtype === 'f32' ? 4 : view.dtype === 'f16' ? 2 : 1;
  return segment.data + (start / 4) * view.stride * 4 * valueBytes;
}

/** The scan kernel call of one chunk, writing its scores at `out` (`variant`: the query's, for f16). */
function scanCall(view: CorpusView, q: RegionQueries, variant: number,
  chunk: Chunk, out: number): KernelCall {
  const segment = view.segments[chunk.segment]!;
  const rows = rowsAt(view, segment, chunk.start);
  if (view.dtype === 'f32') return ['scoresF32', METRIC_CODE[view.metric], q.f32, rows, chunk.count, view.stride, out];
  if (view.dtype === 'i8') {
    return ['scoresI8', METRIC_CODE[view.metric], q.q16, q.info, rows, segment.meta + (chunk.start / 4) * 32, chunk.count, view.stride, out];
  }
  return ['scoresF16', variant, q.f16, rows, chunk.count, view.stride, out];
}

/** The mask a segment's kernels read: 0 (every stored row), its live bitmap, or a copy of the call's. */
function maskOf(segment: SegmentView, selection: Selection['segments'][number], blocks: CallBlocks): number {
  if (selection === null || selection === 'none') return 0;
  if (selection === 'live') return segment.live;
  const ptr = blocks.alloc(segment.region, selection.byteLength);
  const region = blocks.regionOf(segment.region);
  region.arena.u32.set(selection, ptr >>> 2);
  return ptr;
}

/**
 * The selected rows cut into `parts` shares of about equal rows, each a list of chunks in
 * position order (chunks start on multiples of 256 rows).
 */
function splitChunks(view: CorpusView, selection: Selection, parts: number): Chunk[][] {
  const chosen = view.segments.map((s, i) => ({ i, rows: s.rows })).filter(({ i, rows }) => rows > 0 && selection.segments[i] !== 'none');
  const total = chosen.reduce((sum, c) => sum + c.rows, 0);
  if (parts <= 1 || total <= BLOCK_ROWS) return [chosen.map(({ i, rows }) => ({ segment: i, start: 0, count: rows }))];
  const out: Chunk[][] = Array.from({ length: parts }, () => []);
  let before = 0;
  for (const { i, rows } of chosen) {
    let start = 0;
    while (start < rows) {
      const part = Math.min(parts - 1, Math.floor(((before + start) * parts) / total));
      const partEnd = Math.ceil(((part + 1) * total) / parts) - before;
      let end = Math.min(rows, Math.max(start + BLOCK_ROWS, Math.round(partEnd / BLOCK_ROWS) * BLOCK_ROWS));
      if (part === parts - 1) end = rows;
      out[part]!.push({ segment: i, start, count: end - start });
      start = end;
    }
    before += rows;
  }
  return out.filter((chunks) => chunks.length > 0);
}

/**
 * The bounds pass of every chunk of `parts` that runs through the prefilter, as a queue for every
 * worker: items of about overlapped.itemBytes of int8 rows, taken as the workers come free, so the one
 * that shares its core with the calling thread (making the selection meanwhile) takes fewer. With
 * a fixed half each, one worker finished up to 15 ms (a third of the call) after the other.
 * Each chunk's buffer (lower bounds, then upper, rounded up to whole panels) goes into `bounds`.
 */
function boundsQueue(view: CorpusView, parts: Chunk[][], k: number, prepared: PreparedQueries, blocks: CallBlocks,
  bounds: Map<Chunk, { pre: number; preUpper: number }>): SharedQueue {
  const items: RegionCalls[] = [];
  const itemRows = Math.max(BLOCK_ROWS, Math.floor(overlapped.itemBytes / view.prefilterStride / BLOCK_ROWS) * BLOCK_ROWS);
  for (const chunk of parts.flat()) {
    const segment = view.segments[chunk.segment]!;
    if (segment.prefilter === 0 || k * PREFILTER_ROWS_PER_K > chunk.count) continue;
    const region = segment.region;
    const q = prepared.in(region);
    const rows4 = Math.ceil(chunk.count / 4) * 4;
    const pre = blocks.alloc(region, rows4 * 8);
    bounds.set(chunk, { pre, preUpper: pre + rows4 * 4 });
    for (let at = 0; at < chunk.count; at += itemRows) {
      const panel = (chunk.start + at) / 4;
      items.push({ region, calls: [['prefilterBounds', METRIC_CODE[view.metric], q.q16, q.info, prepared.gamma, view.stride,
        segment.prefilter + panel * view.prefilterStride * 4, segment.prefilterMeta + panel * 64,
        view.prefilterStride, Math.min(itemRows, chunk.count - at), pre + at * 4, pre + rows4 * 4 + at * 4]] });
    }
  }
  const region = items[0]?.region ?? view.segments[0]!.region;
  return { region, at: blocks.alloc(region, QUEUE_WORDS_BYTES), items };
}

/** A part's chunks grouped by region, in order. */
function groupByRegion(view: CorpusView, chunks: Chunk[]): Array<{ region: number; chunks: Chunk[] }> {
  const groups: Array<{ region: number; chunks: Chunk[] }> = [];
  for (const chunk of chunks) {
    const region = view.segments[chunk.segment]!.region;
    const last = groups[groups.length - 1];
    if (last && last.region === region) last.chunks.push(chunk);
    else groups.push({ region, chunks: [chunk] });
  }
  return groups;
}

/** A top-k heap in WASM memory: k scores, k positions, its size. */
interface Heap {
  region: number;
  k: number;
  scores: number;
  positions: number;
  state: number;
}

/** The k best entries of several heaps: higher score first, ties to the lower position. */
function mergeHeaps(memory: CpuMemory, heaps: Heap[], k: number): PositionTopK {
  const entries: Array<[number, number]> = [];
  for (const heap of heaps) {
    const { arena } = memory.regions.region(heap.region);
    const size = arena.u32[heap.state >>> 2]!;
    const s = heap.scores >>> 2;
    const p = heap.positions >>> 2;
    for (let i = 0; i < size; i++) entries.push([arena.f32[s + i]!, arena.u32[p + i]!]);
  }
  entries.sort((a, b) => (b[0] - a[0]) || (a[1] - b[1]));
  const size = Math.min(k, entries.length);
  const positions = new Uint32Array(size);
  const scores = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    scores[i] = entries[i]![0];
    positions[i] = entries[i]![1];
  }
  return { positions, scores };
}

/** Copy `bytes` from one region's memory to another's. */
function copyBetween(from: MemoryRegion, src: number, to: MemoryRegion, dst: number, bytes: number): void {
  new Uint8Array(to.memory.buffer, dst, bytes).set(new Uint8Array(from.memory.buffer, src, bytes));
}

/** The blocks one call allocates, in whichever regions, freed together. */
class CallBlocks {
  private readonly memory: CpuMemory;
  private readonly blocks: Array<[number, number]> = [];

  constructor(memory: CpuMemory) {
    this.memory = memory;
  }

  regionOf(id: number): MemoryRegion {
    return this.memory.regions.region(id);
  }

  alloc(region: number, bytes: number): number {
    const ptr = this.regionOf(region).arena.alloc(Math.max(bytes, 4), 'scratch of a search');
    this.blocks.push([region, ptr]);
    return ptr;
  }

  /** `m` empty heaps of k entries, laid out as topKRowsBatch reads them (heap j's arrays at j * k). */
  heaps(region: number, m: number, k: number): Heap[] {
    const scores = this.alloc(region, m * k * 4);
    const positions = this.alloc(region, m * k * 4);
    const states = this.alloc(region, m * 4);
    const u32 = this.regionOf(region).arena.u32;
    u32.fill(0, states >>> 2, (states >>> 2) + m);
    return Array.from({ length: m }, (_, j) => ({ region, k, scores: scores + j * k * 4, positions: positions + j * k * 4, state: states + j * 4 }));
  }

  freeAll(): void {
    for (const [region, ptr] of this.blocks.reverse()) this.regionOf(region).arena.free(ptr);
    this.blocks.length = 0;
  }
}
