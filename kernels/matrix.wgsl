// M x N scores of queries (padded rows of CHUNKS vec4<f32>s) against rows in panels (see
// scan.wgsl), tiled through workgroup memory. A workgroup of 64 invocations computes a tile of 16
// queries x 64 rows (16 panels); invocation (x, y), x < 16, y < 4, owns the 4 x 4 block of queries
// 4y..4y+3 and the 4 rows of panel x. The value dimension is walked KC groups of 4 values at a
// time: the tile's queries and rows for those values are loaded once into workgroup memory (the
// rows as 16 contiguous runs of KC * 4 vec4s, adjacent invocations loading adjacent vec4s; f16
// rows unpacked on the way), then every invocation does its 16 products per group from there.
// Out-of-range queries, rows and values read as zero; out-of-range outputs are not written.
// KIND 0: f32 rows (one 16-byte word = 4 values); 1: f16 rows (one word = 8 values). METRIC: 0
// cosine (clamped dot of normalised rows), 1 dot, 2 l2 (minus the squared distance).

const KC: u32 = 8u;
const TILE_Q: u32 = 16u;
const TILE_PANELS: u32 = 16u;

/** Groups of 4 values per row (f32: chunks; f16: twice the chunks). */
override CHUNKS: u32 = 1u;
override KIND: u32 = 0u;
override METRIC: u32 = 0u;

struct Params {
  queries: u32,     // M in this dispatch
  rows: u32,        // rows in this binding
  panels: u32,      // panels in this binding
  outOffset: u32,   // column of this binding's first row in the output
  outStride: u32,   // N: output row length
  panelTiles: u32,  // ceil(panels / 16)
  queryTiles: u32,  // ceil(queries / 16)
  queryBase: u32,   // first query of this dispatch in `queries` (output row 0)
}

@group(0) @binding(0) var<storage, read> corpus: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> queryTile: array<vec4<f32>, 128>;  // TILE_Q * KC
var<workgroup> rowTile: array<vec4<f32>, 512>;    // TILE_PANELS * KC * 4

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  // Workgroups stride over the tiles, so any number of rows and queries fits the dispatch limit.
  for (var tileY = group.y; tileY < params.queryTiles; tileY += groups.y) {
    for (var tileX = group.x; tileX < params.panelTiles; tileX += groups.x) {
      tile(t, tileX, tileY);
    }
  }
}

fn tile(t: u32, tileX: u32, tileY: u32) {
  let x = t % 16u;
  let y = t / 16u;
  let panel0 = tileX * TILE_PANELS;
  let query0 = tileY * TILE_Q;
  var acc: array<vec4<f32>, 4>;  // acc[i][j]: query 4y+i, row j of panel x
  for (var c0 = 0u; c0 < CHUNKS; c0 += KC) {
    // Queries: 128 vec4s, 2 per invocation.
    for (var e = t; e < TILE_Q * KC; e += 64u) {
      let q = query0 + e / KC;
      let c = c0 + e % KC;
      var v = vec4<f32>(0.0);
      if (q < params.queries && c < CHUNKS) { v = queries[(params.queryBase + q) * CHUNKS + c]; }
      queryTile[e] = v;
    }
    // Rows: 16 panels x KC chunks x 4 rows, 8 per invocation, contiguous per panel.
    for (var e = t; e < TILE_PANELS * KC * 4u; e += 64u) {
      let p = panel0 + e / (KC * 4u);
      let c = c0 + (e / 4u) % KC;
      var v = vec4<f32>(0.0);
      if (p < params.panels && c < CHUNKS) { v = rowValues(p, c, e % 4u); }
      rowTile[e] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < KC; k++) {
      let r0 = rowTile[(x * KC + k) * 4u];
      let r1 = rowTile[(x * KC + k) * 4u + 1u];
      let r2 = rowTile[(x * KC + k) * 4u + 2u];
      let r3 = rowTile[(x * KC + k) * 4u + 3u];
      for (var i = 0u; i < 4u; i++) {
        let q = queryTile[(y * 4u + i) * KC + k];
        if (METRIC == 2u) {
          let d0 = q - r0;
          let d1 = q - r1;
          let d2 = q - r2;
          let d3 = q - r3;
          acc[i] += vec4<f32>(dot(d0, d0), dot(d1, d1), dot(d2, d2), dot(d3, d3));
        } else {
          acc[i] += vec4<f32>(dot(q, r0), dot(q, r1), dot(q, r2), dot(q, r3));
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let q = query0 + y * 4u + i;
    if (q >= params.queries) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let row = (panel0 + x) * 4u + j;
      if (row < params.rows) {
        var score = acc[i][j];
        if (METRIC == 0u) { score = clamp(score, -1.0, 1.0); }
        if (METRIC == 2u) { score = -score; }
        scores[q * params.outStride + params.outOffset + row] = score;
      }
    }
  }
}

/** Values 4c .. 4c+3 of row j of panel p. */
fn rowValues(p: u32, c: u32, j: u32) -> vec4<f32> {
  if (KIND == 0u) { return bitcast<vec4<f32>>(corpus[(p * CHUNKS + c) * 4u + j]); }
  let w = corpus[(p * (CHUNKS / 2u) + c / 2u) * 4u + j];
  if ((c & 1u) == 0u) { return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }
  return vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
}
