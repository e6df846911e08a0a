#!/usr/bin/env bash
# Builds faiss-node (a peer of the benchmark suite) from its npm registry tarball against
# Debian's libfaiss-dev, into .peers/faiss-node/ (ignored by git). faiss-node's own install step
# downloads a prebuilt binary or clones faiss from GitHub; neither is reachable here, so:
#   1. `npm pack faiss-node@VERSION` (the registry tarball: JS wrapper + src/faiss.cc);
#   2. patch the source for faiss 1.7.3 (Debian bookworm): the index type is faiss::Index::idx_t
#      there (faiss::idx_t arrived in 1.7.4); and let add() take a Float32Array (setup speed only);
#   3. drop its install script and prebuild-install, install its two runtime dependencies
#      (bindings, node-addon-api) from the registry with scripts off;
#   4. node-gyp against this Node's own headers (no header download) with a binding.gyp that links
#      the static libfaiss.a, OpenMP and OpenBLAS (what faiss-node's own Linux builds ship; Debian's
#      default reference BLAS is used, and said so, when OpenBLAS cannot be installed);
#   5. check it: an IndexFlatIP over a few rows answers a known top-2.
# Usage: bash scripts/build-faiss-node.sh   (or npm run build:faiss). Needs g++, make, python3,
# libfaiss-dev; installs libopenblas0-pthread with apt-get when run as root and it is missing.
# The benchmark suite (peers module) loads .peers/faiss-node when it is there, and otherwise
# reports faiss-node as missing with the reason. Nothing in `npm ci` or `npm test` runs this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version="${FAISS_NODE_VERSION:-0.5.1}"
out="$root/.peers/faiss-node"
libdir=/usr/lib/x86_64-linux-gnu

fail() { echo "build-faiss-node: $*" >&2; exit 1; }
dpkg -s libfaiss-dev >/dev/null 2>&1 || fail "libfaiss-dev is not installed (apt-get install libfaiss-dev)"
[ -f "$libdir/libfaiss.a" ] || fail "no $libdir/libfaiss.a (libfaiss-dev on x86_64 expected)"
for tool in g++ make python3 npm node; do command -v "$tool" >/dev/null || fail "$tool is needed"; done

openblas="$libdir/openblas-pthread/libopenblas.so.0"
if [ ! -f "$openblas" ] && [ "$(id -u)" = 0 ]; then
  echo "build-faiss-node: installing libopenblas0-pthread (Debian) for faiss's BLAS calls"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null; } \
    || echo "build-faiss-node: could not install OpenBLAS; linking Debian's reference BLAS"
fi
if [ -f "$openblas" ]; then
  blas_libs="\"$openblas\", \"-Wl,-rpath,$libdir/openblas-pthread\""
  blas_name="OpenBLAS (pthread)"
else
  blas_libs="\"-lblas\", \"-llapack\""
  blas_name="reference BLAS"
fi

# This Node's headers: node-gyp would otherwise download them.
nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
[ -f "$nodedir/include/node/common.gypi" ] || fail "no Node headers under $nodedir/include/node"
node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$node_gyp" ] || fail "npm's bundled node-gyp not found ($node_gyp)"

rm -rf "$out"
mkdir -p "$out"
cd "$out"
tarball=$(npm pack "faiss-node@$version" --silent 2>/dev/null | tail -n 1)
[ -f "$tarball" ] || fail "npm pack faiss-node@$version failed"
tar xzf "$tarball" --strip-components=1
rm -f "$tarball"

grep -q 'using idx_t = faiss::idx_t;' src/faiss.cc || fail "faiss-node $version: the idx_t line to patch is not where expected"
if ! grep -q '^using idx_t' /usr/include/faiss/MetricType.h /usr/include/faiss/Index.h 2>/dev/null; then
  sed -i 's/using idx_t = faiss::idx_t;/using idx_t = faiss::Index::idx_t; \/\/ patched for faiss 1.7.3/' src/faiss.cc
fi

# add() also takes a Float32Array, copied straight in: loading 100k x 768 rows through its
# per-element Array path takes ~12 s here. search() is left as it is (it is what gets timed).
node -e '
  const fs = require("fs");
  const file = "src/faiss.cc";
  const source = fs.readFileSync(file, "utf8");
  const at = source.indexOf("Napi::Value add(const Napi::CallbackInfo &info)");
  const check = source.indexOf("if (!info[0].IsArray())", at);
  if (at < 0 || check < 0) throw new Error("faiss-node: add() is not where expected");
  const fast = `if (info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float32_array)
    { // patched by hybrid-similarity: rows from a Float32Array without a per-element conversion
      Napi::Float32Array rows = info[0].As<Napi::Float32Array>();
      if (rows.ElementLength() % index_->d != 0)
      {
        Napi::Error::New(env, "Invalid the given array length.").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      index_->add(rows.ElementLength() / index_->d, rows.Data());
      return env.Undefined();
    }
    `;
  fs.writeFileSync(file, source.slice(0, check) + fast + source.slice(check));
'

node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
  delete p.scripts.install;
  delete p.dependencies["prebuild-install"];
  delete p.devDependencies;
  p.builtBy = "hybrid-similarity scripts/build-faiss-node.sh (against Debian libfaiss-dev)";
  fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");
'
npm install --ignore-scripts --no-audit --no-fund --no-package-lock --silent

cat > binding.gyp <<EOF
{
  "targets": [{
    "target_name": "faiss-node",
    "sources": ["src/faiss.cc"],
    "include_dirs": ["node_modules/node-addon-api"],
    "defines": ["NAPI_VERSION=6", "NAPI_CPP_EXCEPTIONS"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fopenmp", "-O2"],
    "ldflags": ["-fopenmp"],
    "libraries": ["$libdir/libfaiss.a", $blas_libs, "-lgomp"]
  }]
}
EOF
node "$node_gyp" rebuild --nodedir="$nodedir" --jobs="$(nproc)" > build.log 2>&1 || { tail -n 40 build.log >&2; fail "node-gyp failed (.peers/faiss-node/build.log)"; }
echo "{\"version\": \"$version\", \"faiss\": \"$(dpkg-query -W -f='${Version}' libfaiss-dev)\", \"blas\": \"$blas_name\"}" > build-info.json

node -e '
  const faiss = require("./lib/index.js");
  const index = new faiss.IndexFlatIP(2);
  index.add([1, 0, 0, 1]);
  index.add(new Float32Array([0.6, 0.8]));
  const { labels } = index.search([0.8, 0.6], 2);
  if (labels.join() !== "2,0") throw new Error("faiss-node check: top-2 " + labels.join() + ", want 2,0");
'
echo "build-faiss-node: built faiss-node $version against libfaiss-dev $(dpkg-query -W -f='${Version}' libfaiss-dev) with $blas_name in .peers/faiss-node"
