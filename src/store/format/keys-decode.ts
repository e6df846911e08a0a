// NUMBER_KEYS and STRING_KEYS bodies into keys for the sink, in pieces, each key checked.
import type { AlignedViews } from './aligned.js';
import { decodeUtf8 } from './binary.js';
import { invalidFile } from './errors.js';
import type { BodyReader } from './section-reader.js';
import type { FileKeyKind } from './types.js';

const TWO_32 = 2 ** 32;

/**
 * Reads a NUMBER_KEYS body of `rows` keys, handing them to `deliver` in pieces (a reused
 * Float64Array view): each a safe integer, for key kind 'default' below `nextDefaultKey`.
 */
export async function readNumberKeys(
  body: BodyReader, rows: number, kind: FileKeyKind, nextDefaultKey: number, bufferBytes: number, views: AlignedViews,
  where: string, deliver: (keys: Float64Array, firstRow: number) => void | Promise<void>,
): Promise<void> {
  const perPiece = Math.max(1, Math.floor(bufferBytes / 8));
  const keys = new Float64Array(Math.min(perPiece, rows));
  for (let first = 0; first < rows; first += perPiece) {
    const count = Math.min(perPiece, rows - first);
    const words = views.uint32(await body.read(8 * count));
    for (let i = 0; i < count; i++) {
      const high = words[2 * i + 1]!;
      if (high >= 2 ** 21) throw invalidFile(`inconsistent ${where}: key of row ${first + i} is above 2^53 - 1`, 'keys');
      const key = high * TWO_32 + words[2 * i]!;
      if (kind === 'default' && key >= nextDefaultKey) {
        throw invalidFile(`inconsistent ${where}: default key ${key} of row ${first + i} is not below nextDefaultKey ${nextDefaultKey}`, 'keys');
      }
      keys[i] = key;
    }
    await deliver(count === keys.length ? keys : keys.subarray(0, count), first);
  }
}

/**
 * Reads a STRING_KEYS body of `rows` keys, handing them to `deliver` as fresh string arrays of
 * whole keys of at most about `bufferBytes` of UTF-8 each (one longer key alone). The offsets
 * are kept while the bytes are read (4 bytes per row, beyond the one buffer) and checked
 * before any key is read, so that no damaged offset sizes a read.
 */
export async function readStringKeys(
  body: BodyReader, rows: number, bufferBytes: number, views: AlignedViews,
  where: string, deliver: (keys: string[], firstRow: number) => void | Promise<void>,
): Promise<void> {
  const offsetBytes = 4 * (rows + 1);
  if (body.length < offsetBytes) throw invalidFile(`inconsistent ${where}: ${body.length} bytes cannot hold the ${rows + 1} offsets`, 'STRING_KEYS');
  const textBytes = body.length - offsetBytes;
  const offsets = new Uint32Array(rows + 1);
  const perPiece = Math.max(1, Math.floor(bufferBytes / 4));
  for (let first = 0; first <= rows; first += perPiece) {
    const count = Math.min(perPiece, rows + 1 - first);
    offsets.set(views.uint32(await body.read(4 * count)), first);
  }
  if (offsets[0] !== 0) throw invalidFile(`inconsistent ${where}: the first key offset is ${offsets[0]}, not 0`, 'keys');
  for (let r = 0; r < rows; r++) {
    if (offsets[r + 1]! < offsets[r]!) throw invalidFile(`inconsistent ${where}: key offsets decrease at row ${r + 1}`, 'keys');
  }
  if (offsets[rows] !== textBytes) throw invalidFile(`inconsistent ${where}: the key offsets end at ${offsets[rows]}, the section holds ${textBytes} bytes of keys`, 'keys');
  for (let first = 0; first < rows;) {
    let last = first + 1;
    while (last < rows && offsets[last + 1]! - offsets[first]! <= bufferBytes) last++;
    const bytes = await body.read(offsets[last]! - offsets[first]!);
    const keys: string[] = new Array<string>(last - first);
    for (let r = first; r < last; r++) {
      const text = decodeUtf8(bytes.subarray(offsets[r]! - offsets[first]!, offsets[r + 1]! - offsets[first]!));
      if (text === null) throw invalidFile(`inconsistent ${where}: the key of row ${r} is not valid UTF-8`, 'keys');
      keys[r - first] = text;
    }
    await deliver(keys, first);
    first = last;
  }
}
