// Partial top-k: for each query (workgroup_id.y) and each block of BLOCK consecutive scores
// (workgroup_id.x), the K best (score, row) pairs of the block, best first, ties to the lower
// row; only these blocks * K candidates go back to the CPU, which merges them. The block's
// scores are loaded once into workgroup memory (adjacent invocations, adjacent scores); then K
// rounds each find the best remaining entry by a tree over the invocations and mark it taken.
// Blocks with fewer than K rows pad their list with row 0xffffffff.

override WG: u32 = 64u;
override BLOCK: u32 = 1024u;
override K: u32 = 10u;

struct Params {
  rows: u32,          // N: scores per query
  blocks: u32,        // ceil(N / BLOCK)
  queryBase: u32,     // index of this dispatch's first query in `candidates`
  _pad0: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> candidates: array<vec2<u32>>;  // (bits of score, row)
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> block: array<f32, BLOCK>;
var<workgroup> bestScore: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;

const TAKEN: f32 = -3.0;  // below every cosine
const NONE: u32 = 0xffffffffu;

/** (sa, ia) ranks before (sb, ib): higher score, or equal score and lower index. */
fn better(sa: f32, ia: u32, sb: f32, ib: u32) -> bool {
  return sa > sb || (sa == sb && ia < ib);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>) {
  let query = group.y;
  let first = group.x * BLOCK;
  let count = min(BLOCK, params.rows - first);
  let source = query * params.rows + first;
  for (var i = t; i < BLOCK; i += WG) {
    if (i < count) { block[i] = scores[source + i]; } else { block[i] = TAKEN; }
  }
  workgroupBarrier();
  let out = ((params.queryBase + query) * params.blocks + group.x) * K;
  for (var round = 0u; round < K; round++) {
    var s = TAKEN;
    var index = NONE;
    for (var i = t; i < count; i += WG) {
      if (block[i] > TAKEN && better(block[i], i, s, index)) { s = block[i]; index = i; }
    }
    bestScore[t] = s;
    bestIndex[t] = index;
    workgroupBarrier();
    for (var span = WG / 2u; span >= 1u; span >>= 1u) {
      if (t < span && better(bestScore[t + span], bestIndex[t + span], bestScore[t], bestIndex[t])) {
        bestScore[t] = bestScore[t + span];
        bestIndex[t] = bestIndex[t + span];
      }
      workgroupBarrier();
    }
    let winner = bestIndex[0];
    if (t == 0u) {
      if (winner == NONE) {
        candidates[out + round] = vec2<u32>(bitcast<u32>(TAKEN), NONE);
      } else {
        candidates[out + round] = vec2<u32>(bitcast<u32>(bestScore[0]), first + winner);
        block[winner] = TAKEN;
      }
    }
    workgroupBarrier();
  }
}
