import { HybridError } from '../../errors.js';
import { hashNumber, hashString } from './hash.js';

// The keys of one segment's rows, row by row, without a JS object per key: numbers in a
// Float64Array (safe integers are exact there); strings as UTF-8 bytes in one growable buffer with
// each row's end offset and its hash (hashString of the JS string, so a table can rehash and
// compare without decoding).

/** Keys of a segment's rows. */
export interface KeyColumn {
  readonly kind: 'number' | 'string';
  /** Bytes held. */
  readonly bytes: number;
}

export class NumberColumn implements KeyColumn {
  readonly kind = 'number' as const;
  readonly values: Float64Array;
  /**
   * Runs of rows that hold consecutive keys (default keys added in order make one; a compaction
   * one per removed row; an upsert starts one): run i starts at row runRows[i] with key
   * runKeys[i] and ends where the next starts, the last at `runsEnd`. A large filter maps a run's
   * rows to its keys a word at a time, without a lookup per key (src/store/selection.ts). Kept by
   * set(), the only writer; at most capacity / 256 + 1 runs (rows past the last run cost a read
   * each there), so they take at most ~0.05 bytes a row (numeric keys given by the caller, which
   * rarely run, fill them).
   */
  runRows = new Uint32Array(1);
  runKeys = new Float64Array(1);
  runCount = 0;
  /** Rows 0 .. runsEnd-1 lie in runs. */
  runsEnd = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  get bytes(): number {
    return this.values.byteLength + this.runRows.byteLength + this.runKeys.byteLength;
  }

  set(row: number, key: number): void {
    this.values[row] = key;
    if (row < this.runsEnd) {
      // A row written again (after an add was rolled back): the runs end before it.
      this.runsEnd = row;
      while (this.runCount > 0 && this.runRows[this.runCount - 1]! >= row) this.runCount--;
    }
    if (row !== this.runsEnd) return;
    const last = this.runCount - 1;
    if (last >= 0 && key === this.runKeys[last]! + (row - this.runRows[last]!)) {
      this.runsEnd++;
      return;
    }
    if (this.runCount === this.runRows.length) {
      const limit = Math.floor(this.values.length / 256) + 1;
      if (this.runCount >= limit) return;
      const size = Math.min(limit, this.runCount * 2);
      const rows = new Uint32Array(size);
      const keys = new Float64Array(size);
      rows.set(this.runRows);
      keys.set(this.runKeys);
      this.runRows = rows;
      this.runKeys = keys;
    }
    this.runRows[this.runCount] = row;
    this.runKeys[this.runCount] = key;
    this.runCount++;
    this.runsEnd++;
  }

  keyAt(row: number): number {
    return this.values[row]!;
  }

  hashAt(row: number): number {
    return hashNumber(this.values[row]!);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class StringColumn implements KeyColumn {
  readonly kind = 'string' as const;
  private data: Uint8Array;
  private length = 0;
  /** Row r's bytes end at ends[r] (and start at ends[r - 1], or 0). */
  private readonly ends: Uint32Array;
  private readonly hashes: Uint32Array;

  constructor(capacity: number) {
    this.ends = new Uint32Array(capacity);
    this.hashes = new Uint32Array(capacity);
    this.data = new Uint8Array(Math.max(64, capacity * 8));
  }

  get bytes(): number {
    return this.data.byteLength + this.ends.byteLength + this.hashes.byteLength;
  }

  /** Bytes of key text held (UTF-8). */
  get textBytes(): number {
    return this.length;
  }

  /** Append row `row`'s key (rows are set in order: row = the rows set so far). */
  set(row: number, key: string, hash = hashString(key)): void {
    const start = row === 0 ? 0 : this.ends[row - 1]!;
    if (start !== this.length) throw new Error(`StringColumn.set: row ${row} out of order`);
    const room = key.length * 3;
    if (this.length + room > this.data.length) this.grow(this.length + room);
    this.length += encodeString(key, this.data, this.length);
    this.ends[row] = this.length;
    this.hashes[row] = hash;
  }

  /** Append row `row`'s key from another column's UTF-8 bytes and hash (compaction). */
  setBytes(row: number, bytes: Uint8Array, hash: number): void {
    const start = row === 0 ? 0 : this.ends[row - 1]!;
    if (start !== this.length) throw new Error(`StringColumn.setBytes: row ${row} out of order`);
    if (this.length + bytes.length > this.data.length) this.grow(this.length + bytes.length);
    this.data.set(bytes, this.length);
    this.length += bytes.length;
    this.ends[row] = this.length;
    this.hashes[row] = hash;
  }

  /** Forget rows from `row` on (an add that failed). */
  truncate(row: number): void {
    this.length = row === 0 ? 0 : this.ends[row - 1]!;
  }

  keyAt(row: number): string {
    const start = row === 0 ? 0 : this.ends[row - 1]!;
    return decoder.decode(this.data.subarray(start, this.ends[row]!));
  }

  hashAt(row: number): number {
    return this.hashes[row]!;
  }

  /** The UTF-8 bytes of row `row`'s key (a view). */
  bytesAt(row: number): Uint8Array {
    const start = row === 0 ? 0 : this.ends[row - 1]!;
    return this.data.subarray(start, this.ends[row]!);
  }

  /** Whether row `row`'s key is the UTF-8 text `key`. */
  equals(row: number, key: Uint8Array): boolean {
    const start = row === 0 ? 0 : this.ends[row - 1]!;
    const end = this.ends[row]!;
    if (end - start !== key.length) return false;
    const data = this.data;
    for (let i = 0; i < key.length; i++) if (data[start + i] !== key[i]) return false;
    return true;
  }

  private grow(need: number): void {
    const size = Math.max(need, Math.ceil(this.data.length * 1.5));
    if (size > 0xffffffff) {
      throw new HybridError('OUT_OF_MEMORY', `string keys: a segment's keys would need ${size} bytes (limit 4 GiB)`);
    }
    const data = new Uint8Array(size);
    data.set(this.data.subarray(0, this.length));
    this.data = data;
  }
}

/** Write `text` as UTF-8 at out[at..]; returns the bytes written (out has room for 3 per unit). */
export function encodeString(text: string, out: Uint8Array, at: number): number {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    out[at + i] = c;
  }
  if (ascii) return text.length;
  return encoder.encodeInto(text, out.subarray(at)).written;
}
