import { HybridError } from '../errors.js';
import { describe } from '../validate.js';
import type { IndexKeys } from './keys/index-keys.js';
import { ROW_BITS } from './keys/index-keys.js';
import { EMPTY_LOCATION } from './keys/key-table.js';
import type { NumberColumn } from './keys/key-column.js';
import type { Segment } from './segment.js';
import type { Key, Selection, SegmentSelection } from './types.js';

/**
 * The costs throughKeyBits weighs, in units of a row in a run (a bit of a shifted word, ~0.28 ns
 * here). Measured with bench/key-marking-probe.bench.mjs on 1M default keys (docs/PERFORMANCE.md,
 * "The bounds pass as a queue, and a filter through a bitmap of keys"): a key costs ~7.9 ns
 * through the table and ~4.7 ns through the bitmap, so the bitmap saves ~11 units a key; a row
 * past its segment's runs reads its key, ~5.6 ns, 20 units; a run's partial words ~100.
 */
const KEY_SAVED = 11;
const ROW_PAST_RUNS = 20;
const RUN = 100;
/** A row's bits within its location; the empty location as an int32 (it reads -1). */
const ROW_MASK = (1 << ROW_BITS) - 1;
const EMPTY = EMPTY_LOCATION | 0;

/** How default keys are marked: by cost (undefined), or always one way (this package's tests). */
export const keyMarking: { force: 'table' | 'bits' | undefined } = { force: undefined };

/** A filter checked for shape (its keys are checked as they are read). */
export type CheckedFilter = { kind: 'function'; test: (key: Key) => unknown } | { kind: 'keys'; keys: Iterable<unknown> };

/** Check a `filter` option: a function, or an iterable of keys (not a string). */
export function checkFilter(value: unknown): CheckedFilter | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return { kind: 'function', test: value as (key: Key) => unknown };
  if (typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return { kind: 'keys', keys: value as Iterable<unknown> };
  }
  throw new HybridError('INVALID_ARGUMENT',
    `filter must be a function (key) => boolean or an iterable of keys (an array or a Set), got ${describe(value)}`, 'filter');
}

/**
 * The rows a call reads: without a filter every live row (a segment's live bitmap when it has
 * dead rows); with one, a bitmap per segment of the live rows that pass, and segments where none
 * passes are skipped. A function is called once per live row with its key; an iterable's keys are
 * looked up (unknown keys are ignored, a key of the wrong kind is an error).
 */
export function selectRows(segments: readonly Segment[], keys: IndexKeys, filter: CheckedFilter | undefined): Selection {
  if (!filter) {
    let passing = 0;
    const chosen: SegmentSelection[] = segments.map((segment) => {
      passing += segment.liveRows;
      if (segment.liveRows === 0) return 'none';
      return segment.deadRows === 0 ? null : 'live';
    });
    return { segments: chosen, passing, passingBySegment: segments.map((s) => s.liveRows) };
  }
  if (segments.length === 0) return { segments: [], passing: 0, passingBySegment: [] };
  const bits = segments.map(() => null as Uint32Array | null);
  const counts = segments.map(() => 0);
  if (filter.kind === 'function') {
    const test = filter.test;
    segments.forEach((segment, i) => {
      const live = segment.liveBits();
      const column = segment.keys;
      const numbers = column.kind === 'number' ? column.values : null;
      let mine: Uint32Array | null = null;
      let count = 0;
      for (let w = 0; w < live.length; w++) {
        let word = live[w]!;
        let kept = 0;
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          word &= word - 1;
          const row = w * 32 + bit;
          if (test(numbers ? numbers[row]! : column.keyAt(row))) {
            kept |= 1 << bit;
            count++;
          }
        }
        if (kept !== 0) (mine ??= new Uint32Array(segment.capacity / 32))[w] = kept;
      }
      bits[i] = mine;
      counts[i] = count;
    });
  } else {
    const words = markKeys(segments, keys, filter.keys);
    let offset = 0;
    segments.forEach((segment, i) => {
      const size = segment.capacity / 32;
      let count = 0;
      for (let w = offset; w < offset + size; w++) count += popcount(words[w]!);
      if (count > 0) bits[i] = words.subarray(offset, offset + size);
      counts[i] = count;
      offset += size;
    });
  }
  let passing = 0;
  const chosen: SegmentSelection[] = bits.map((mine, i) => {
    passing += counts[i]!;
    return mine === null ? 'none' : mine;
  });
  return { segments: chosen, passing, passingBySegment: counts };
}

/**
 * The allowed keys' rows as one bitmap over the segments in order (segment i's capacity bits
 * after those of segments 0 .. i-1). A key given twice sets its bit twice, so it counts once.
 * One loop per kind of input, each monomorphic and calling nothing per key: a Set of 500k default
 * keys over 1M rows takes 4-6 ms this way (its own iteration 1-2 ms), where a closure per key and
 * a bitmap per segment took 13-15 ms (docs/PERFORMANCE.md, "Filters, removals, metrics").
 */
