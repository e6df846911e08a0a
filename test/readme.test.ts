// README's usage example runs as written, against the built package, and prints what it says.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the README usage example runs and prints its commented results', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const code = /```js\n([\s\S]*?)```/.exec(usage)?.[1];
  expect(code, 'a ```js block under ## Usage').toBeTruthy();
  // Run from inside the package so 'hybrid-similarity' resolves to this package (self-reference).
  const dir = mkdtempSync(join(root, 'test-results-readme-'));
  try {
    const file = join(dir, 'usage.mjs');
    writeFileSync(file, code!);
    const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/Float32Array\(3\) \[ 1, 0, 0\.7071/);
    expect(lines[1]).toMatch(/Uint32Array\(2\) \[ 0, 2 \] Float32Array\(2\) \[ 0\.98\d*, 0\.83\d* \]/);
    expect(lines[2]).toBe('[ 0, 3 ]');
    expect(lines[3]).toBe('3');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('every other js example in the README runs as written', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  const dir = mkdtempSync(join(root, 'test-results-readme-'));
  try {
    blocks.slice(1).forEach((code, i) => {
      const file = join(dir, `example-${i}.mjs`);
      writeFileSync(file, code);
      const out = execFileSync(process.execPath, [file], {
        cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      });
      if (code.includes('parseConfigToml')) {
        const lines = out.trim().split('\n');
        expect(lines[0]).toBe('32 1.2');
        expect(lines[1]).toBe("{ 'no-gpu': 1 }");
        expect(lines[2]).toMatch(/^hybrid_similarity_decisions_total\{op="cosine",backend="cpu",reason="no-gpu"\} 1$/);
      }
      if (code.includes('prom-client')) expect(out.trim()).toBe('true');
      if (code.includes('presets.batching')) {
        expect(out.trim().split('\n')).toEqual(['2 true', '[ 1, 2, 3 ] [ 0, 1, 2 ]', '{ full: 0, timer: 1 }']);
      }
      if (code.includes('hs.info().platform')) {
        // The bundler example (also built by Vite and run in Chromium: browser.test.ts).
        expect(out.trim().split('\n')).toEqual(['1 2 0.995', 'node url']);
      }
      if (code.includes('spreadActivation')) {
        expect(out.trim().split('\n')).toEqual(['1.0000 0.1241 0.2483 0.0122', '4 true']);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
