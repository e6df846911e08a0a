import type { MemoryRegion } from '../cpu/memory-region.js';
import type { MemorySet } from '../cpu/memory-set.js';
import { NumberColumn, StringColumn } from './keys/key-column.js';
import {
  I8_META_BYTES_PER_ROW, keepsPrefilter, PREFILTER_META_BYTES_PER_ROW, prefilterStrideOf, rowBytesOf,
} from './dtype.js';
import type { IndexDtype, SegmentView } from './types.js';

let nextSegmentId = 1;

/** What every segment of one index shares. */
export interface SegmentSpec {
  readonly dim: number;
  readonly dtype: IndexDtype;
  readonly keyKind: 'number' | 'string';
}

/**
 * A fixed-capacity block of an index's rows in one WASM memory region: the rows as stored (panels
 * of the dtype, asm/layout.ts), i8 metadata or an int8 prefilter copy, a bitmap of live rows, and
 * the rows' keys (in JS, src/store/keys/key-column.ts). Rows are only ever appended after `rows`
 * and never move: a removal clears a bit, compaction writes new segments (src/store/compaction.ts).
 * Every block is reserved at full capacity when the segment opens; the OS backs pages only as
 * rows are written.
 */
export class Segment implements SegmentView {
  readonly id = nextSegmentId++;
  readonly region: number;
  readonly capacity: number;
  readonly data: number;
  readonly meta: number;
  readonly prefilter: number;
  readonly prefilterMeta: number;
  readonly live: number;
  readonly keys: NumberColumn | StringColumn;
  /** WASM bytes this segment reserves. */
  readonly wasmBytes: number;
  rows = 0;
  deadRows = 0;
  private readonly home: MemoryRegion;
  private readonly blocks: number[];
  private freed = false;

  private constructor(home: MemoryRegion, capacity: number, blocks: number[], wasmBytes: number,
    layout: { data: number; meta: number; prefilter: number; prefilterMeta: number; live: number }, keyKind: 'number' | 'string') {
    this.home = home;
    this.region = home.id;
    this.capacity = capacity;
    this.blocks = blocks;
    this.wasmBytes = wasmBytes;
    this.data = layout.data;
    this.meta = layout.meta;
    this.prefilter = layout.prefilter;
    this.prefilterMeta = layout.prefilterMeta;
    this.live = layout.live;
    this.keys = keyKind === 'number' ? new NumberColumn(capacity) : new StringColumn(capacity);
  }

  /** WASM bytes a segment of `capacity` rows reserves. */
  static bytesFor(spec: SegmentSpec, capacity: number): number {
    return blockSizes(spec, capacity).reduce((sum, b) => sum + b, 0);
  }

  /** A new, empty segment of `capacity` rows (a multiple of 32) placed in one of `regions`. */
  static async open(regions: MemorySet, spec: SegmentSpec, capacity: number): Promise<Segment> {
    const sizes = blockSizes(spec, capacity);
    const total = sizes.reduce((sum, b) => sum + b, 0);
    const what = `a segment of ${capacity} rows`;
    const region = await regions.place(total, what);
    const blocks: number[] = [];
    try {
      for (const size of sizes) blocks.push(size > 0 ? region.arena.alloc(size, what) : 0);
    } catch (error) {
      for (const ptr of blocks) if (ptr) region.arena.free(ptr);
      throw error;
    }
    const [data, meta, prefilter, prefilterMeta, live] = blocks as [number, number, number, number, number];
    region.arena.u32.fill(0, live >>> 2, (live >>> 2) + capacity / 32);
    region.storeBytes += total;
    return new Segment(region, capacity, blocks.filter((b) => b !== 0), total, { data, meta, prefilter, prefilterMeta, live }, spec.keyKind);
  }

  /** The region the segment lives in. */
  get memoryRegion(): MemoryRegion {
    return this.home;
  }

  /** Rows still free. */
  get room(): number {
    return this.capacity - this.rows;
  }

  /** Live rows. */
  get liveRows(): number {
    return this.rows - this.deadRows;
  }

  /** The live bitmap as a view of WASM memory (re-read after any allocation: memory may grow). */
  liveBits(): Uint32Array {
    const u32 = this.home.arena.u32;
    return u32.subarray(this.live >>> 2, (this.live >>> 2) + this.capacity / 32);
  }

  isLive(row: number): boolean {
    return ((this.home.arena.u32[(this.live >>> 2) + (row >>> 5)]! >>> (row & 31)) & 1) === 1;
  }

  /** Mark rows [first, first + count) live (they were just written). */
  markLive(first: number, count: number): void {
    const bits = this.liveBits();
    for (let r = first; r < first + count; r++) bits[r >>> 5]! |= 1 << (r & 31);
  }

  /** Mark a live row removed. */
  markDead(row: number): void {
    const bits = this.liveBits();
    bits[row >>> 5]! &= ~(1 << (row & 31));
    this.deadRows++;
  }

  /** Bytes held in JS for the rows' keys. */
  get keyBytes(): number {
    return this.keys.bytes;
  }

  /** Free every block. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const ptr of this.blocks) this.home.arena.free(ptr);
    this.home.storeBytes -= this.wasmBytes;
  }
}

/** Bytes of [rows, i8 metadata, prefilter rows, prefilter metadata, live bitmap] (0: none). */
function blockSizes(spec: SegmentSpec, capacity: number): number[] {
  const panels = Math.ceil(capacity / 4);
  const prefilter = keepsPrefilter(spec.dtype, spec.dim, capacity);
  return [
    rowBytesOf(spec.dtype, spec.dim, capacity),
    spec.dtype === 'i8' ? panels * 4 * I8_META_BYTES_PER_ROW : 0,
    prefilter ? panels * 4 * prefilterStrideOf(spec.dim) : 0,
    prefilter ? panels * 4 * PREFILTER_META_BYTES_PER_ROW : 0,
    Math.ceil(capacity / 32) * 4,
  ];
}
