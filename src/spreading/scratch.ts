// The CPU's working blocks for spreading over one graph, kept between calls so that a call pays
// for what it touches, not for clearing arrays over every node: each kernel (asm/spread.ts) leaves
// `g`, `acc` and `total` zero wherever it is not working, and the call clears what it used.
import type { WasmArena } from '../cpu/arena.js';

/** Per-part result slots of a pooled hop (two u32 each). */
const INFO_SLOTS = 256;

/**
 * Blocks for nodeCount nodes x cols columns: g (this hop's f / fan), acc (push sums, or a pull's
 * next g), total: f32 n x cols, zero between calls; marks (a bit per node, zero between hops);
 * frontier, next, ever, sortTmp (u32 n node lists); counts (the sort's 256 buckets) and info
 * (kernel results, two u32 per part).
 */
export class SpreadScratch {
  readonly cols: number;
  readonly nodes: number;
  g: number;
  acc: number;
  readonly total: number;
  readonly marks: number;
  /** K > 1: a second bitmap (a push's nodes kept in any set) and the list of one set's touched nodes. */
  readonly live: number;
  readonly touched: number;
  frontier: number;
  next: number;
  readonly ever: number;
  readonly sortTmp: number;
  readonly counts: number;
  readonly info: number;
  /** Bytes held. */
  readonly bytes: number;
  private readonly arena: WasmArena;
  private readonly blocks: number[] = [];

  constructor(arena: WasmArena, nodes: number, cols: number) {
    this.arena = arena;
    this.nodes = nodes;
    this.cols = cols;
    const rows = Math.max(16, nodes * cols * 4);
    const list = Math.max(16, nodes * 4);
    const bits = Math.max(16, Math.ceil(nodes / 32) * 4);
    const sizes = [rows, rows, rows, bits, list, list, list, list, 1024, INFO_SLOTS * 8,
      cols > 1 ? bits : 16, cols > 1 ? list : 16];
    try {
      for (const size of sizes) this.blocks.push(arena.alloc(size));
    } catch (error) {
      this.free();
      throw error;
    }
    [this.g, this.acc, this.total, this.marks, this.frontier, this.next, this.ever, this.sortTmp, this.counts, this.info,
      this.live, this.touched] = this.blocks as [number, number, number, number, number, number, number, number, number, number,
      number, number];
    this.bytes = sizes.reduce((a, b) => a + b, 0);
    // Fresh arena blocks hold whatever was there: zero what must start zero.
    arena.f32.fill(0, this.g >>> 2, (this.g + rows) >>> 2);
    arena.f32.fill(0, this.acc >>> 2, (this.acc + rows) >>> 2);
    arena.f32.fill(0, this.total >>> 2, (this.total + rows) >>> 2);
    arena.u32.fill(0, this.marks >>> 2, (this.marks + bits) >>> 2);
    arena.u32.fill(0, this.live >>> 2, (this.live + (cols > 1 ? bits : 16)) >>> 2);
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
