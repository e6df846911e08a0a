// 32-bit hashes of keys for the key tables: numbers by their two 32-bit halves, strings by their
// UTF-16 code units (no encoding needed to look one up), each finished with murmur3's fmix32 so
// that linear probing sees well-spread low bits.

/** murmur3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a non-negative safe integer. */
export function hashNumber(key: number): number {
  const lo = key >>> 0;
  const hi = Math.floor(key / 4294967296) >>> 0;
  return fmix32(lo ^ Math.imul(hi ^ 0x9e3779b9, 0x85ebca6b));
}

/** Hash of a string (FNV-1a over its UTF-16 code units). */
export function hashString(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}
