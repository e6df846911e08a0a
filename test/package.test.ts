// The built package as a user gets it: the exports map, the .wasm beside the module (URL
// path), and the inline fallback used from src/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createHybrid } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('package', () => {
  it('dist/ loads the .wasm through new URL(..., import.meta.url) and answers', () => {
    expect(existsSync(join(root, 'dist', 'cpu', 'kernels.wasm'))).toBe(true);
    const script = `
      import { createHybrid } from 'hybrid-similarity';
      const hs = await createHybrid({ gpu: null });
      const s = await hs.cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 0, 0, 1, -1, 0]));
      console.log(JSON.stringify({ source: hs.info().cpu.wasmSource, scores: Array.from(s) }));
      await hs.dispose();`;
    // Resolved by package name through the exports map (self-reference), as a user would.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ source: 'url', scores: [1, 0, -1] });
  });

  it('from src/ (no .wasm beside the module) the inline copy is used', async () => {
    const hs = await createHybrid({ gpu: null });
    expect(hs.info().cpu.wasmSource).toBe('inline');
    await hs.dispose();
  });

  it('the exports map points at files that exist, with types', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const main = pkg.exports['.'];
    for (const target of [main.types, main.import, main.default]) expect(existsSync(join(root, target))).toBe(true);
    expect(pkg.type).toBe('module');
  });

  it('the published typings compile in a strict consumer without @webgpu/types or skipLibCheck', () => {
    const dir = join(root, 'test-results-consumer');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    try {
      symlinkSync(root, join(dir, 'node_modules', 'hybrid-similarity'));
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: {
        strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true,
        types: [], lib: ['ES2022'], skipLibCheck: false }, files: ['main.ts'] }));
      writeFileSync(join(dir, 'main.ts'), [
        "import { createHybrid, HybridError, GpuError, type SearchResult, type GpuInfo } from 'hybrid-similarity';",
        'const hs = await createHybrid({ gpu: null, gpuMinBatchSize: 10 });',
        'const index = await hs.createIndex(new Float32Array(8), { dim: 4 });',
        'const r: SearchResult = await index.search(new Float32Array(4), { k: 1 });',
        'const info: GpuInfo | null = hs.info().gpu;',
        "const graph = hs.createGraph({ nodeCount: 2, from: new Uint32Array([0]), to: new Uint32Array([1]) });",
        'const seeds: SeedSet = { nodes: new Uint32Array([0]), values: new Float32Array([1]) };',
        "const totals: Float32Array = await hs.spreadActivation(graph, { seeds, decay: { kind: 'power', exponent: 1 } });",
        "import { presets, parseConfigToml, type SeedSet } from 'hybrid-similarity';",
        "import { registerMetrics } from 'hybrid-similarity/prometheus';",
        'export const used = [r.indices, HybridError, GpuError, info, totals, presets, parseConfigToml, registerMetrics, hs.metrics()];',
      ].join('\n'));
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The files `npm pack` would put in the tarball (no build: --ignore-scripts packs dist/ as built). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // The whole of stdout is the JSON report: nothing else may be printed there.
  const report = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return report[0]!.files.map((f) => f.path).sort();
}

describe('the packed package', () => {
  const files = packedFiles();
  const text = (path: string) => readFileSync(join(root, path), 'utf8');

  it('holds the entry points, the kernels, LICENSE and README, and nothing else', () => {
    const pkg = JSON.parse(text('package.json'));
    const targets = new Set<string>(['LICENSE', 'README.md', 'package.json', pkg.main, pkg.types, ...Object.values(pkg.bin as Record<string, string>)]);
    for (const entry of Object.values(pkg.exports as Record<string, unknown>)) {
      for (const target of typeof entry === 'string' ? [entry] : Object.values(entry as Record<string, string>)) targets.add(target);
    }
    for (const target of Object.values(pkg.imports['#platform'] as Record<string, string>)) targets.add(target);
    targets.add('dist/cpu/kernels.wasm').add('dist/browser/kernels.wasm');
    for (const target of targets) expect(files, target).toContain(target.replace(/^\.\//, ''));
    const outside = files.filter((f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f));
    expect(outside).toEqual([]);
    // No test hooks, build stamps or TypeScript sources; every .js has its .d.ts and its map.
    expect(files.filter((f) => /testing|stamp|tsbuildinfo|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    for (const js of files.filter((f) => f.endsWith('.js') && !f.startsWith('dist/browser/'))) {
      expect(files, js).toContain(js.replace(/\.js$/, '.d.ts'));
      expect(files, js).toContain(`${js}.map`);
    }
    expect(text('LICENSE')).toMatch(/^MIT License/);
    expect(JSON.parse(text('package.json')).license).toBe('MIT');
  });

  it('source maps carry their sources (nothing points at src/, which is not packed)', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(40);
    for (const file of maps) {
      const map = JSON.parse(text(file)) as { sources: string[]; sourcesContent?: Array<string | null> };
      expect(map.sourcesContent?.length, file).toBe(map.sources.length);
      map.sourcesContent!.forEach((content, i) => expect(content, `${file}: ${map.sources[i]}`).toBeTruthy());
    }
  });

  it('no packed file refers to a file that is not in the package', () => {
    const unshipped = /DESIGN\.md|STYLE\.md|tuning guide|seeds\/|\.\.\/shared\b/i;
    for (const file of files.filter((f) => /\.(js|ts|md|json)$/.test(f) && !f.endsWith('.map'))) {
      const body = text(file);
      const hit = unshipped.exec(body);
      expect(hit && `${file}: ...${body.slice(Math.max(0, hit.index - 60), hit.index + 40)}...`).toBeNull();
    }
    // Markdown links to relative paths resolve inside the package.
    for (const file of files.filter((f) => f.endsWith('.md'))) {
      for (const [, target] of text(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        const path = join(dirname(file), target!.split('#')[0]!).split('\\').join('/');
        expect(files, `${file} links to ${target}`).toContain(path);
      }
    }
  });
});
