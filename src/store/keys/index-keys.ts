import { HybridError } from '../../errors.js';
import { describe } from '../../validate.js';
import { isWellFormed } from '../format/binary.js';
import type { Segment } from '../segment.js';
import type { Key, KeyKind } from '../types.js';
import { encodeString, type NumberColumn, type StringColumn } from './key-column.js';
import { hashNumber, hashString } from './hash.js';
import { DenseKeyTable, KeyTable, NumberKeyTable, type KeySource } from './key-table.js';

/** Largest key a default-key index takes (its results carry `indices`, a Uint32Array). */
const MAX_DEFAULT_KEY = 0xfffffffe;
/** Rows per segment are below 2^20; a location is slot * 2^20 + row. */
export const ROW_BITS = 20;
export const MAX_SEGMENT_ROWS = 1 << ROW_BITS;
export const MAX_SLOTS = 4094;

/** Validated keys of one call: numbers (exact in a Float64Array) or strings. */
export type KeyList = { kind: 'number'; values: Float64Array } | { kind: 'string'; values: string[] };

/**
 * An index's keys: their kind, the table from key to row location (slot of the segment in
 * `segments`, row), and the next default key. Default keys count on from where they were (after a
 * removal, a compaction or a load too): a key is never reused unasked.
 */
export class IndexKeys {
  readonly kind: KeyKind;
  /** Segments by slot (a location's high bits). */
  readonly segments: Array<Segment | undefined> = [];
  /** Numeric keys: each slot's key column (read directly by NumberKeyTable). */
  private readonly columns: Array<Float64Array | undefined> = [];
  nextKey = 0;
  private table: KeyTable<number> | KeyTable<Uint8Array> | DenseKeyTable;
  private readonly numberSource: KeySource<number> | undefined;
  private scratch = new Uint8Array(256);

  constructor(kind: KeyKind) {
    this.kind = kind;
    const segments = this.segments;
    if (kind === 'string') {
      const source: KeySource<Uint8Array> = {
        hashAt: (location) => (segments[location >>> ROW_BITS]!.keys as StringColumn).hashAt(location & (MAX_SEGMENT_ROWS - 1)),
        equals: (location, key) => (segments[location >>> ROW_BITS]!.keys as StringColumn).equals(location & (MAX_SEGMENT_ROWS - 1), key),
      };
      this.table = new KeyTable(source);
      this.numberSource = undefined;
    } else {
      const source: KeySource<number> = {
        hashAt: (location) => hashNumber((segments[location >>> ROW_BITS]!.keys as NumberColumn).keyAt(location & (MAX_SEGMENT_ROWS - 1))),
        equals: (location, key) => (segments[location >>> ROW_BITS]!.keys as NumberColumn).keyAt(location & (MAX_SEGMENT_ROWS - 1)) === key,
      };
      this.numberSource = source;
      this.table = kind === 'default' ? new DenseKeyTable() : new NumberKeyTable(this.columns, source);
    }
  }

  /**
   * Default keys are held in a DenseKeyTable while it stays dense: a key given by the caller far
   * above the keys held (or a long history of removed keys) moves them to a hash table.
   */
  private denseFits(end: number, more = 0): boolean {
    return end <= 4 * (this.table.size + more) + (1 << 20);
  }

  private toHashTable(): void {
    const dense = this.table as DenseKeyTable;
    const table = new NumberKeyTable(this.columns, this.numberSource!);
    table.reserve(dense.size);
    for (const [key, location] of dense.entries()) table.insert(hashNumber(key), location);
    this.table = table;
  }

  /** Keys held. */
  get size(): number {
    return this.table.size;
  }

  /** Default keys held densely: key -> location (EMPTY_LOCATION where none), else null. Read only. */
  get denseLocations(): Uint32Array | null {
    return this.table instanceof DenseKeyTable ? this.table.locations : null;
  }

  /** Bytes of the table (the keys themselves are counted with their segments). */
  get tableBytes(): number {
    return this.table.bytes;
  }

  /** A free slot for a new segment. */
  addSegment(segment: Segment): number {
    let slot = this.segments.indexOf(undefined);
    if (slot < 0) slot = this.segments.length;
    if (slot >= MAX_SLOTS) throw new HybridError('OUT_OF_MEMORY', `an index holds at most ${MAX_SLOTS} segments`);
    this.segments[slot] = segment;
    this.columns[slot] = segment.keys.kind === 'number' ? segment.keys.values : undefined;
    return slot;
  }

  removeSegment(slot: number): void {
    this.segments[slot] = undefined;
    this.columns[slot] = undefined;
    while (this.segments.length > 0 && this.segments[this.segments.length - 1] === undefined) {
      this.segments.pop();
      this.columns.pop();
    }
  }

  /** The location (slot * 2^20 + row) of `key`, or -1. `key` must be of this index's kind. */
  find(key: Key): number {
    const table = this.table;
    if (table instanceof DenseKeyTable) return table.find(key as number);
    if (this.kind === 'string') return (table as KeyTable<Uint8Array>).find(this.utf8(key as string), hashString(key as string));
    return (table as KeyTable<number>).find(key as number, hashNumber(key as number));
  }

