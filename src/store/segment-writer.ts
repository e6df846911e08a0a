import { assertFinite, strideFor } from '../cpu/cpu-memory.js';
import { HybridError } from '../errors.js';
import { i8ScaleIndex, prefilterStrideOf, strideOf } from './dtype.js';
import type { Segment } from './segment.js';
import { METRIC_CODE, type IndexDtype, type Metric } from './types.js';

/** Input rows converted per step: ~1 MiB, so the staging copies stay in L2. */
const STEP_BYTES = 1 << 20;

/** What the rows of one index are. */
export interface RowFormat {
  readonly dim: number;
  readonly dtype: IndexDtype;
  readonly metric: Metric;
}

/**
 * Write `input` (packed f32 rows) into `segment` as rows first .. first + n - 1, in the index's
 * dtype: checked for NaN/Infinity (NON_FINITE naming the position in the caller's array, counted
 * from `inputRow`), normalised for cosine (so the stored rows are unit vectors; dot and l2 rows are
 * stored as given), converted (f16: rounded to binary16; i8: quantised with a scale per row), and
 * their int8 prefilter copy made when the segment keeps one. Nothing is committed: the caller
 * bumps `segment.rows` once every row of a call is written, so a failure leaves the index as it was.
 */
export function writeRows(segment: Segment, format: RowFormat, input: Float32Array, first: number,
  inputRow: number, argument: string): void {
  const { dim, dtype, metric } = format;
  const { arena, kernels } = segment.memoryRegion;
  const region = segment.memoryRegion;
  const n = input.length / dim;
  const stride4 = strideFor(dim);
  const stride = strideOf(dtype, dim);
  const pstride = prefilterStrideOf(dim);
  const cosine = metric === 'cosine';
  const step = Math.max(4, Math.floor(STEP_BYTES / (dim * 4)) & ~3);
  const rowsPerStep = Math.min(n, step);
  const blocks: number[] = [];
  const alloc = (bytes: number) => {
    const ptr = arena.alloc(bytes, 'staging for added rows');
    blocks.push(ptr);
    return ptr;
  };
  try {
    const stage = alloc(rowsPerStep * dim * 4 + 64);
    const scratch = alloc(64);
    // f16 and i8 rows go through f32 panels first; f16 rows come back widened for the prefilter.
    const panels = dtype === 'f32' ? 0 : alloc(Math.ceil((rowsPerStep + 3) / 4) * 4 * stride4 * 4);
    for (let r0 = 0; r0 < n; r0 += step) {
      const count = Math.min(step, n - r0);
      const at = first + r0;
      arena.f32.set(input.subarray(r0 * dim, (r0 + count) * dim), stage >>> 2);
      const target = dtype === 'f32' ? segment.data : panels;
      const targetFirst = dtype === 'f32' ? at : 0;
      if (kernels.toPanels(stage, count, dim, target, targetFirst, stride4, scratch, cosine ? 1 : 0) !== 0) {
        assertFinite(region, stage, count * dim, dim, inputRow + r0, argument);
      }
      if (cosine) kernels.normalizePanelRows(target, targetFirst, count, stride4);
      if (dtype === 'f16') {
        if (kernels.encodeF16Rows(panels, 0, count, stride4, segment.data, at, stride) !== 0) {
          throw outOfRange(input, dim, r0, count, inputRow, argument);
        }
        if (segment.prefilter) kernels.widenF16Panels(segment.data, at, count, stride, panels, 0, stride4);
      } else if (dtype === 'i8') {
        kernels.encodeI8Rows(METRIC_CODE[metric], panels, 0, count, stride4, segment.data, segment.meta, at, stride);
        if (metric === 'l2') assertSquaresFinite(region.arena.f32, segment.meta, at, count, inputRow + r0, argument);
      }
      if (segment.prefilter) {
        const source = dtype === 'f32' ? segment.data : panels;
        kernels.encodePrefilter(source, targetFirst, count, stride4, segment.prefilter, segment.prefilterMeta, at, pstride);
      }
    }
  } finally {
    for (const ptr of blocks.reverse()) arena.free(ptr);
  }
}

/**
 * i8 rows under l2 keep |r|^2 in f32 (asm/score-i8.ts: the score is (|q|^2 - 2t) + |r|^2): a row
 * whose squared length overflows it (|r| above ~1.8e19) would score Infinity - Infinity = NaN,
 * even against itself, so it is INVALID_ARGUMENT, naming the first such row.
 */
function assertSquaresFinite(f32: Float32Array, meta: number, at: number, count: number, inputRow: number, argument: string): void {
  for (let r = 0; r < count; r++) {
    const row = at + r;
    const square = f32[i8ScaleIndex(meta, row) + 4]!;
    if (!Number.isFinite(square)) {
      throw new HybridError('INVALID_ARGUMENT',
        `${argument}: row ${inputRow + r} has a squared length beyond f32 (${square}), which dtype 'i8' with metric 'l2' keeps: ` +
        `scale the rows down (l2 order is unchanged by a common scale)`, argument);
    }
  }
}

/** INVALID_ARGUMENT naming the first value of rows [r0, r0 + count) that binary16 cannot hold. */
function outOfRange(input: Float32Array, dim: number, r0: number, count: number, inputRow: number, argument: string): HybridError {
  for (let i = r0 * dim; i < (r0 + count) * dim; i++) {
    if (Math.abs(input[i]!) >= 65520) {
      const position = inputRow * dim + i;
      return new HybridError('INVALID_ARGUMENT',
        `${argument}[${position}] (row ${Math.floor(position / dim)}, column ${position % dim}) is ${input[i]}: ` +
        `dtype 'f16' holds magnitudes below 65520`, argument);
    }
  }
  return new HybridError('INVALID_ARGUMENT', `${argument}: a value is too large for dtype 'f16'`, argument);
}
