// One hop of activation spreading on the GPU (the rule is in asm/spread.ts and DESIGN.md),
// pulled over the graph stored by target: no float atomics, each node's sum in one place.
// K seed sets are K columns (COLS floats per node; column = workgroup/invocation y).
//
// `light`: one invocation per (node, column) for nodes with fewer than HEAVY incoming edges,
// summing them in input order. `heavy`: a workgroup per (high in-degree node, column); its
// invocations stride over the edges and add their partial sums in workgroup memory.
// flags[h] is set when hop h left any non-zero activation; once a hop left none, later hops
// write zeros and skip their sums (the early stop, inside one submission).

override COLS: u32 = 1u;
override FAN: u32 = 0u;      // 0 none, 1 outDegree, 2 sqrtOutDegree
override HEAVY: u32 = 256u;

struct Params {
  nodes: u32,
  hop: u32,            // 1 .. maxHops
  heavyCount: u32,
  _pad0: u32,
  decay: f32,
  threshold: f32,
  maxActivation: f32,
  _pad1: f32,
}

@group(0) @binding(0) var<storage, read> inOffsets: array<u32>;
@group(0) @binding(1) var<storage, read> inSources: array<u32>;
@group(0) @binding(2) var<storage, read> inWeights: array<f32>;
@group(0) @binding(3) var<storage, read> outDegree: array<u32>;
@group(0) @binding(4) var<storage, read> f: array<f32>;
@group(0) @binding(5) var<storage, read_write> fNext: array<f32>;
@group(0) @binding(6) var<storage, read_write> total: array<f32>;
@group(0) @binding(7) var<storage, read_write> flags: array<atomic<u32>>;
@group(0) @binding(8) var<uniform> params: Params;
@group(0) @binding(9) var<storage, read> heavyNodes: array<u32>;

var<workgroup> partial: array<f32, 64>;

/** 1 / fan(u). */
fn fanInverse(u: u32) -> f32 {
  let degree = f32(outDegree[u]);
  if (FAN == 0u || degree == 0.0) { return 1.0; }
  if (FAN == 1u) { return 1.0 / degree; }
  return 1.0 / sqrt(degree);
}

/** f' = c cut at the threshold; total += f' clamped; flag the hop when f' != 0. */
fn finish(i: u32, c: f32) {
  let next = select(0.0, c, abs(c) >= params.threshold);
  fNext[i] = next;
  if (next != 0.0) {
    total[i] = clamp(total[i] + next, 0.0, params.maxActivation);
    atomicOr(&flags[params.hop], 1u);
  }
}

@compute @workgroup_size(64)
fn light(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let column = id.y;
  let frontierDied = params.hop > 1u && atomicLoad(&flags[params.hop - 1u]) == 0u;
  for (var v = id.x; v < params.nodes; v += groups.x * 64u) {
    let i = v * COLS + column;
    if (frontierDied) { fNext[i] = 0.0; continue; }
    let start = inOffsets[v];
    let end = inOffsets[v + 1u];
    if (end - start >= HEAVY) { continue; }
    var sum = 0.0;
    for (var e = start; e < end; e++) {
      let u = inSources[e];
      sum += (f[u * COLS + column] * fanInverse(u)) * inWeights[e];
    }
    finish(i, params.decay * sum);
  }
}

@compute @workgroup_size(64)
fn heavy(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>,
         @builtin(num_workgroups) groups: vec3<u32>) {
  let column = group.y;
  for (var h = group.x; h < params.heavyCount; h += groups.x) {
    let v = heavyNodes[h];
    let start = inOffsets[v];
    let end = inOffsets[v + 1u];
    var sum = 0.0;
    for (var e = start + t; e < end; e += 64u) {
      let u = inSources[e];
      sum += (f[u * COLS + column] * fanInverse(u)) * inWeights[e];
    }
    partial[t] = sum;
    workgroupBarrier();
    for (var span = 32u; span >= 1u; span >>= 1u) {
      if (t < span) { partial[t] += partial[t + span]; }
      workgroupBarrier();
    }
    if (t == 0u) { finish(v * COLS + column, params.decay * partial[0]); }
    workgroupBarrier();
  }
}
