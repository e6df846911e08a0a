// Atomic saves (Node): a save that fails, or a process killed at any point of one, leaves the
// earlier file at the path whole and loadable; file system failures are IO_ERROR with the cause;
// temporary files of killed saves are named recognisably, never read by loads, and removed by
// the next save to the same path.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HybridError } from '../src/index.js';
import { writeFileAtomically } from '../src/platform/node.js';
import { indexFileLength, indexToBytes, readIndexImage, saveGraphFile, saveIndexFile, readGraphImage, graphToBytes, type IndexImage } from '../src/store/format/index.js';
import { makeGraphImage, makeIndexImage } from './fixtures/format/support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'hs-save-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const temporaries = (folder: string, name: string) => readdirSync(folder).filter((f) => f.startsWith(`.${name}.`) && f.endsWith('.hs-tmp'));

async function caught(promise: Promise<unknown>): Promise<HybridError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HybridError);
    return error as HybridError;
  }
  throw new Error('no error thrown');
}

describe('saving to a path', () => {
  it('saves, loads back, replaces an earlier file, leaves no temporary file', async () => {
    const folder = join(scratch, 'plain');
    mkdirSync(folder);
    const path = join(folder, 'index.hsf');
    const first = makeIndexImage({ dim: 3, metric: 'l2', dtype: 'f16', keyKind: 'string', segmentRows: [10, 4] });
    const second = makeIndexImage({ dim: 9, metric: 'dot', dtype: 'i8', keyKind: 'number', segmentRows: [30], seed: 9 });
    await saveIndexFile(path, first);
    expect(readFileSync(path).equals(Buffer.from(await indexToBytes(first)))).toBe(true);
    await saveIndexFile(path, second);
    expect(readFileSync(path).equals(Buffer.from(await indexToBytes(second)))).toBe(true);
    expect((await readIndexImage(path)).header).toEqual(second.header);
    const graph = makeGraphImage(50, 3);
    await saveGraphFile(join(folder, 'graph.hsf'), graph);
    expect(Buffer.from(await graphToBytes(await readGraphImage(join(folder, 'graph.hsf')))).equals(Buffer.from(await graphToBytes(graph)))).toBe(true);
    expect(readdirSync(folder).sort()).toEqual(['graph.hsf', 'index.hsf']);
  });

  it('an image the encoder refuses half way: INVALID_ARGUMENT, the earlier file intact, no temporary left', async () => {
    const folder = join(scratch, 'refused');
    mkdirSync(folder);
    const path = join(folder, 'index.hsf');
    const earlier = makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'f32', keyKind: 'default', segmentRows: [5] });
    await saveIndexFile(path, earlier);
    const before = readFileSync(path);
    const bad = makeIndexImage({ dim: 4, metric: 'cosine', dtype: 'f32', keyKind: 'default', segmentRows: [20000, 3] });
    const broken: IndexImage = { header: bad.header, segments: [bad.segments[0]!, { ...bad.segments[1]!, keys: [1, 2] }] };
    const error = await caught(saveIndexFile(path, broken, { pieceBytes: 64 << 10 }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/segments\[1\]\.keys/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(temporaries(folder, 'index.hsf')).toEqual([]);
  });

  it('IO_ERROR with the original error as cause: a missing folder, a folder in the way', async () => {
    const image = makeIndexImage({ dim: 2, metric: 'cosine', dtype: 'f32', keyKind: 'default', segmentRows: [2] });
    const missing = await caught(saveIndexFile(join(scratch, 'no', 'such', 'folder', 'x.hsf'), image));
    expect(missing.code).toBe('IO_ERROR');
    expect((missing.cause as { code?: string }).code).toBe('ENOENT');
    const folder = join(scratch, 'in-the-way');
    mkdirSync(join(folder, 'x.hsf'), { recursive: true });
    writeFileSync(join(folder, 'x.hsf', 'keep'), 'kept');
    const blocked = await caught(saveIndexFile(join(folder, 'x.hsf'), image));
    expect(blocked.code).toBe('IO_ERROR');
    expect(blocked.message).toMatch(/renaming/);
    expect((blocked.cause as { code?: string }).code).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readFileSync(join(folder, 'x.hsf', 'keep'), 'utf8')).toBe('kept');
    expect(temporaries(folder, 'x.hsf')).toEqual([]);
  });

  it('an error thrown by the pieces passes through as it is', async () => {
    const path = join(scratch, 'pieces.bin');
    writeFileSync(path, 'earlier');
    const failing = (async function* () {
      yield new Uint8Array(10);
      throw new RangeError('the store broke');
    })();
    await expect(writeFileAtomically(path, failing)).rejects.toThrow(RangeError);
    expect(readFileSync(path, 'utf8')).toBe('earlier');
    expect(temporaries(scratch, 'pieces.bin')).toEqual([]);
  });
});

