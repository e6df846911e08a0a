// f32 -> f16 copy of corpus panels (an f16 index's GPU copy): element i of `src` goes to
// element offset + i of `dest`.

enable f16;

struct Params {
  count: u32,
  offset: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dest: array<vec4<f16>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let stride = groups.x * 64u;
  for (var i = id.x; i < params.count; i += stride) {
    dest[params.offset + i] = vec4<f16>(src[i]);
  }
}
