// Keys into NUMBER_KEYS (u64 each) and STRING_KEYS (u32 offsets, then UTF-8) bodies, in pieces
// of bounded size, each key checked on the way (a file this library writes always loads).
import { bytesOf, isWellFormed, utf8Encoder } from './binary.js';
import { invalidImage } from './errors.js';
import type { FileKeyKind } from './types.js';

const TWO_32 = 2 ** 32;

/**
 * NUMBER_KEYS body pieces (8 x rows bytes in all) for `rows` keys: each a non-negative safe
 * integer, for key kind 'default' below `nextDefaultKey`.
 */
export function* numberKeyParts(keys: ArrayLike<number>, rows: number, kind: FileKeyKind, nextDefaultKey: number, pieceBytes: number, field: string): Generator<Uint8Array> {
  const perPiece = Math.max(1, Math.floor(pieceBytes / 8));
  for (let first = 0; first < rows; first += perPiece) {
    const count = Math.min(perPiece, rows - first);
    const words = new Uint32Array(2 * count);
    for (let i = 0; i < count; i++) {
      const key = keys[first + i];
      if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 0) {
        throw invalidImage(`${field}[${first + i}] is ${String(key)}, not a non-negative safe integer`, field);
      }
      if (kind === 'default' && key >= nextDefaultKey) {
        throw invalidImage(`${field}[${first + i}] is ${key}, not below header.nextDefaultKey ${nextDefaultKey}`, field);
      }
      // Little-endian u64 as two u32 words (the host is little-endian, as WebAssembly is).
      words[2 * i] = key % TWO_32;
      words[2 * i + 1] = Math.floor(key / TWO_32);
    }
    yield bytesOf(words);
  }
}

/** The byte layout of a STRING_KEYS body: offsets u32[rows + 1] and the total body length. */
export interface StringKeyLayout {
  readonly offsets: Uint32Array;
  readonly bodyBytes: number;
}

/** UTF-8 length of a well-formed string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    }
    else bytes += 2;
  }
  return bytes;
}

/** Checks `rows` string keys and lays them out; INVALID_ARGUMENT naming the first bad one. */
export function stringKeyLayout(keys: ArrayLike<unknown>, rows: number, field: string): StringKeyLayout {
  const offsets = new Uint32Array(rows + 1);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const key = keys[i];
    if (typeof key !== 'string') throw invalidImage(`${field}[${i}] is not a string`, field);
    if (!isWellFormed(key)) throw invalidImage(`${field}[${i}] has a lone surrogate (not well-formed Unicode: UTF-8 cannot hold it)`, field);
    total += utf8Length(key);
    if (total >= TWO_32) throw invalidImage(`${field}: a segment's string keys take 4 GiB or more of UTF-8`, field);
    offsets[i + 1] = total;
  }
  return { offsets, bodyBytes: 4 * (rows + 1) + total };
}

/** STRING_KEYS body pieces for keys laid out by stringKeyLayout. */
export function* stringKeyParts(keys: ArrayLike<unknown>, layout: StringKeyLayout, pieceBytes: number): Generator<Uint8Array> {
  const offsetBytes = bytesOf(layout.offsets);
  for (let at = 0; at < offsetBytes.length; at += pieceBytes) yield offsetBytes.subarray(at, at + pieceBytes);
  const rows = layout.offsets.length - 1;
  let piece = new Uint8Array(Math.min(pieceBytes, layout.bodyBytes - offsetBytes.length));
  let used = 0;
  for (let i = 0; i < rows; i++) {
    const key = keys[i] as string;
    const length = layout.offsets[i + 1]! - layout.offsets[i]!;
    if (used + length > piece.length) {
      if (used > 0) yield piece.subarray(0, used);
      const left = layout.offsets[rows]! - layout.offsets[i]!;
      piece = new Uint8Array(Math.max(length, Math.min(pieceBytes, left)));
      used = 0;
    }
    const { written } = utf8Encoder.encodeInto(key, piece.subarray(used, used + length));
    if (written !== length) throw invalidImage(`keys[${i}] changed while it was being written`, 'keys');
    used += length;
  }
  if (used > 0) yield piece.subarray(0, used);
}
