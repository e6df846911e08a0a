// One query against N corpus rows stored in panels (asm/layout.ts): panel p holds rows 4p..4p+3,
// and vec4 chunk c of row 4p+j is element (p * CHUNKS + c) * 4 + j. A workgroup takes one panel
// at a time: invocation t reads elements t, t + WG, ... of the panel, which are adjacent across
// adjacent invocations (the panel is one contiguous run of CHUNKS * 4 vec4s), and always belong to
// row t % 4. The partial sums of each row are then added in workgroup memory (a tree over the
// invocations with the same t % 4). The order of the additions is fixed, so identical rows get
// identical scores.
//
// With the `subgroups` feature, the first stage of that sum runs in registers instead: each
// subgroup adds its lanes with the same t % 4 by xor shuffles (offsets 4, 8, ... < subgroup
// size), and only one partial per subgroup and row goes through workgroup memory. That needs
// subgroups made of consecutive invocations (lane = t % size), as every implementation seen
// forms them; the kernel checks it once per workgroup and uses the tree when it does not hold.
//
// COSINE = false: rows and query are normalised, score = clamp(dot).
// COSINE = true: rows are raw (scaled by a power of two on the CPU, so f32 sums are safe),
// score = clamp(dot / |row|), 0 for a zero row.
//
// ROW is vec4<f32> or vec4<f16> (an f16 index); products are accumulated in f32.

// #if subgroups
enable subgroups;
// #endif

override WG: u32 = 64u;
override CHUNKS: u32 = 1u;
override COSINE: bool = false;

struct Params {
  rows: u32,        // rows in this binding of the corpus
  panels: u32,      // panels in this binding
  outOffset: u32,   // where this binding's first row goes in `scores`
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> corpus: array<ROW>;
@group(0) @binding(1) var<storage, read> query: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> dots: array<f32, WG>;
var<workgroup> squares: array<f32, WG>;
// #if subgroups
var<workgroup> scattered: atomic<u32>;
// #endif

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
  let inRegisters = workgroupUniformLoad(&scattered) == 0u;
// #else
  let inRegisters = false;
// #endif
  for (var p = group.x; p < params.panels; p += groups.x) {
    let base = p * perPanel;
    var dotSum = 0.0;
    var squareSum = 0.0;
    for (var i = t; i < perPanel; i += WG) {
      let v = vec4<f32>(corpus[base + i]);
      dotSum += dot(v, query[i >> 2u]);
      if (COSINE) { squareSum += dot(v, v); }
    }
    var rowDot = 0.0;
    var rowSquares = 0.0;
    if (inRegisters) {
// #if subgroups
      for (var offset = 4u; offset < size; offset <<= 1u) {
        dotSum += subgroupShuffleXor(dotSum, offset);
        if (COSINE) { squareSum += subgroupShuffleXor(squareSum, offset); }
      }
      if (lane < 4u) {
        dots[(t / size) * 4u + lane] = dotSum;
        squares[(t / size) * 4u + lane] = squareSum;
      }
      workgroupBarrier();
      if (t < 4u) {
        for (var s = 0u; s < WG / size; s++) {
          rowDot += dots[s * 4u + t];
          if (COSINE) { rowSquares += squares[s * 4u + t]; }
        }
      }
// #endif
    } else {
      dots[t] = dotSum;
      squares[t] = squareSum;
      workgroupBarrier();
      for (var span = WG / 2u; span >= 4u; span >>= 1u) {
        if (t < span) {
          dots[t] += dots[t + span];
          if (COSINE) { squares[t] += squares[t + span]; }
        }
        workgroupBarrier();
      }
      if (t < 4u) {
        rowDot = dots[t];
        rowSquares = squares[t];
      }
    }
    let row = p * 4u + t;
    if (t < 4u && row < params.rows) {
      var score = rowDot;
      if (COSINE) {
        score = select(0.0, rowDot / sqrt(rowSquares), rowSquares > 0.0);
      }
      scores[params.outOffset + row] = clamp(score, -1.0, 1.0);
    }
    workgroupBarrier();
  }
}
