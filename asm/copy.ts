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

/**
 * Rows first .. first+n-1 of a panel region (`chunks` 16-byte chunks a row) as packed rows of
 * `rowBytes` bytes each at `dst` (the padding of each row dropped): the row-major form a file holds.
 */
export function panelsToPacked(src: usize, first: i32, n: i32, chunks: i32, rowBytes: i32, dst: usize): void {
  const bytes = panelBytesOf(chunks);
  const full = rowBytes >> 4;
  const tail = rowBytes & 15;
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const from = src + <usize>(r >> 2) * bytes + (<usize>(r & 3) << 4);
    const to = dst + <usize>i * <usize>rowBytes;
    for (let c = 0; c < full; c++) v128.store(to + (<usize>c << 4), v128.load(from + (<usize>c << 6)));
    if (tail > 0) memory.copy(to + (<usize>full << 4), from + (<usize>full << 6), <usize>tail);
  }
}

/**
 * Packed rows (`rowBytes` bytes each) at `src` into rows first .. first+n-1 of a panel region
 * (`chunks` chunks a row), zero padded; unused row slots of the last panel written are zeroed.
 */
export function packedToPanels(src: usize, n: i32, rowBytes: i32, dst: usize, first: i32, chunks: i32): void {
  const bytes = panelBytesOf(chunks);
  const full = rowBytes >> 4;
  const tail = rowBytes & 15;
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const to = dst + <usize>(r >> 2) * bytes + (<usize>(r & 3) << 4);
    const from = src + <usize>i * <usize>rowBytes;
    for (let c = 0; c < full; c++) v128.store(to + (<usize>c << 6), v128.load(from + (<usize>c << 4)));
    let c = full;
    if (tail > 0) {
      const at = to + (<usize>c << 6);
      v128.store(at, i32x4.splat(0));
      memory.copy(at, from + (<usize>full << 4), <usize>tail);
      c++;
    }
    for (; c < chunks; c++) v128.store(to + (<usize>c << 6), i32x4.splat(0));
  }
  for (let z = first + n; (z & 3) != 0; z++) {
    const to = dst + <usize>(z >> 2) * bytes + (<usize>(z & 3) << 4);
    for (let c = 0; c < chunks; c++) v128.store(to + (<usize>c << 6), i32x4.splat(0));
  }
}

/**
 * `count` binary16 values at `ptr` read from a file: subnormals are flushed to zero in place (the
 * store keeps none, see score-f16.ts); returns the index of the first infinity or NaN, or -1.
 */
export function checkF16(ptr: usize, count: i32): i32 {
  let bad = -1;
  for (let i = 0; i < count; i++) {
    const at = ptr + (<usize>i << 1);
    const h = load<u16>(at);
    const e = h & 0x7c00;
    if (e == 0x7c00) {
      if (bad < 0) bad = i;
    } else if (e == 0 && (h & 0x3ff) != 0) {
      store<u16>(at, h & 0x8000);
    }
  }
  return bad;
}
