// Whether dist/ is the build of the sources as they are now, so that `npm test`, `npm run demo`
// and the bench scripts build only when something changed (`npm run build` always builds).
//   node scripts/build-stamp.mjs clean   remove dist/ (a full build starts from nothing, so no
//                                        file of an earlier layout is left to be packed)
//   node scripts/build-stamp.mjs write   after a successful build: record the sources' hash
//   node scripts/build-stamp.mjs check   exit 0 when dist/ is current, 1 when a build is needed
// The stamp (build/stamp.json, not packed) holds a SHA-256 over the path and bytes of every
// input: content, not mtimes, so a checkout or a copy that keeps or resets times cannot fool it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'build', 'stamp.json');

/** What the build reads (src/generated/ is written by the build itself). */
const INPUT_DIRS = ['asm', 'kernels', 'src'];
const INPUT_FILES = ['scripts/embed.mjs', 'scripts/copy-assets.mjs', 'scripts/build-browser.mjs', 'tsconfig.json', 'tsconfig.build.json'];
/** What a finished build leaves; a stamp without them means dist/ was removed or damaged. */
const OUTPUTS = ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/cpu/kernels.wasm', 'dist/cpu/kernels-relaxed.wasm', 'dist/browser/hybrid-similarity.js', 'build/kernels.wasm', 'build/kernels-relaxed.wasm'];

function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (relative(root, path) !== join('src', 'generated')) out.push(...filesUnder(path));
    } else if (entry.isFile()) {
      out.push(path);
    }
  }
  return out;
}

function sourcesHash() {
  const files = [...INPUT_DIRS.flatMap((d) => filesUnder(join(root, d))), ...INPUT_FILES.map((f) => join(root, f))]
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0${statSync(join(root, file)).size}\0`);
    hash.update(readFileSync(join(root, file)));
  }
  return hash.digest('hex');
}

const command = process.argv[2];
if (command === 'clean') {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  rmSync(stampFile, { force: true });
} else if (command === 'write') {
  mkdirSync(dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, JSON.stringify({ sources: sourcesHash() }) + '\n');
} else if (command === 'check') {
  let current = false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    current = OUTPUTS.every((f) => existsSync(join(root, f))) && stamp.sources === sourcesHash();
  } catch {
    current = false;
  }
  if (!current) process.stderr.write('build: sources changed since the last build (or none yet): building\n');
  process.exitCode = current ? 0 : 1;
} else {
  process.stderr.write('usage: node scripts/build-stamp.mjs clean | write | check\n');
  process.exitCode = 2;
}