function markKeys(segments: readonly Segment[], keys: IndexKeys, list: Iterable<unknown>): Uint32Array {
  // Segment slot (a location's high bits) -> the word of its row 0 in `words`, or -1 when the
  // slot's segment is not read by this call.
  const firstWord = new Int32Array(keys.segments.length).fill(-1);
  let total = 0;
  for (const segment of segments) {
    const slot = keys.segments.indexOf(segment);
    if (slot >= 0) firstWord[slot] = total;
    total += segment.capacity / 32;
  }
  const words = new Uint32Array(total);
  const locations = keys.denseLocations;
  if (!locations) {
    for (const value of list) {
      const location = keys.find(keys.check(value, 'filter'));
      if (location < 0) continue;
      const first = firstWord[location >>> ROW_BITS]!;
      if (first >= 0) words[first + ((location & ROW_MASK) >>> 5)]! |= 1 << (location & 31);
    }
    return words;
  }
  // Default keys: a large filter through a bitmap of keys (markByKeyBits), else one array read
  // per key. A value that does not index the array (not a number,
  // not an integer, negative, or above every key: -0 indexes it as 0) goes through the full
  // check, which throws for a bad key and passes a good one that is simply not held (the loops
  // below: one per kind of input). The locations are read as int32 (EMPTY_LOCATION reads -1; the bit operations below
  // read them the same either way): a u32 above 2^31 is a double in V8, and these loops ran ~2x
  // slower on u32 reads in a probe.
  const indexed = Array.isArray(list) || isTypedArray(list) ? list as ArrayLike<unknown> : null;
  if (throughKeyBits(segments, indexed ? indexed.length : list instanceof Set ? list.size : -1)) {
    markByKeyBits(segments, keys, indexed ?? list, indexed !== null, locations.length, words);
    return words;
  }
  const dense = new Int32Array(locations.buffer, locations.byteOffset, locations.length);
  if (indexed) markIndexed(indexed, keys, dense, firstWord, words);
  else markIterable(list, keys, dense, firstWord, words);
  return words;
}

/**
 * Whether `count` default keys (-1: not known before reading them) are marked through a bitmap of
 * keys rather than one table read per key. The bitmap costs a pass over the rows: cheap within
 * runs of consecutive keys, a read of each row's key past them (after a compaction that removed
 * more than 1 row in 256, most rows); it pays where the filter has many keys against that pass.
 */
function throughKeyBits(segments: readonly Segment[], count: number): boolean {
  if (count < 0) return false;
  if (keyMarking.force) return keyMarking.force === 'bits';
  let cost = 0;
  for (const segment of segments) {
    const column = segment.keys as NumberColumn;
    const inRuns = Math.min(column.runsEnd, segment.rows);
    cost += inRuns + RUN * column.runCount + ROW_PAST_RUNS * (segment.rows - inRuns);
  }
  return count * KEY_SAVED >= cost;
}

/**
 * markKeys through a bitmap of keys: the filter's keys below `span` (every key held is) set their
 * bit, then each segment's rows take theirs: over the run of rows that hold consecutive keys
 * (NumberColumn.run), a shifted copy of the key bits; after it, each row's key bit. Either way only live rows are kept (a removed
 * key's row is dead; a key upserted elsewhere has a dead row here and a live one there), so this
 * selects exactly the live rows whose key passes, as the table lookups do.
 */
function markByKeyBits(segments: readonly Segment[], keys: IndexKeys, list: ArrayLike<unknown> | Iterable<unknown>, indexed: boolean,
  span: number, words: Uint32Array): void {
  let end = span;
  for (const segment of segments) {
    const column = segment.keys as NumberColumn;
    const runs = column.runCount;
    // A run's keys only grow, so its last row's key is its largest.
    if (runs > 0) end = Math.max(end, column.runKeys[runs - 1]! + (column.runsEnd - column.runRows[runs - 1]!));
    for (let i = 0; i + 1 < runs; i++) end = Math.max(end, column.runKeys[i]! + (column.runRows[i + 1]! - column.runRows[i]!));
  }
  // One word to spare: a shifted copy reads the word after its last.
  const keyBits = new Uint32Array((end >>> 5) + 2);
  if (indexed) markKeyBitsIndexed(list as ArrayLike<unknown>, keys, span, keyBits);
  else markKeyBitsIterable(list as Iterable<unknown>, keys, span, keyBits);
  let offset = 0;
  for (const segment of segments) {
    const column = segment.keys as NumberColumn;
    const rows = segment.rows;
    const inRuns = Math.min(column.runsEnd, rows);
    for (let i = 0; i < column.runCount; i++) {
      const start = column.runRows[i]!;
      if (start >= inRuns) break;
      const stop = i + 1 < column.runCount ? Math.min(column.runRows[i + 1]!, inRuns) : inRuns;
      copyRun(keyBits, column.runKeys[i]!, start, stop, words, offset);
    }
    rowKeyBits(keyBits, span, column.values, inRuns, rows, words, offset);
    const live = segment.liveBits();
    for (let w = 0; w < (rows + 31) >>> 5; w++) words[offset + w]! &= live[w]!;
    offset += segment.capacity / 32;
  }
}

