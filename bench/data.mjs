// The benchmarks' shared data: seeded uniform values in [-1, 1] (the same stream in every bench,
// so their figures are on the same data) and row normalisation for the peers that need it.

/** A seeded xorshift stream of floats in [-1, 1]. */
export function seededRandom(seed = 0x9e3779b9) {
  let s = seed;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

/** `length` floats from `random`. */
export function fill(random, length) {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = random();
  return a;
}

/** A copy of `rows` (row-major, `dim` values each) with every row scaled to unit length. */
export function normaliseRows(rows, dim) {
  const out = rows.slice();
  for (let o = 0; o < out.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += out[o + j] ** 2;
    const f = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[o + j] *= f;
  }
  return out;
}
