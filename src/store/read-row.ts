import { halfToNumber, i8ScaleIndex, strideOf } from './dtype.js';
import type { Segment } from './segment.js';
import type { IndexDtype } from './types.js';

/**
 * Row `row` of a segment as stored, widened to f32: f32 rows as they are (normalised for cosine),
 * f16 values widened, i8 values times the row's scale (asm/score-i8.ts: s_r q_r for dot and l2, the
 * unit vector q_r / |q_r| that cosine scores against).
 */
export function readRow(segment: Segment, dtype: IndexDtype, dim: number, row: number): Float32Array {
  const region = segment.memoryRegion;
  const out = new Float32Array(dim);
  const chunks = strideOf(dtype, dim) / (dtype === 'f32' ? 4 : dtype === 'f16' ? 8 : 16);
  const at = segment.data + Math.floor(row / 4) * chunks * 64 + (row & 3) * 16;
  if (dtype === 'f32') {
    const f32 = region.arena.f32;
    for (let i = 0; i < dim; i++) out[i] = f32[((at + (i >> 2) * 64) >>> 2) + (i & 3)]!;
  } else if (dtype === 'f16') {
    const u16 = new Uint16Array(region.memory.buffer);
    for (let i = 0; i < dim; i++) out[i] = halfToNumber(u16[((at + (i >> 3) * 64) >>> 1) + (i & 7)]!);
  } else {
    const i8 = new Int8Array(region.memory.buffer);
    const scale = region.arena.f32[i8ScaleIndex(segment.meta, row)]!;
    for (let i = 0; i < dim; i++) out[i] = i8[at + (i >> 4) * 64 + (i & 15)]! * scale;
  }
  return out;
}
