// Row copies between panel regions (compaction, src/store/compaction.ts): any layout of 16-byte
// chunks (layout.ts) and any per-row metadata of `fields` f32x4 groups per panel. Rows are picked by
// a list of row numbers and written one after another from row `first`; unused row slots of the
// last panel written are zeroed.

import { panelBytesOf } from './layout';

/** Copy rows list[0 .. n-1] of `src` to rows first .. first+n-1 of `dst` (`chunks` chunks a row). */
export function copyRows(src: usize, list: usize, n: i32, dst: usize, first: i32, chunks: i32): void {
  const bytes = panelBytesOf(chunks);
  for (let i = 0; i < n; i++) {
    const r = load<u32>(list + (<usize>i << 2));
    const from = src + <usize>(r >> 2) * bytes + (<usize>(r & 3) << 4);
    const o = first + i;
    const to = dst + <usize>(o >> 2) * bytes + (<usize>(o & 3) << 4);
    for (let c = 0; c < chunks; c++) v128.store(to + (<usize>c << 6), v128.load(from + (<usize>c << 6)));
  }
  for (let z = first + n; (z & 3) != 0; z++) {
    const to = dst + <usize>(z >> 2) * bytes + (<usize>(z & 3) << 4);
    for (let c = 0; c < chunks; c++) v128.store(to + (<usize>c << 6), i32x4.splat(0));
  }
}

/** copyRows for per-row metadata: `fields` f32 values per row, stored as f32x4 groups per panel. */
export function copyRowMeta(src: usize, list: usize, n: i32, dst: usize, first: i32, fields: i32): void {
  const bytes = <usize>fields << 4;
  for (let i = 0; i < n; i++) {
    const r = load<u32>(list + (<usize>i << 2));
    const from = src + <usize>(r >> 2) * bytes + (<usize>(r & 3) << 2);
    const o = first + i;
    const to = dst + <usize>(o >> 2) * bytes + (<usize>(o & 3) << 2);
    for (let f = 0; f < fields; f++) store<f32>(to + (<usize>f << 4), load<f32>(from + (<usize>f << 4)));
  }
  for (let z = first + n; (z & 3) != 0; z++) {
    const to = dst + <usize>(z >> 2) * bytes + (<usize>(z & 3) << 2);
    for (let f = 0; f < fields; f++) store<f32>(to + (<usize>f << 4), 0);
  }
}

/** Set `count` u32 at `ptr` to `value` (a call's heaps are emptied by its own parts, so a part can run again). */
export function fillU32(ptr: usize, count: i32, value: u32): void {
  for (let i = 0; i < count; i++) store<u32>(ptr + (<usize>i << 2), value);
}
