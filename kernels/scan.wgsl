// One query against N rows stored in panels (asm/layout.ts): panel p holds rows 4p..4p+3 as
// CHUNKS 16-byte chunks each, chunk c of row 4p+j is element (p * CHUNKS + c) * 4 + j. A
// workgroup takes one panel at a time: invocation t reads elements t, t + WG, ... of the panel,
// which are adjacent across adjacent invocations (the panel is one contiguous run of CHUNKS * 4
// elements) and always belong to row t % 4. The partial sums of each row are then added in
// workgroup memory (a tree over the invocations with the same t % 4). The order of the additions
// is fixed, so identical rows get identical scores.
//
// With the `subgroups` feature, the first stage of the float sums runs in registers instead: each
// subgroup adds its lanes with the same t % 4 by xor shuffles (offsets 4, 8, ... < subgroup
// size), and only one partial per subgroup and row goes through workgroup memory. That needs
// subgroups made of consecutive invocations (lane = t % size), as every implementation seen forms
// them; the kernel checks it once per workgroup and uses the tree when it does not hold.
//
// Rows and query are read as raw 16-byte words and decoded by KIND:
//   0 f32: 4 floats per chunk; query: 4 floats per chunk.
//   1 f16: 8 IEEE binary16 values per chunk (unpack2x16float: exact); query: 8 floats per chunk.
//   2 i8:  16 int8 values per chunk; query: the 16-bit quantised query (asm/score-i8.ts) as 16
//          i32 per chunk; the integer dot product is exact in any order, then it is scaled by
//          params.queryScale and the row's metadata exactly as the CPU does, in the same order.
// METRIC (internal scores, higher is better, as the CPU kernels): 0 cosine of normalised rows,
// clamp(dot); 1 dot; 2 l2, -sum (q - r)^2; 3 the one-shot cosine of raw rows (scaled by a power of
// two on the CPU, so f32 sums are safe): clamp(dot / |row|), 0 for a zero row.

// #if subgroups
enable subgroups;
// #endif

override WG: u32 = 64u;
override CHUNKS: u32 = 1u;
override KIND: u32 = 0u;
override METRIC: u32 = 0u;

struct Params {
  rows: u32,          // rows in this segment (or binding)
  panels: u32,        // panels in it
  outOffset: u32,     // where its first row goes in `scores`
  queryOffset: u32,   // the query's first 16-byte word in `query`
  queryScale: f32,    // i8: s_q
  querySquares: f32,  // i8 l2: |q|^2
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> corpus: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> query: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> rowMeta: array<vec4<f32>>;

var<workgroup> dots: array<f32, WG>;
var<workgroup> squares: array<f32, WG>;
var<workgroup> integers: array<i32, WG>;
// #if subgroups
var<workgroup> scattered: atomic<u32>;
// #endif

fn q4(i: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(query[params.queryOffset + i]);
}

/** The exact integer dot product of 16 int8 values (one word) with their 16 query integers. */
fn dotI8(w: vec4<u32>, c: u32) -> i32 {
  var sum = 0;
  for (var l = 0u; l < 4u; l++) {
    let word = bitcast<i32>(w[l]);
    let q = bitcast<vec4<i32>>(query[params.queryOffset + c * 4u + l]);
    sum += extractBits(word, 0u, 8u) * q.x + extractBits(word, 8u, 8u) * q.y
         + extractBits(word, 16u, 8u) * q.z + extractBits(word, 24u, 8u) * q.w;
  }
  return sum;
}

/** acc + one 4-value pair for the metric (dot, or the squared difference for l2). */
fn accumulate(acc: f32, x: vec4<f32>, v: vec4<f32>) -> f32 {
  if (METRIC == 2u) {
    let d = x - v;
    return acc + dot(d, d);
  }
  return acc + dot(x, v);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32,
// #if subgroups
        @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) size: u32,
// #endif
        @builtin(workgroup_id) group: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  let perPanel = CHUNKS * 4u;
// #if subgroups
  if (!subgroupAll(t % size == lane && size >= 4u && WG % size == 0u)) { atomicOr(&scattered, 1u); }
  let inRegisters = workgroupUniformLoad(&scattered) == 0u && KIND != 2u;
// #else
  let inRegisters = false;
// #endif
  for (var p = group.x; p < params.panels; p += groups.x) {
    let base = p * perPanel;
    var dotSum = 0.0;
    var squareSum = 0.0;
    var intSum = 0;
    for (var i = t; i < perPanel; i += WG) {
      let w = corpus[base + i];
      let c = i >> 2u;
      if (KIND == 0u) {
        let v = bitcast<vec4<f32>>(w);
        dotSum = accumulate(dotSum, q4(c), v);
        if (METRIC == 3u) { squareSum += dot(v, v); }
      } else if (KIND == 1u) {
        let lo = vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
        let hi = vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
        dotSum = accumulate(accumulate(dotSum, q4(2u * c), lo), q4(2u * c + 1u), hi);
      } else {
        intSum += dotI8(w, c);
      }
    }
    var rowDot = 0.0;
    var rowSquares = 0.0;
    var rowInt = 0;
    if (inRegisters) {
// #if subgroups
      for (var offset = 4u; offset < size; offset <<= 1u) {
        dotSum += subgroupShuffleXor(dotSum, offset);
        if (METRIC == 3u) { squareSum += subgroupShuffleXor(squareSum, offset); }
      }
      if (lane < 4u) {
        dots[(t / size) * 4u + lane] = dotSum;
        squares[(t / size) * 4u + lane] = squareSum;
      }
      workgroupBarrier();
      if (t < 4u) {
        for (var s = 0u; s < WG / size; s++) {
          rowDot += dots[s * 4u + t];
          if (METRIC == 3u) { rowSquares += squares[s * 4u + t]; }
        }
      }
// #endif
    } else {
      dots[t] = dotSum;
      squares[t] = squareSum;
      integers[t] = intSum;
      workgroupBarrier();
      for (var span = WG / 2u; span >= 4u; span >>= 1u) {
        if (t < span) {
          dots[t] += dots[t + span];
          if (METRIC == 3u) { squares[t] += squares[t + span]; }
          if (KIND == 2u) { integers[t] += integers[t + span]; }
        }
        workgroupBarrier();
      }
      if (t < 4u) {
        rowDot = dots[t];
        rowSquares = squares[t];
        rowInt = integers[t];
      }
    }
    let row = p * 4u + t;
    if (t < 4u && row < params.rows) {
      var score = rowDot;
      if (KIND == 2u) {
        let scaled = (f32(rowInt) * params.queryScale) * rowMeta[p * 2u][t];
        score = scaled;
        if (METRIC == 2u) {
          score = -max((params.querySquares - (scaled + scaled)) + rowMeta[p * 2u + 1u][t], 0.0);
        }
      } else if (METRIC == 2u) {
        score = -rowDot;
      } else if (METRIC == 3u) {
        score = select(0.0, rowDot / sqrt(rowSquares), rowSquares > 0.0);
      }
      if (METRIC == 0u || METRIC == 3u) { score = clamp(score, -1.0, 1.0); }
      scores[params.outOffset + row] = score;
    }
    workgroupBarrier();
  }
}
