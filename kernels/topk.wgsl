// Partial top-k: for each query (workgroup_id.y) and each block of BLOCK consecutive scores
// (workgroup_id.x), the K best (score, position) pairs of the block, best first, ties to the lower
// position; only these blocks * K candidates go back to the CPU, which merges them. Scores are
// internal (higher is better, any finite value). The block's scores are loaded once into workgroup
// memory as order-preserving u32 keys (adjacent invocations, adjacent scores; -0 counts as +0, as
// f32 comparison does), with key 0 for rows outside the block or, when MASKED, rows whose bit in
// `mask` is clear, and for entries already taken; then K rounds each find the best remaining entry
// by a tree over the invocations and take it. Blocks with fewer than K eligible rows pad their list
// with position 0xffffffff.

override WG: u32 = 64u;
override BLOCK: u32 = 1024u;
override K: u32 = 10u;
override MASKED: bool = false;

struct Params {
  rows: u32,          // N: scores per query
  blocks: u32,        // ceil(N / BLOCK)
  queryBase: u32,     // index of this dispatch's first query in `candidates`
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> candidates: array<vec2<u32>>;  // (bits of score, position)
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> mask: array<u32>;  // bit p: position p may be returned

var<workgroup> block: array<u32, BLOCK>;
var<workgroup> bestKey: array<u32, WG>;
var<workgroup> bestIndex: array<u32, WG>;

const NONE: u32 = 0xffffffffu;

/** An f32 as a u32 that sorts like it (finite values; -0 as +0), never 0. */
fn orderKey(x: f32) -> u32 {
  var bits = bitcast<u32>(x);
  if (bits == 0x80000000u) { bits = 0u; }
  if ((bits & 0x80000000u) != 0u) { return ~bits; }
  return bits | 0x80000000u;
}

/** (ka, ia) ranks before (kb, ib): larger key, or equal key and lower index. */
fn better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>) {
  let query = group.y;
  let first = group.x * BLOCK;
  let count = min(BLOCK, params.rows - first);
  let source = query * params.rows + first;
  for (var i = t; i < BLOCK; i += WG) {
    var key = 0u;
    if (i < count) {
      let position = first + i;
      if (!MASKED || ((mask[position >> 5u] >> (position & 31u)) & 1u) != 0u) { key = orderKey(scores[source + i]); }
    }
    block[i] = key;
  }
  workgroupBarrier();
  let out = ((params.queryBase + query) * params.blocks + group.x) * K;
  for (var round = 0u; round < K; round++) {
    var k = 0u;
    var index = NONE;
    for (var i = t; i < count; i += WG) {
      if (block[i] != 0u && better(block[i], i, k, index)) { k = block[i]; index = i; }
    }
    bestKey[t] = k;
    bestIndex[t] = index;
    workgroupBarrier();
    for (var span = WG / 2u; span >= 1u; span >>= 1u) {
      if (t < span && better(bestKey[t + span], bestIndex[t + span], bestKey[t], bestIndex[t])) {
        bestKey[t] = bestKey[t + span];
        bestIndex[t] = bestIndex[t + span];
      }
      workgroupBarrier();
    }
    let winner = bestIndex[0];
    if (t == 0u) {
      if (winner == NONE) {
        candidates[out + round] = vec2<u32>(0u, NONE);
      } else {
        candidates[out + round] = vec2<u32>(bitcast<u32>(scores[source + winner]), first + winner);
        block[winner] = 0u;
      }
    }
    workgroupBarrier();
  }
}
