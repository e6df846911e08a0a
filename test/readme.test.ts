// Every ```js example in README.md runs as written, against the built package, and prints what
// its comments say: each `console.log(...) // expected` line is one line of output, `...` standing
// for more digits; text after two spaces is commentary, and `(in Node: X)` gives the Node output
// of an example written for browsers. The command line section names every command, module
// and option of `hybrid-similarity --help`, and no option it lacks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SUITE_MODULES } from '../src/bench/index.js';
import { runGpuTests } from './gpu-setup.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// Inside the package, so that 'hybrid-similarity' resolves to this package (self-reference).
const dir = mkdtempSync(join(root, 'test-results-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The ```js blocks with the heading they are under. */
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => {
  const before = readme.slice(0, m.index);
  const heading = [...before.matchAll(/^#{1,3} (.+)$/gm)].pop()?.[1] ?? '(top)';
  return { heading, code: m[1]! };
});

/** What each console.log line of `code` must print, as a pattern. */
function expectedLines(code: string): RegExp[] {
  const out: RegExp[] = [];
  for (const line of code.split('\n')) {
    const match = /^\s*console\.log\(.*\);\s*\/\/ (.+)$/.exec(line);
    if (!match) continue;
    const comment = match[1]!;
    const text = /\(in Node: (.+)\)/.exec(comment)?.[1] ?? comment.split('  ')[0]!.trim();
    const pattern = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\.\\\.\\\./g, '\\d*');
    out.push(new RegExp(`^${pattern}$`));
  }
  return out;
}

describe('README examples', () => {
  it('there are examples for the tasks, and each says what it prints', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    for (const { heading, code } of blocks) expect(expectedLines(code).length, heading).toBeGreaterThan(0);
  });

  it.each(blocks.map((b, i) => ({ ...b, i })))('"$heading" example $i runs and prints its comments', ({ code, i }) => {
    const needsGpu = code.includes("from 'webgpu'");
    if (needsGpu && !runGpuTests) return;
    const file = join(dir, `example-${i}.mjs`);
    writeFileSync(file, code);
    const env: Record<string, string | undefined> = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
    delete env.HYBRID_SIMILARITY_WARMUP; // as a user runs them: warm-up on
    const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = out.trimEnd().split('\n');
    const expected = expectedLines(code);
    expect(lines.length, out).toBe(expected.length);
    lines.forEach((line, j) => expect(line).toMatch(expected[j]!));
  });
});

describe('README and the command line agree', () => {
  const help = execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), '--help'], { encoding: 'utf8' });
  const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('\n## ', readme.indexOf('## Command line') + 5));
  const optionsOf = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)].map((m) => m[1]!));

  it('every command, module and option of --help is in README, and README names no other option', () => {
    for (const command of ['info', 'bench', 'calibrate', 'plot']) expect(section).toContain(`\`${command}`);
    for (const module of SUITE_MODULES) expect(section, module.name).toContain(`**${module.name}**`);
    const inHelp = optionsOf(help);
    const inReadme = optionsOf(section);
    expect([...inHelp].filter((o) => !inReadme.has(o)), 'in --help, not in README').toEqual([]);
    expect([...inReadme].filter((o) => !inHelp.has(o)), 'in README, not in --help').toEqual([]);
  });

  it('the baseline example saves a baseline before it compares with it', () => {
    const save = section.indexOf('--save-baseline before');
    const compare = section.indexOf('--baseline before');
    expect(save).toBeGreaterThan(0);
    expect(compare).toBeGreaterThan(save);
  });
});
