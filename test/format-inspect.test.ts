// `hybrid-similarity inspect FILE` (dist/cli.js): the header and sections of a saved file, every
// checksum verified; exit 1 with INVALID_FILE / IO_ERROR on stderr for a file that is not valid.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { indexToBytes } from '../src/store/format/index.js';
import { makeIndexImage } from './fixtures/format/support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures', 'format', 'v1');
const scratch = mkdtempSync(join(tmpdir(), 'hs-inspect-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const inspect = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'inspect', ...args], { cwd: root, encoding: 'utf8' });

describe('cli inspect', () => {
  it('prints the header and every section of a valid index file, exit 0', async () => {
    const image = makeIndexImage({ dim: 6, metric: 'l2', dtype: 'f16', keyKind: 'default', segmentRows: [9, 4], options: [{ name: 'answer', value: 42, ignorable: false }] });
    const path = join(scratch, 'index.hsf');
    writeFileSync(path, await indexToBytes(image));
    const result = inspect(path);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${path}: hybrid-similarity index file, format version 1, ${readFileSync(path).length} bytes`);
    expect(lines[1]).toBe('  dim 6, metric l2, dtype f16');
    expect(lines[2]).toBe(`  rows 13 (live ${image.header.liveRows}, dead ${13 - image.header.liveRows}) in 2 segments`);
    expect(lines[3]).toBe(`  keys default (next default key ${image.header.nextDefaultKey})`);
    expect(lines[4]).toBe('  options: answer = 42');
    const sections = lines.slice(6, -1).map((l) => l.trim().split(/\s+/));
    expect(sections.map((s) => s[1])).toEqual(['INDEX_HEADER', 'SEGMENT', 'VALUES', 'DEAD', 'NUMBER_KEYS', 'SEGMENT', 'VALUES', 'DEAD', 'NUMBER_KEYS', 'END']);
    // 32 file header + 96 INDEX_HEADER (40 + a 22-byte option, padded) + 56 SEGMENT; 108 bytes of f16 + 4 padding + frame and checksum.
    expect(sections[2]).toEqual(['184', 'VALUES', '0', String(9 * 6 * 2), '144']);
    expect(lines.at(-1)).toBe('valid: 10 sections, every checksum verified');
    expect(result.stderr).toBe('');
  });

  it('a graph fixture, as JSON', () => {
    const result = inspect(join(fixtures, 'graph-6-nodes.hsf'), '--json');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ valid: true, problem: null, file: { kind: 'graph', version: 1 }, graph: { nodeCount: 6, options: [{ name: 'fan', value: 'outDegree', ignorable: false }] } });
    expect(report.sections.map((s: { name: string }) => s.name)).toEqual(['GRAPH_HEADER', 'GRAPH_OFFSETS', 'GRAPH_SOURCES', 'GRAPH_WEIGHTS', 'END']);
  });

  it('a damaged, a truncated, a foreign and a missing file: what is wrong on stderr, exit 1', () => {
    const file = readFileSync(join(fixtures, 'index-f32-default-cosine.hsf'));
    const damaged = Buffer.from(file);
    damaged[200]! ^= 4; // inside segment 0's VALUES
    writeFileSync(join(scratch, 'damaged.hsf'), damaged);
    const bad = inspect(join(scratch, 'damaged.hsf'));
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('INVALID_FILE: checksum mismatch in section VALUES of segment 0 (at byte 160)');
    expect(bad.stdout).toMatch(/dim 5, metric cosine, dtype f32/);
    expect(bad.stdout).not.toMatch(/valid:/);

    writeFileSync(join(scratch, 'cut.hsf'), file.subarray(0, file.length - 5));
    expect(inspect(join(scratch, 'cut.hsf')).stderr).toMatch(/^INVALID_FILE: truncated: the file ends at byte \d+, inside the end of section END/);
    writeFileSync(join(scratch, 'notes.txt'), 'just some text\n');
    const foreign = inspect(join(scratch, 'notes.txt'));
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toMatch(/INVALID_FILE: not a hybrid-similarity file/);
    const missing = inspect(join(scratch, 'missing.hsf'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/IO_ERROR: opening .*missing\.hsf: ENOENT/);
    const none = inspect();
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/inspect needs a file/);
  });
});
