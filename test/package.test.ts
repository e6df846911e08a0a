// The built package as a user gets it: the exports map, the .wasm beside the module (URL
// path), and the inline fallback used from src/.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
});