  /** Record a key (absent before) at a location. */
  insert(key: Key, location: number): void {
    const table = this.table;
    if (table instanceof DenseKeyTable) {
      if (this.denseFits((key as number) + 1)) {
        table.insert(key as number, location);
        return;
      }
      this.toHashTable();
    }
    (this.table as KeyTable<number>).insert(this.hashOf(key), location);
  }

  /** Point a held key at a new location. */
  relocate(key: Key, location: number): void {
    const table = this.table;
    const ok = table instanceof DenseKeyTable ? table.relocate(key as number, location)
      : this.kind === 'string'
        ? (table as KeyTable<Uint8Array>).relocate(this.utf8(key as string), hashString(key as string), location)
        : (table as KeyTable<number>).relocate(key as number, hashNumber(key as number), location);
    if (!ok) throw new Error(`IndexKeys.relocate: ${String(key)} is not held`);
  }

  /** Point the key of `row` of `segment` (which stays readable) at a new location. */
  relocateRow(segment: Segment, row: number, location: number): void {
    let ok: boolean;
    if (this.table instanceof DenseKeyTable) {
      ok = this.table.relocate((segment.keys as NumberColumn).keyAt(row), location);
    } else if (segment.keys.kind === 'string') {
      const column = segment.keys;
      ok = (this.table as KeyTable<Uint8Array>).relocate(column.bytesAt(row), column.hashAt(row), location);
    } else {
      const key = segment.keys.keyAt(row);
      ok = (this.table as KeyTable<number>).relocate(key, hashNumber(key), location);
    }
    if (!ok) throw new Error(`IndexKeys.relocateRow: row ${row} of segment ${segment.id} has no key entry`);
  }

  /** Forget a key; returns its location or -1. */
  remove(key: Key): number {
    const table = this.table;
    if (table instanceof DenseKeyTable) return table.remove(key as number);
    if (this.kind === 'string') return (table as KeyTable<Uint8Array>).remove(this.utf8(key as string), hashString(key as string));
    return (table as KeyTable<number>).remove(key as number, hashNumber(key as number));
  }

  hashOf(key: Key): number {
    return typeof key === 'string' ? hashString(key) : hashNumber(key);
  }

  /** Make room for `count` more keys (below `end`, for default keys) now, so that inserting them cannot fail. */
  reserve(count: number, end = this.nextKey + count): void {
    const table = this.table;
    if (table instanceof DenseKeyTable) {
      if (this.denseFits(end, count)) {
        table.reserve(end);
        return;
      }
      this.toHashTable();
    }
    (this.table as KeyTable<number>).reserve(this.table.size + count);
  }

  /**
   * The keys of a call adding `count` rows: the caller's (checked: count, kind, values, no
   * duplicates among them) or, for a default-key index given none, the next default keys.
   * Throws before any change.
   */
  resolve(keys: unknown, count: number, argument: string, required: boolean): KeyList {
    if (keys === undefined) {
      if (required || this.kind !== 'default') {
        throw new HybridError('INVALID_ARGUMENT',
          required ? `options.keys is required: one key per row (${count} rows)`
            : `this index holds the caller's ${this.kind} keys: options.keys is required (one per row, ${count} rows)`,
          argument);
      }
      // Default keys are also the results' `indices` (a Uint32Array): past the largest they would wrap.
      if (this.nextKey + count - 1 > MAX_DEFAULT_KEY) {
        throw new HybridError('INVALID_ARGUMENT',
          `this index's default keys would pass ${MAX_DEFAULT_KEY} (the next is ${this.nextKey}, for ${count} rows): ` +
          `give ${argument} to number these rows`, argument);
      }
      const values = new Float64Array(count);
      for (let i = 0; i < count; i++) values[i] = this.nextKey + i;
      return { kind: 'number', values };
    }
    const list = parseKeys(keys, argument, this.kind, true);
    if (list.values.length !== count) {
      throw new HybridError('INVALID_ARGUMENT', `${argument} has ${list.values.length} keys for ${count} rows`, argument);
    }
    assertDistinct(list, argument);
    return list;
  }

  /** Check one key's kind for this index (has, get, remove, filters); returns it. */
  check(key: unknown, argument: string): Key {
    return checkKey(key, argument, this.kind, false);
  }

  /** Note keys given by the caller on a default-key index: default keys continue above them. */
  noteKeys(list: KeyList): void {
    if (this.kind !== 'default' || list.kind !== 'number') return;
    let top = this.nextKey;
    for (const key of list.values) if (key + 1 > top) top = key + 1;
    this.nextKey = top;
  }

  /** The UTF-8 bytes of a string key (a reused buffer: valid until the next call). */
  private utf8(key: string): Uint8Array {
    if (key.length * 3 > this.scratch.length) this.scratch = new Uint8Array(key.length * 3 + 64);
    return this.scratch.subarray(0, encodeString(key, this.scratch, 0));
  }
}

