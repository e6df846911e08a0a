import { HybridError } from '../../errors.js';

// An open-addressing hash table from keys to row locations, holding only one u32 per slot: the
// keys themselves stay in the segments' key columns (src/store/keys/key-column.ts), reached
// through the location, so the table costs 4 bytes per slot (at most 0.7 full: under 6 bytes per
// key) and no JS object per key. Linear probing; removed entries leave tombstones until the next
// rehash.

const EMPTY = 0xffffffff;
const TOMBSTONE = 0xfffffffe;
/** Largest location a table stores (two values are reserved for empty and removed slots). */
export const MAX_LOCATION = 0xfffffffd;
const MAX_LOAD = 0.7;

/** How a table reaches the keys behind its locations. */
export interface KeySource<K> {
  /** The hash of the key stored at `location` (the same function as `hash`). */
  hashAt(location: number): number;
  /** Whether the key stored at `location` is `key` (prepared by `prepare`). */
  equals(location: number, key: K): boolean;
}

export class KeyTable<K> {
  protected slots: Uint32Array;
  protected mask: number;
  private used = 0;
  private tombstones = 0;
  private readonly source: KeySource<K>;

  constructor(source: KeySource<K>, expected = 0) {
    this.source = source;
    const capacity = capacityFor(expected);
    this.slots = new Uint32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  /** Keys held. */
  get size(): number {
    return this.used;
  }

  /** Bytes held by the table itself. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  /** The location of `key` (hash `hash`), or -1. */
  find(key: K, hash: number): number {
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const value = slots[i]!;
      if (value === EMPTY) return -1;
      if (value !== TOMBSTONE && this.source.hashAt(value) === hash && this.source.equals(value, key)) return value;
    }
  }

  /** Grow now (if needed) so that the table holds `count` keys without growing again. */
  reserve(count: number): void {
    if (count + this.tombstones > MAX_LOAD * this.slots.length) this.rehash(count);
  }

  /** Add a key known to be absent, stored at `location`. */
  insert(hash: number, location: number): void {
    if ((this.used + this.tombstones + 1) > MAX_LOAD * this.slots.length) this.rehash(this.used + 1);
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const value = slots[i]!;
      if (value === EMPTY || value === TOMBSTONE) {
        if (value === TOMBSTONE) this.tombstones--;
        slots[i] = location;
        this.used++;
        return;
      }
    }
  }

  /** Point `key`'s entry at a new location (the row moved); false if the key is not held. */
  relocate(key: K, hash: number, location: number): boolean {
    const slot = this.slotOf(key, hash);
    if (slot < 0) return false;
    this.slots[slot] = location;
    return true;
  }

  /** Remove `key`; returns its location, or -1 if it was not held. */
  remove(key: K, hash: number): number {
    const slot = this.slotOf(key, hash);
    if (slot < 0) return -1;
    const location = this.slots[slot]!;
    this.slots[slot] = TOMBSTONE;
    this.used--;
    this.tombstones++;
    return location;
  }

  private slotOf(key: K, hash: number): number {
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const value = slots[i]!;
      if (value === EMPTY) return -1;
      if (value !== TOMBSTONE && this.source.hashAt(value) === hash && this.source.equals(value, key)) return i;
    }
  }

  /** Re-insert every entry into a table sized for `count` keys (dropping tombstones). */
  private rehash(count: number): void {
    const old = this.slots;
    const capacity = capacityFor(count);
    let slots: Uint32Array;
    try {
      slots = new Uint32Array(capacity).fill(EMPTY);
    } catch (error) {
      throw new HybridError('OUT_OF_MEMORY', `key table: could not allocate ${capacity * 4} bytes for ${count} keys (${String(error)})`);
    }
    const mask = capacity - 1;
    for (let j = 0; j < old.length; j++) {
      const value = old[j]!;
      if (value === EMPTY || value === TOMBSTONE) continue;
      let i = this.source.hashAt(value) & mask;
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = value;
    }
    this.slots = slots;
    this.mask = mask;
    this.tombstones = 0;
  }
}

/** A power of two at least 16 holding `count` keys under the load limit. */
function capacityFor(count: number): number {
  let capacity = 16;
  while (capacity * MAX_LOAD < count) capacity *= 2;
  return capacity;
}

/**
 * A KeyTable of numeric keys that reads them straight from the segments' key columns
 * (`columns[slot]`, a location being slot * 2^20 + row): a probe compares the key itself, with no
 * hash check and no callback (lookups are the cost of a Set filter and of remove()).
 */
export class NumberKeyTable extends KeyTable<number> {
  private readonly columns: Array<Float64Array | undefined>;

  constructor(columns: Array<Float64Array | undefined>, source: KeySource<number>) {
    super(source);
    this.columns = columns;
  }

  override find(key: number, hash: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const columns = this.columns;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const value = slots[i]!;
      if (value === EMPTY) return -1;
      if (value !== TOMBSTONE && columns[value >>> 20]![value & 0xfffff] === key) return value;
    }
  }
}

/**
 * Default keys (0, 1, 2, ... assigned by the index, never reused): a key's location at index
 * `key` of one array, 4 bytes per key ever assigned, with no hashing and no probing, and keys that
 * arrive in order (a filter listing them) read it in order. IndexKeys falls back to a hash table
 * when keys given by the caller would make it sparse.
 */
export class DenseKeyTable {
  private slots: Uint32Array = new Uint32Array(0);
  private used = 0;

  get size(): number {
    return this.used;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** One past the largest key the array covers. */
  get span(): number {
    return this.slots.length;
  }

  find(key: number): number {
    if (key >= this.slots.length) return -1;
    const value = this.slots[key]!;
    return value === EMPTY ? -1 : value;
  }

  /** Cover keys below `end` now (so that inserting them later cannot fail). */
  reserve(end: number): void {
    if (end <= this.slots.length) return;
    const length = Math.max(end, Math.ceil(this.slots.length * 1.5), 1024);
    let slots: Uint32Array;
    try {
      slots = new Uint32Array(length).fill(EMPTY);
    } catch (error) {
      throw new HybridError('OUT_OF_MEMORY', `key table: could not allocate ${length * 4} bytes for keys below ${end} (${String(error)})`);
    }
    slots.set(this.slots);
    this.slots = slots;
  }

  insert(key: number, location: number): void {
    this.reserve(key + 1);
    this.slots[key] = location;
    this.used++;
  }

  relocate(key: number, location: number): boolean {
    if (this.find(key) < 0) return false;
    this.slots[key] = location;
    return true;
  }

  remove(key: number): number {
    const location = this.find(key);
    if (location < 0) return -1;
    this.slots[key] = EMPTY;
    this.used--;
    return location;
  }

  /** Every (key, location) held. */
  *entries(): Generator<[number, number]> {
    const slots = this.slots;
    for (let key = 0; key < slots.length; key++) if (slots[key] !== EMPTY) yield [key, slots[key]!];
  }
}
