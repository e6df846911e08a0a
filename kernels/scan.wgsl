// One query against N corpus rows stored in panels (asm/layout.ts): panel p holds rows 4p..4p+3,
// and vec4 chunk c of row 4p+j is element (p * CHUNKS + c) * 4 + j. A workgroup takes one panel
// at a time: invocation t reads elements t, t + WG, ... of the panel, which are adjacent across
// adjacent invocations (the panel is one contiguous run of CHUNKS * 4 vec4s), and always belong to
// row t % 4. The partial sums of each row are then added in workgroup memory (a tree over the
// invocations with the same t % 4). The order of the additions is fixed, so identical rows get
// identical scores.
//
// COSINE = false: rows and query are normalised, score = clamp(dot).
// COSINE = true: rows are raw (scaled by a power of two on the CPU, so f32 sums are safe),
// score = clamp(dot / |row|), 0 for a zero row.
//
// ROW is vec4<f32> or vec4<f16> (an f16 index); products are accumulated in f32.

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

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32,
        @builtin(workgroup_id) group: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  let perPanel = CHUNKS * 4u;
  for (var p = group.x; p < params.panels; p += groups.x) {
    let base = p * perPanel;
    var dotSum = 0.0;
    var squareSum = 0.0;
    for (var i = t; i < perPanel; i += WG) {
      let v = vec4<f32>(corpus[base + i]);
      dotSum += dot(v, query[i >> 2u]);
      if (COSINE) { squareSum += dot(v, v); }
    }
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
    let row = p * 4u + t;
    if (t < 4u && row < params.rows) {
      var score = dots[t];
      if (COSINE) {
        score = select(0.0, score / sqrt(squares[t]), squares[t] > 0.0);
      }
      scores[params.outOffset + row] = clamp(score, -1.0, 1.0);
    }
    workgroupBarrier();
  }
}