// The two loops of markByKeyBits' first pass, each a function of its own (as markIndexed and
// markIterable, below): a value that is not a key below `span` goes through the full check, which
// throws for a bad key and passes a good one that is not held.

function markKeyBitsIndexed(list: ArrayLike<unknown>, keys: IndexKeys, span: number, keyBits: Uint32Array): void {
  for (let i = 0; i < list.length; i++) {
    const value = list[i];
    if (typeof value !== 'number' || !(value >= 0 && value < span) || (value >>> 0) !== value) {
      keys.check(value, 'filter');
      continue;
    }
    keyBits[value >>> 5]! |= 1 << (value & 31);
  }
}

function markKeyBitsIterable(list: Iterable<unknown>, keys: IndexKeys, span: number, keyBits: Uint32Array): void {
  for (const value of list) {
    if (typeof value !== 'number' || !(value >= 0 && value < span) || (value >>> 0) !== value) {
      keys.check(value, 'filter');
      continue;
    }
    keyBits[value >>> 5]! |= 1 << (value & 31);
  }
}

/**
 * Rows [start, stop) hold keys first, first + 1, ...: each row's bit from its key's, whole words
 * by a shifted read of the key bits, the rows before and after them one by one.
 */
function copyRun(keyBits: Uint32Array, first: number, start: number, stop: number, words: Uint32Array, offset: number): void {
  const delta = first - start;
  let row = start;
  for (; row < stop && (row & 31) !== 0; row++) {
    const key = row + delta;
    words[offset + (row >>> 5)]! |= ((keyBits[key >>> 5]! >>> (key & 31)) & 1) << (row & 31);
  }
  const shift = (row + delta) & 31;
  for (; row + 32 <= stop; row += 32) {
    const at = (row + delta) >>> 5;
    words[offset + (row >>> 5)] = shift === 0 ? keyBits[at]! : (keyBits[at]! >>> shift) | (keyBits[at + 1]! << (32 - shift));
  }
  for (; row < stop; row++) {
    const key = row + delta;
    words[offset + (row >>> 5)]! |= ((keyBits[key >>> 5]! >>> (key & 31)) & 1) << (row & 31);
  }
}

/** Rows [from, to): each row's bit from its key's (keys at or above `span` are not held: they pass none). */
function rowKeyBits(keyBits: Uint32Array, span: number, values: Float64Array, from: number, to: number,
  words: Uint32Array, offset: number): void {
  // A word's bits gathered in a local, each key read as an integer (default keys are below 2^32).
  for (let row = from; row < to;) {
    const w = row >>> 5;
    const end = Math.min(to, (w + 1) << 5);
    let bits = 0;
    for (; row < end; row++) {
      const key = values[row]! >>> 0;
      if (key < span) bits |= ((keyBits[key >>> 5]! >>> (key & 31)) & 1) << (row & 31);
    }
    words[offset + w]! |= bits;
  }
}

// The loops of markKeys over default keys: indexed (arrays and typed arrays: Uint32Array,
// Float64Array, ...; a BigInt64Array's bigints go to the check, which rejects them) and for-of
// (a Set, other iterables), each a function of its own so that each keeps its own type feedback.
// Measured on 500k keys (docs/PERFORMANCE.md, "Filters, removals, metrics"): one loop for arrays
// and other iterables was 3-8x slower; with the loops in one function a Set's ran 2.5x slower in
// some processes than in others (5.3 against 13.9 ms); the body as a function called per key
// cost 1.1-1.5x. The same body in both: a value that does not index the dense locations goes
// through the full check, which throws for a bad key and passes a good one that is not held.

function markIndexed(list: ArrayLike<unknown>, keys: IndexKeys, dense: Int32Array, firstWord: Int32Array, words: Uint32Array): void {
  const span = dense.length;
  for (let i = 0; i < list.length; i++) {
    const value = list[i];
    if (typeof value !== 'number' || !(value >= 0 && value < span) || (value >>> 0) !== value) {
      keys.check(value, 'filter');
      continue;
    }
    const location = dense[value]!;
    if (location === EMPTY) continue;
    const first = firstWord[location >>> ROW_BITS]!;
    if (first >= 0) words[first + ((location & ROW_MASK) >>> 5)]! |= 1 << (location & 31);
  }
}

function markIterable(list: Iterable<unknown>, keys: IndexKeys, dense: Int32Array, firstWord: Int32Array, words: Uint32Array): void {
  const span = dense.length;
  for (const value of list) {
    if (typeof value !== 'number' || !(value >= 0 && value < span) || (value >>> 0) !== value) {
      keys.check(value, 'filter');
      continue;
    }
    const location = dense[value]!;
    if (location === EMPTY) continue;
    const first = firstWord[location >>> ROW_BITS]!;
    if (first >= 0) words[first + ((location & ROW_MASK) >>> 5)]! |= 1 << (location & 31);
  }
}

/** Set bits of a 32-bit word. */
function popcount(word: number): number {
  let x = word - ((word >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** A typed array of numbers or bigints (an ArrayBuffer view that is not a DataView). */
function isTypedArray(value: Iterable<unknown>): value is ArrayLike<unknown> & Iterable<unknown> {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}
