// Activation spreading on the GPU (the rule and the summation order: asm/spread.ts, DESIGN.md),
// every hop recorded in one submission; each hop chooses its own way on the device:
//
//   plan   reads the frontier of the last hop (its node count and out-edges) and picks the mode:
//          1 sparse (push the frontier: no float atomics, so its targets are marked with u32
//          atomics, which are deterministic, compacted into a list, and pulled into), 2 dense
//          (pull into every node), 0 nothing (the frontier died out: every later dispatch is
//          empty, the early stop). It writes the indirect dispatch sizes of the hop's kernels.
//   mark   (sparse) a workgroup per frontier node: its out-edges' targets, each listed once.
//   size   sizes pull and build to the targets: the marked list, or every node.
//   pull   an invocation per (target, column): its incoming edges in order (ascending source,
//          parallel edges in input order, one f32 add after another), then cut and added up.
//          Dense hops leave nodes with HEAVY or more incoming edges to `heavy`.
//   heavy  (dense) a workgroup per (heavy node, column): 64 edges' terms at a time in parallel
//          into workgroup memory, added in order by one invocation: the same sum, in the same order.
//   build  lists the nodes whose new activation is non-zero (the next frontier) and their
//          out-edges, and clears the marks.
//   clear  zeroes this hop's activations at its frontier (that buffer is the next hop's target).
//
// Activations are kept pre-scaled, g = f / fan(u) (fanInverse comes from the CPU, so both sides
// use the same f32 values). WGSL lets a compiler fuse a multiply into an add (fma) or reassociate;
// `exact` xors a product's bits with a uniform that is 0, so the product must be rounded to f32
// before it is added, as the CPU does, and the sums come out the same bits as the CPU's.
//
// Counters, per hop h (0 = the seeds): [frontier nodes, their out-edges, touched, mode].
// Dispatch sizes, per hop h: 15 u32 (mark, pull, heavy, build, clear; x, y, z each).

override COLS: u32 = 1u;     // floats per node (seed sets, rounded up to 4 when more than 1)
override HEAVY: u32 = 256u;  // in-degree from which a dense hop sums a node with a workgroup

struct Params {
  nodes: u32,
  hop: u32,           // 1 .. maxHops (0: the seeds)
  heavyCount: u32,
  pushLimit: u32,     // auto: push while the frontier's out-edges are at most this
  strategy: u32,      // 0 auto, 1 push, 2 pull
  listCur: u32,       // where this hop's frontier starts in `lists`
  listNext: u32,      // where the next frontier goes
  listTouched: u32,   // where the marked targets go
  zero: u32,          // 0, from a uniform: see `exact`
  seedCount: u32,
  columns: u32,       // seed sets (the y dimension of pull and heavy)
  _pad0: u32,
  decay: f32,
  threshold: f32,
  maxActivation: f32,
  _pad1: f32,
}

@group(0) @binding(0) var<storage, read> inOffsets: array<u32>;
@group(0) @binding(1) var<storage, read> inSources: array<u32>;
@group(0) @binding(2) var<storage, read> inWeights: array<f32>;
@group(0) @binding(3) var<storage, read> outOffsets: array<u32>;
@group(0) @binding(4) var<storage, read> outTargets: array<u32>;
@group(0) @binding(5) var<storage, read> fanInverse: array<f32>;
@group(0) @binding(6) var<storage, read_write> g: array<f32>;
@group(0) @binding(7) var<storage, read_write> gNext: array<f32>;
@group(0) @binding(8) var<storage, read_write> total: array<f32>;
@group(0) @binding(9) var<storage, read_write> lists: array<u32>;
@group(0) @binding(10) var<storage, read_write> marked: array<atomic<u32>>;
@group(0) @binding(11) var<storage, read_write> counters: array<atomic<u32>>;
@group(0) @binding(12) var<storage, read_write> args: array<u32>;
@group(0) @binding(13) var<storage, read> heavyNodes: array<u32>;
@group(0) @binding(14) var<storage, read> seedValues: array<f32>;
@group(0) @binding(15) var<uniform> params: Params;

const MAX_GROUPS: u32 = 65535u;
const ARGS_PER_HOP: u32 = 15u;

/** x, rounded to f32 as it is (no fusing into the add that uses it). */
fn exact(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ params.zero);
}

fn setArgs(at: u32, x: u32, y: u32) {
  args[at] = x;
  args[at + 1u] = y;
  args[at + 2u] = 1u;
}

fn groupsFor(count: u32) -> u32 {
  return min((count + 63u) / 64u, MAX_GROUPS);
}

/** c = decay * sum, cut at the threshold; total and the next g where it is non-zero. */
fn finish(i: u32, v: u32, sum: f32) {
  let c = exact(params.decay * sum);
  let next = select(0.0, c, abs(c) >= params.threshold);
  if (next != 0.0) {
    total[i] = clamp(total[i] + next, 0.0, params.maxActivation);
    gNext[i] = exact(next * fanInverse[v]);
  }
}

/** The seeds (listed at listCur): g = f0 / fan, total = clamp(f0). */
@compute @workgroup_size(64)
fn seed(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = id.x; i < params.seedCount; i += groups.x * 64u) {
    let u = lists[params.listCur + i];
    let s = fanInverse[u];
    for (var c = 0u; c < COLS; c++) {
      let x = seedValues[i * COLS + c];
      g[u * COLS + c] = exact(x * s);
      total[u * COLS + c] = clamp(x, 0.0, params.maxActivation);
    }
  }
}

