// Normalise raw rows stored in panels (see scan.wgsl for the layout and the work split) in
// place: x <- x / |x|, zero rows stay zero. Used by the one-shot matrix call; rows arrive scaled
// by a power of two (asm/normalize.ts), so the f32 sum of squares cannot overflow or vanish.

override WG: u32 = 64u;
override CHUNKS: u32 = 1u;

struct Params {
  rows: u32,
  panels: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> corpus: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> params: Params;

var<workgroup> squares: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32,
        @builtin(workgroup_id) group: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  let perPanel = CHUNKS * 4u;
  for (var p = group.x; p < params.panels; p += groups.x) {
    let base = p * perPanel;
    var sum = 0.0;
    for (var i = t; i < perPanel; i += WG) {
      let v = corpus[base + i];
      sum += dot(v, v);
    }
    squares[t] = sum;
    workgroupBarrier();
    for (var span = WG / 2u; span >= 4u; span >>= 1u) {
      if (t < span) { squares[t] += squares[t + span]; }
      workgroupBarrier();
    }
    for (var i = t; i < perPanel; i += WG) {
      let s = squares[i & 3u];
      if (s > 0.0) { corpus[base + i] = corpus[base + i] * inverseSqrt(s); }
    }
    workgroupBarrier();
  }
}