/** A child process that saves a 32 MB index to `path`, killing itself after `killAt` bytes ('end': after the last piece, before the fsync), or running until killed from outside. */
function saveInChild(path: string, killAt: number | 'end' | 'never', onStart?: (child: ReturnType<typeof spawn>) => void): Promise<{ signal: string | null; out: string }> {
  const script = `
    import { writeFileAtomically } from ${JSON.stringify(join(root, 'dist', 'platform', 'node.js'))};
    import { encodeIndex } from ${JSON.stringify(join(root, 'dist', 'store', 'format', 'index.js'))};
    const rows = 32768, dim = 256;
    const values = new Float32Array(rows * dim);
    for (let i = 0; i < values.length; i++) values[i] = (i % 1009) / 1009;
    const image = { header: { dim, metric: 'dot', dtype: 'f32', keyKind: 'default', nextDefaultKey: rows, rows, liveRows: rows, segmentCount: 2, options: [] },
      segments: [0, 1].map((s) => ({ rows: rows / 2, values: values.subarray(s * rows / 2 * dim, (s + 1) * rows / 2 * dim), dead: new Uint8Array(rows / 16),
        keys: Float64Array.from({ length: rows / 2 }, (_, i) => s * rows / 2 + i) })) };
    const killAt = ${JSON.stringify(killAt)};
    let written = 0;
    async function* counted() {
      for await (const piece of encodeIndex(image, { pieceBytes: 1 << 20 })) {
        if (typeof killAt === 'number' && written >= killAt) process.kill(process.pid, 'SIGKILL');
        yield piece;
        written += piece.length;
      }
      if (killAt === 'end') process.kill(process.pid, 'SIGKILL');
    }
    process.stdout.write('start\\n');
    await writeFileAtomically(${JSON.stringify(path)}, counted());
    process.stdout.write('done ' + written + '\\n');
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('start\n') && onStart) {
        const start = onStart;
        onStart = undefined;
        start(child);
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${err}`));
      else resolve({ signal, out });
    });
  });
}

describe('a save killed at any point (SIGKILL)', () => {
  it('leaves the earlier file whole and loadable, or the new one whole; the next save removes the leftovers', async () => {
    const folder = join(scratch, 'killed');
    mkdirSync(folder);
    const path = join(folder, 'index.hsf');
    const earlier = makeIndexImage({ dim: 5, metric: 'cosine', dtype: 'i8', keyKind: 'string', segmentRows: [7, 3] });
    await saveIndexFile(path, earlier);
    const before = readFileSync(path);
    const half = { rows: 16384, values: new Uint8Array(0), dead: new Uint8Array(0), keys: [] };
    const total = indexFileLength({ header: { dim: 256, metric: 'dot', dtype: 'f32', keyKind: 'default', nextDefaultKey: 32768, rows: 32768, liveRows: 32768, segmentCount: 2, options: [] }, segments: [half, half] });

    // Killed by itself after exactly so many bytes: before the first write, inside, after the last one.
    for (const killAt of [0, 1 << 20, Math.floor(total / 3), Math.floor(total / 2), total - (1 << 20), 'end'] as const) {
      const { signal } = await saveInChild(path, killAt);
      expect(signal, `killed at ${killAt}`).toBe('SIGKILL');
      expect(readFileSync(path).equals(before), `killed at ${killAt}: the earlier file`).toBe(true);
      expect((await readIndexImage(path)).header).toEqual(earlier.header);
    }
    // Each left its temporary file behind, named as documented, and each next save removed the
    // one before: one is left.
    expect(temporaries(folder, 'index.hsf').length).toBe(1);
    for (const name of temporaries(folder, 'index.hsf')) expect(name).toMatch(/^\.index\.hsf\.\d+\.[0-9a-f]{8}\.hs-tmp$/);

    // The new file, as a save that is not killed writes it.
    let started = 0;
    const done = await saveInChild(join(folder, 'complete.hsf'), 'never', () => { started = performance.now(); });
    const saveMs = performance.now() - started;
    expect(done.out).toMatch(/done/);
    const complete = readFileSync(join(folder, 'complete.hsf'));
    expect(complete.length).toBe(total);

    // Killed from outside after a delay spread over a whole save's time (so also in its fsync,
    // rename or folder fsync): the file at the path is the earlier one or the new one, byte for
    // byte, and loads.
    const seen = { earlier: 0, replaced: 0 };
    const fractions = [0, 0.2, 0.4, 0.6, 0.75, 0.85, 0.9, 0.95, 1, 1.05];
    for (const delayMs of fractions.map((f) => f * saveMs)) {
      await saveIndexFile(path, earlier);
      await saveInChild(path, 'never', (child) => setTimeout(() => child.kill('SIGKILL'), delayMs));
      const now = readFileSync(path);
      if (now.equals(before)) seen.earlier++;
      else {
        expect(now.equals(complete), `killed after ${delayMs} ms: neither the earlier file nor the new one`).toBe(true);
        seen.replaced++;
      }
      expect((await readIndexImage(path)).header.rows).toBe(now.equals(before) ? earlier.header.rows : 32768);
    }
    expect(seen.earlier + seen.replaced).toBe(fractions.length);

    // Loads never read leftovers; the next save removes those of dead processes.
    expect(existsSync(path)).toBe(true);
    await saveIndexFile(path, earlier);
    expect(temporaries(folder, 'index.hsf')).toEqual([]);
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});