@compute @workgroup_size(1)
fn plan() {
  let h = params.hop;
  let count = atomicLoad(&counters[(h - 1u) * 4u]);
  let edges = atomicLoad(&counters[(h - 1u) * 4u + 1u]);
  var mode = 0u;
  if (count > 0u) {
    mode = 2u;
    if (params.strategy == 1u || (params.strategy == 0u && edges <= params.pushLimit)) { mode = 1u; }
  }
  atomicStore(&counters[h * 4u + 3u], mode);
  let a = h * ARGS_PER_HOP;
  setArgs(a, select(0u, min(count, MAX_GROUPS), mode == 1u), 1u);
  setArgs(a + 6u, select(0u, min(params.heavyCount, MAX_GROUPS), mode == 2u), params.columns);
  setArgs(a + 12u, groupsFor(count), 1u);
}

@compute @workgroup_size(64)
fn mark(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  let h = params.hop;
  let count = atomicLoad(&counters[(h - 1u) * 4u]);
  for (var i = group.x; i < count; i += groups.x) {
    let u = lists[params.listCur + i];
    let end = outOffsets[u + 1u];
    for (var e = outOffsets[u] + t; e < end; e += 64u) {
      let v = outTargets[e];
      if (atomicExchange(&marked[v], 1u) == 0u) {
        lists[params.listTouched + atomicAdd(&counters[h * 4u + 2u], 1u)] = v;
      }
    }
  }
}

@compute @workgroup_size(1)
fn size() {
  let h = params.hop;
  let mode = atomicLoad(&counters[h * 4u + 3u]);
  var targets = 0u;
  if (mode == 1u) { targets = atomicLoad(&counters[h * 4u + 2u]); }
  if (mode == 2u) { targets = params.nodes; }
  let a = h * ARGS_PER_HOP;
  setArgs(a + 3u, groupsFor(targets), params.columns);
  setArgs(a + 9u, groupsFor(targets), 1u);
}

@compute @workgroup_size(64)
fn pull(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let h = params.hop;
  let sparse = atomicLoad(&counters[h * 4u + 3u]) == 1u;
  var count = params.nodes;
  if (sparse) { count = atomicLoad(&counters[h * 4u + 2u]); }
  let column = id.y;
  for (var i = id.x; i < count; i += groups.x * 64u) {
    var v = i;
    if (sparse) { v = lists[params.listTouched + i]; }
    let start = inOffsets[v];
    let end = inOffsets[v + 1u];
    if (!sparse && end - start >= HEAVY) { continue; }
    var sum = 0.0;
    for (var e = start; e < end; e++) {
      sum = sum + exact(g[inSources[e] * COLS + column] * inWeights[e]);
    }
    finish(v * COLS + column, v, sum);
  }
}

var<workgroup> terms: array<f32, 64>;

@compute @workgroup_size(64)
fn heavy(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>,
         @builtin(num_workgroups) groups: vec3<u32>) {
  let column = group.y;
  for (var h = group.x; h < params.heavyCount; h += groups.x) {
    let v = heavyNodes[h];
    let start = inOffsets[v];
    let end = inOffsets[v + 1u];
    var sum = 0.0;
    for (var first = start; first < end; first += 64u) {
      let e = first + t;
      var term = 0.0;
      if (e < end) { term = exact(g[inSources[e] * COLS + column] * inWeights[e]); }
      terms[t] = term;
      workgroupBarrier();
      if (t == 0u) {
        let m = min(64u, end - first);
        for (var j = 0u; j < m; j++) { sum = sum + terms[j]; }
      }
      workgroupBarrier();
    }
    if (t == 0u) { finish(v * COLS + column, v, sum); }
  }
}

var<workgroup> found: atomic<u32>;
var<workgroup> foundEdges: atomic<u32>;
var<workgroup> foundNodes: array<u32, 64>;
var<workgroup> foundBase: u32;
var<workgroup> targetCount: u32;

@compute @workgroup_size(64)
fn build(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>,
         @builtin(num_workgroups) groups: vec3<u32>) {
  let h = params.hop;
  let mode = atomicLoad(&counters[h * 4u + 3u]);
  if (t == 0u) {
    var targets = 0u;
    if (mode == 1u) { targets = atomicLoad(&counters[h * 4u + 2u]); }
    if (mode == 2u) { targets = params.nodes; }
    targetCount = targets;
  }
  let count = workgroupUniformLoad(&targetCount);
  for (var first = group.x * 64u; first < count; first += groups.x * 64u) {
    let i = first + t;
    if (i < count) {
      var v = i;
      if (mode == 1u) {
        v = lists[params.listTouched + i];
        atomicStore(&marked[v], 0u);
      }
      var live = false;
      for (var c = 0u; c < COLS; c++) { live = live || gNext[v * COLS + c] != 0.0; }
      if (live) {
        foundNodes[atomicAdd(&found, 1u)] = v;
        atomicAdd(&foundEdges, outOffsets[v + 1u] - outOffsets[v]);
      }
    }
    workgroupBarrier();
    if (t == 0u) {
      foundBase = atomicAdd(&counters[h * 4u], atomicLoad(&found));
      atomicAdd(&counters[h * 4u + 1u], atomicLoad(&foundEdges));
    }
    workgroupBarrier();
    if (t < atomicLoad(&found)) { lists[params.listNext + foundBase + t] = foundNodes[t]; }
    workgroupBarrier();
    if (t == 0u) {
      atomicStore(&found, 0u);
      atomicStore(&foundEdges, 0u);
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(64)
fn clear(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let count = atomicLoad(&counters[(params.hop - 1u) * 4u]);
  for (var i = id.x; i < count; i += groups.x * 64u) {
    let u = lists[params.listCur + i];
    for (var c = 0u; c < COLS; c++) { g[u * COLS + c] = 0.0; }
  }
}
