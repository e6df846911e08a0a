import { PREFILTER_META_BYTES_PER_ROW, rowBytesOf, strideOf } from './dtype.js';
import type { IndexKeys } from './keys/index-keys.js';
import { MAX_SEGMENT_ROWS } from './keys/index-keys.js';
import type { Segment } from './segment.js';
import type { IndexDtype } from './types.js';

/** What compaction changes in an index. */
export interface CompactionTarget {
  readonly dim: number;
  readonly dtype: IndexDtype;
  /** The index's segments in insertion order (compaction replaces some in place). */
  readonly segments: Segment[];
  readonly keys: IndexKeys;
  /** A new empty segment for `rows` more rows (placed and given a slot). */
  openSegment(rows: number, previous: number): Promise<Segment>;
  /** Free a segment that no longer holds anything (its slot, its GPU copy). */
  retire(segment: Segment): void;
}

/**
 * Rewrite the segments `chosen` picks without their dead rows (Lucene's merge, done in place):
 * each chosen segment's live rows are copied, in order, into new segments (runs of consecutive
 * chosen segments share them), its keys are pointed at their new rows, and only then is it
 * retired. Rows keep their order, so keys() and ties are unchanged. The caller holds the index's
 * write lock (no call reads the segments meanwhile). If a new segment cannot be had (out of
 * memory), the segment being moved stays as it was and compaction stops there: the index is
 * consistent at every step. Returns the rows reclaimed.
 */
export async function compactSegments(target: CompactionTarget, chosen: (segment: Segment) => boolean): Promise<number> {
  const { segments } = target;
  let reclaimed = 0;
  let out: Segment | null = null;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (!chosen(segment)) {
      out = null; // outputs never reach over a segment that stays: rows keep their order
      continue;
    }
    const rows = liveRowsOf(segment);
    const written: Array<{ into: Segment; first: number; count: number }> = [];
    const opened: Segment[] = [];
    try {
      let moved = 0;
      while (moved < rows.length) {
        if (!out || out.room === 0) {
          let rest = rows.length - moved;
          for (let j = i + 1; j < segments.length && chosen(segments[j]!); j++) rest += segments[j]!.liveRows;
          out = await target.openSegment(rest, out?.capacity ?? 0);
          opened.push(out);
          segments.splice(i, 0, out);
          i++;
        }
        const count = Math.min(out.room, rows.length - moved);
        copyInto(target, segment, rows.subarray(moved, moved + count), out);
        written.push({ into: out, first: out.rows, count });
        out.markLive(out.rows, count);
        out.rows += count;
        moved += count;
      }
    } catch (error) {
      // Undo this segment's part: it keeps its rows, the outputs forget the copies.
      for (const { into, first, count } of written.reverse()) {
        into.rows = first;
        const bits = into.liveBits();
        for (let r = first; r < first + count; r++) bits[r >>> 5]! &= ~(1 << (r & 31));
        if (into.keys.kind === 'string') into.keys.truncate(first);
      }
      for (const empty of opened) {
        if (empty.rows > 0) continue;
        segments.splice(segments.indexOf(empty), 1);
        target.retire(empty);
      }
      throw error;
    }
    let at = 0;
    for (const { into, first, count } of written) {
      const base = target.keys.segments.indexOf(into) * MAX_SEGMENT_ROWS + first;
      for (let r = 0; r < count; r++) target.keys.relocateRow(segment, rows[at + r]!, base + r);
      at += count;
    }
    reclaimed += segment.deadRows;
    segments.splice(i, 1);
    i--;
    target.retire(segment);
    // Let the event loop run between segments (the lock keeps calls out meanwhile).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return reclaimed;
}

/** The live rows of a segment, in order. */
function liveRowsOf(segment: Segment): Uint32Array {
  const out = new Uint32Array(segment.liveRows);
  const bits = segment.liveBits();
  let n = 0;
  for (let r = 0; r < segment.rows; r++) if ((bits[r >>> 5]! >>> (r & 31)) & 1) out[n++] = r;
  return out;
}

/**
 * Copy rows `list` of `from` (stored rows, metadata, prefilter copy, keys) to `into` from its row
 * `into.rows` on. Rows in another region go through a copy of the source blocks in `into`'s region.
 */
function copyInto(target: CompactionTarget, from: Segment, list: Uint32Array, into: Segment): void {
  const region = into.memoryRegion;
  const { arena, kernels } = region;
  const first = into.rows;
  const chunks = strideOf(target.dtype, target.dim) / (target.dtype === 'f32' ? 4 : target.dtype === 'f16' ? 8 : 16);
  const pchunks = Math.ceil(target.dim / 16);
  const temporary: number[] = [];
  const local = (ptr: number, bytes: number): number => {
    if (from.region === into.region || ptr === 0) return ptr;
    const copy = arena.alloc(bytes, 'compaction');
    temporary.push(copy);
    new Uint8Array(region.memory.buffer, copy, bytes).set(new Uint8Array(from.memoryRegion.memory.buffer, ptr, bytes));
    return copy;
  };
  const listPtr = arena.alloc(list.length * 4 + 4, 'compaction');
  temporary.push(listPtr);
  try {
    arena.u32.set(list, listPtr >>> 2);
    const rowsBytes = rowBytesOf(target.dtype, target.dim, from.rows);
    kernels.copyRows(local(from.data, rowsBytes), listPtr, list.length, into.data, first, chunks);
    const panels = Math.ceil(from.rows / 4);
    if (from.meta && into.meta) kernels.copyRowMeta(local(from.meta, panels * 32), listPtr, list.length, into.meta, first, 2);
    if (into.prefilter) {
      if (from.prefilter) {
        kernels.copyRows(local(from.prefilter, panels * 4 * pchunks * 16), listPtr, list.length, into.prefilter, first, pchunks);
        kernels.copyRowMeta(local(from.prefilterMeta, panels * 4 * PREFILTER_META_BYTES_PER_ROW), listPtr, list.length,
          into.prefilterMeta, first, 4);
      } else {
        rebuildPrefilter(target, into, first, list.length);
      }
    }
  } finally {
    for (const ptr of temporary.reverse()) arena.free(ptr);
  }
  const keys = from.keys;
  for (let i = 0; i < list.length; i++) {
    const row = list[i]!;
    if (keys.kind === 'string') (into.keys as typeof keys).setBytes(first + i, keys.bytesAt(row), keys.hashAt(row));
    else (into.keys as typeof keys).set(first + i, keys.keyAt(row));
  }
}

/** The prefilter copy of rows [first, first + n) of `into`, from its stored rows (a source without one). */
function rebuildPrefilter(target: CompactionTarget, into: Segment, first: number, n: number): void {
  const { arena, kernels } = into.memoryRegion;
  const stride4 = Math.ceil(target.dim / 4) * 4;
  const pstride = Math.ceil(target.dim / 16) * 16;
  if (target.dtype === 'f32') {
    kernels.encodePrefilter(into.data, first, n, stride4, into.prefilter, into.prefilterMeta, first, pstride);
    return;
  }
  const panels = arena.alloc(Math.ceil((n + 3) / 4) * 4 * stride4 * 4, 'compaction');
  try {
    kernels.widenF16Panels(into.data, first, n, strideOf('f16', target.dim), panels, 0, stride4);
    kernels.encodePrefilter(panels, 0, n, stride4, into.prefilter, into.prefilterMeta, first, pstride);
  } finally {
    arena.free(panels);
  }
}
