import { HybridError } from '../errors.js';
import { describe } from '../validate.js';
import type { IndexKeys } from './keys/index-keys.js';
import { ROW_BITS } from './keys/index-keys.js';
import type { Segment } from './segment.js';
import type { Key, Selection, SegmentSelection } from './types.js';

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
    // Segment slot (a location's high bits) -> position in `segments`.
    const place = new Int32Array(keys.segments.length).fill(-1);
    segments.forEach((segment, i) => {
      const slot = keys.segments.indexOf(segment);
      if (slot >= 0) place[slot] = i;
    });
    const rowMask = (1 << ROW_BITS) - 1;
    for (const value of filter.keys) {
      const location = keys.find(keys.check(value, 'filter'));
      if (location < 0) continue;
      const i = place[location >>> ROW_BITS]!;
      if (i < 0) continue;
      const row = location & rowMask;
      const mine = (bits[i] ??= new Uint32Array(segments[i]!.capacity / 32));
      const bit = 1 << (row & 31);
      if ((mine[row >>> 5]! & bit) !== 0) continue;
      mine[row >>> 5]! |= bit;
      counts[i]!++;
    }
  }
  let passing = 0;
  const chosen: SegmentSelection[] = bits.map((mine, i) => {
    passing += counts[i]!;
    return mine === null ? 'none' : mine;
  });
  return { segments: chosen, passing, passingBySegment: counts };
}
