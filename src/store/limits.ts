import { DEFAULT_REGION_LIMITS, type RegionLimits } from '../cpu/memory-set.js';
import { bytesPerRow } from './dtype.js';
import { MAX_SEGMENT_ROWS } from './keys/index-keys.js';
import type { IndexDtype } from './types.js';

/** The store's sizes (docs/PERFORMANCE.md "v0.9" measures the choices). */
export interface StoreLimits {
  /** Bytes of stored rows in a full segment. */
  segmentBytes: number;
  /** Smallest segment, and the unit capacities are rounded to (a multiple of 256). */
  segmentRowsUnit: number;
  /** Share of an index's stored rows that are dead past which remove()/upsert() compact it. */
  compactDeadShare: number;
  /** WASM memory regions (src/cpu/memory-set.ts). */
  regions: RegionLimits;
}

/**
 * 64 MiB segments: large enough that per-segment work (a kernel call, a heap merge, a GPU binding)
 * is noise against the scan, small enough to fit one storage binding on every WebGPU device (the
 * spec's minimum maxStorageBufferBindingSize is 128 MiB), to share out evenly across threads, and to
 * keep compaction's extra memory to one segment.
 */
export const DEFAULT_STORE_LIMITS: StoreLimits = {
  segmentBytes: 64 * 1024 * 1024,
  segmentRowsUnit: 256,
  compactDeadShare: 0.25,
  regions: DEFAULT_REGION_LIMITS,
};

/** The limits new engines and indexes use (tests and benchmarks change them through src/testing.ts). */
export const storeLimits: StoreLimits = { ...DEFAULT_STORE_LIMITS, regions: { ...DEFAULT_REGION_LIMITS } };

/** Rows of a full segment for a row format: segmentBytes of rows, a multiple of the unit. */
export function fullSegmentRows(dtype: IndexDtype, dim: number): number {
  const unit = storeLimits.segmentRowsUnit;
  const rows = Math.floor(storeLimits.segmentBytes / bytesPerRow(dtype, dim) / unit) * unit;
  return Math.min(Math.floor(MAX_SEGMENT_ROWS / unit) * unit, Math.max(unit, rows));
}

/**
 * Capacity of the next segment of an index, `pending` rows to place and `previous` the capacity of
 * its last segment (0 if none): small indexes get small segments, each new one at least twice the
 * last, up to a full one (an index of any size wastes at most about half of its last segment).
 */
export function nextCapacity(dtype: IndexDtype, dim: number, pending: number, previous: number): number {
  const unit = storeLimits.segmentRowsUnit;
  const full = fullSegmentRows(dtype, dim);
  return Math.min(full, Math.max(unit, Math.ceil(pending / unit) * unit, 2 * previous));
}
