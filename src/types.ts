// Vocabulary shared by the engine, both backends and the store. It imports nothing, so any file
// may import it without forming a loop.

/** Which processor runs a call. */
export type BackendKind = 'cpu' | 'gpu';

/** What a caller may ask for: a fixed backend, or the router's choice. */
export type BackendChoice = 'auto' | BackendKind;

/**
 * How rows sit in WASM memory (asm/layout.ts): `padded` (rows of `stride` floats, zero
 * padding) or `panels` (groups of 4 rows with their 16-byte chunks interleaved, each row padded
 * to `stride`).
 */
export type RowLayout = 'padded' | 'panels';

/**
 * Rows held in the CPU's WASM memory: `rows` rows of `dim` floats at byte address `ptr`;
 * `stride` is dim rounded up to a multiple of 4. Both backends read inputs from here: the CPU
 * in place, the GPU by uploading.
 */
export interface RowBlock {
  readonly ptr: number;
  readonly rows: number;
  readonly dim: number;
  readonly stride: number;
  readonly layout: RowLayout;
}