/**
 * Keys of one call checked for shape and kind (strings, or non-negative safe integers; keys being
 * added to a default-key index stay below 2^32 - 1).
 */
export function parseKeys(keys: unknown, argument: string, kind: KeyKind, adding = false): KeyList {
  if (typeof keys === 'string' || keys === null || typeof keys !== 'object' || typeof (keys as ArrayLike<unknown>).length !== 'number') {
    throw new HybridError('INVALID_ARGUMENT',
      `${argument} must be an array of keys (numbers or strings), got ${describe(keys)}`, argument);
  }
  const array = keys as ArrayLike<unknown>;
  const n = array.length;
  if (n === 0) return kind === 'string' ? { kind: 'string', values: [] } : { kind: 'number', values: new Float64Array(0) };
  const first = array[0];
  if (typeof first === 'string') {
    if (kind !== 'string') throw wrongKind(argument, 'strings', kind);
    const values = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const key = array[i];
      if (typeof key !== 'string') throw mixed(argument, i, key);
      if (!isWellFormed(key)) throw loneSurrogate(`${argument}[${i}]`, key);
      values[i] = key;
    }
    return { kind: 'string', values };
  }
  if (kind === 'string') throw wrongKind(argument, 'numbers', kind);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = array[i];
    if (typeof key === 'string') throw mixed(argument, i, key);
    values[i] = checkNumber(key, `${argument}[${i}]`, kind, adding);
  }
  return { kind: 'number', values };
}

function checkKey(key: unknown, argument: string, kind: KeyKind, adding: boolean): Key {
  if (kind === 'string') {
    if (typeof key !== 'string') throw new HybridError('INVALID_ARGUMENT', `${argument} must be a string key, got ${describe(key)}`, argument);
    if (!isWellFormed(key)) throw loneSurrogate(argument, key);
    return key;
  }
  return checkNumber(key, argument, kind, adding);
}

function checkNumber(key: unknown, argument: string, kind: KeyKind, adding: boolean): number {
  if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 0) {
    throw new HybridError('INVALID_ARGUMENT',
      `${argument} must be a non-negative safe integer key, got ${describe(key)}`, argument);
  }
  if (adding && kind === 'default' && key > MAX_DEFAULT_KEY) {
    throw new HybridError('INVALID_ARGUMENT',
      `${argument} is ${key}: an index with default keys takes keys below 2^32 - 1 ` +
      '(create it with keys to use larger ones)', argument);
  }
  return key;
}

/**
 * A string key with a lone surrogate (say, a title cut inside an emoji): keys are held as UTF-8,
 * which would turn it into U+FFFD, so it would not come back as given (and two such keys would
 * become one).
 */
function loneSurrogate(argument: string, key: string): HybridError {
  return new HybridError('INVALID_ARGUMENT',
    `${argument} is ${describe(key)}, which has a lone surrogate (not well-formed Unicode): a key must survive UTF-8 unchanged`, argument);
}

function wrongKind(argument: string, got: string, kind: KeyKind): HybridError {
  const want = kind === 'string' ? 'strings' : 'non-negative integers';
  return new HybridError('INVALID_ARGUMENT', `${argument} holds ${got}, but this index's keys are ${want}`, argument);
}

function mixed(argument: string, i: number, key: unknown): HybridError {
  return new HybridError('INVALID_ARGUMENT',
    `${argument} mixes numbers and strings (${argument}[${i}] is ${describe(key)}): use one kind`, argument);
}

/** INVALID_ARGUMENT naming a key given twice in one call (a table over the list's positions). */
function assertDistinct(list: KeyList, argument: string): void {
  const values = list.values;
  const n = values.length;
  if (n < 2) return;
  if (list.kind === 'number') {
    const nums = list.values;
    const table = new KeyTable<number>({ hashAt: (i) => hashNumber(nums[i]!), equals: (i, key) => nums[i] === key }, n);
    for (let i = 0; i < n; i++) {
      const key = nums[i]!;
      const hash = hashNumber(key);
      const j = table.find(key, hash);
      if (j >= 0) throw duplicate(argument, key, j, i);
      table.insert(hash, i);
    }
    return;
  }
  const strings = list.values;
  const hashes = new Uint32Array(n);
  for (let i = 0; i < n; i++) hashes[i] = hashString(strings[i]!);
  const table = new KeyTable<string>({ hashAt: (i) => hashes[i]!, equals: (i, key) => strings[i] === key }, n);
  for (let i = 0; i < n; i++) {
    const key = strings[i]!;
    const j = table.find(key, hashes[i]!);
    if (j >= 0) throw duplicate(argument, key, j, i);
    table.insert(hashes[i]!, i);
  }
}

function duplicate(argument: string, key: Key, first: number, again: number): HybridError {
  return new HybridError('INVALID_ARGUMENT',
    `${argument}: key ${describe(key)} appears twice (positions ${first} and ${again})`, argument);
}
