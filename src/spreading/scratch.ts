// The CPU's working blocks for spreading over one graph, kept between calls so that a call pays
// for what it touches, not for clearing arrays over every node: each kernel (asm/spread.ts) leaves
// `g`, `acc` and `total` zero wherever it is not working, and the call clears what it used.
import type { WasmArena } from '../cpu/arena.js';

/** Per-part result slots of a pooled hop (u32 each). */
const INFO_SLOTS = 256;

/**
 * Blocks for nodeCount nodes x cols columns: g (this hop's f / fan), acc (push sums, or a pull's
 * next g), total: f32 n x cols, zero between calls; stamp (u32 n, touched marks); frontier, next,
 * ever, sortTmp (u32 n node lists); counts (the sort's 256 buckets) and info (kernel results).
 */
export class SpreadScratch {
  readonly cols: number;
  readonly nodes: number;
  g: number;
  acc: number;
  readonly total: number;
  readonly stamp: number;
  frontier: number;
  next: number;
  readonly ever: number;
  readonly sortTmp: number;
  readonly counts: number;
  readonly info: number;
  /** Bytes held. */
  readonly bytes: number;
  private stampValue = 0;
  private readonly arena: WasmArena;
  private readonly blocks: number[] = [];

  constructor(arena: WasmArena, nodes: number, cols: number) {
    this.arena = arena;
    this.nodes = nodes;
    this.cols = cols;
    const rows = Math.max(16, nodes * cols * 4);
    const list = Math.max(16, nodes * 4);
    const sizes = [rows, rows, rows, list, list, list, list, list, 1024, INFO_SLOTS * 4];
    try {
      for (const size of sizes) this.blocks.push(arena.alloc(size));
    } catch (error) {
      this.free();
      throw error;
    }
    [this.g, this.acc, this.total, this.stamp, this.frontier, this.next, this.ever, this.sortTmp, this.counts, this.info] =
      this.blocks as [number, number, number, number, number, number, number, number, number, number];
    this.bytes = sizes.reduce((a, b) => a + b, 0);
    // Fresh arena blocks hold whatever was there: zero what must start zero.
    arena.f32.fill(0, this.g >>> 2, (this.g + rows) >>> 2);
    arena.f32.fill(0, this.acc >>> 2, (this.acc + rows) >>> 2);
    arena.f32.fill(0, this.total >>> 2, (this.total + rows) >>> 2);
    arena.u32.fill(0, this.stamp >>> 2, (this.stamp + list) >>> 2);
  }

  /** A stamp no node holds yet (the touched mark of one push hop). */
  nextStamp(): number {
    if (this.stampValue === 0xffffffff) {
      this.arena.u32.fill(0, this.stamp >>> 2, (this.stamp >>> 2) + this.nodes);
      this.stampValue = 0;
    }
    return ++this.stampValue;
  }

  /** After a hop: the new g and frontier take the places of the old ones (which are clean). */
  swapFrontier(): void {
    [this.frontier, this.next] = [this.next, this.frontier];
  }

  swapRows(): void {
    [this.g, this.acc] = [this.acc, this.g];
  }

  free(): void {
    for (const ptr of this.blocks.splice(0)) this.arena.free(ptr);
  }
}
