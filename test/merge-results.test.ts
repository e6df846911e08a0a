// mergeResults: the exact top-k of several shards' results against a brute-force reference
// (sort everything with the documented order), with many ties, k beyond the total, empty
// lists, unsorted lists, every metric; and its typed errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridError, mergeResults } from '../src/index.js';

type Metric = 'cosine' | 'dot' | 'l2';
type List = { keys: Array<number | string>; scores: number[] };

/** Everything sorted: score (l2 ascending, else descending), then list, then position. */
function reference(lists: List[], k: number, metric: Metric) {
  const all = lists.flatMap((list, l) => list.scores.map((score, p) => ({ score, l, p, key: list.keys[p]! })));
  all.sort((a, b) => (a.score !== b.score ? (metric === 'l2' ? a.score - b.score : b.score - a.score) : a.l !== b.l ? a.l - b.l : a.p - b.p));
  const top = all.slice(0, k);
  return { keys: top.map((e) => e.key), scores: top.map((e) => Math.fround(e.score)) };
}

describe('mergeResults', () => {
  it('equals the brute-force top-k for random shards (ties, unsorted lists, k beyond the total)', () => {
    const list = fc.array(fc.integer({ min: -4, max: 4 }), { maxLength: 12 });
    fc.assert(fc.property(fc.array(list, { maxLength: 6 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom<Metric>('cosine', 'dot', 'l2'), fc.boolean(), (shards, k, metric, sorted) => {
      let next = 0;
      const lists: List[] = shards.map((scores) => {
        // Small integer scores / 4: many ties; sorted best first (as a shard answers) or not.
        const s = scores.map((v) => v / 4);
        if (sorted) s.sort((a, b) => (metric === 'l2' ? a - b : b - a));
        return { keys: s.map(() => next++), scores: s };
      });
      const merged = mergeResults(lists, { k, metric });
      const want = reference(lists, k, metric);
      expect(merged.keys).toEqual(want.keys);
      expect(Array.from(merged.scores)).toEqual(want.scores);
    }), { numRuns: 500, seed: 15 });
  });

  it('ties go to the earlier list, then the earlier position; l2 ascending; string keys; typed arrays', () => {
    const lists = [
      { keys: ['a', 'b'], scores: Float32Array.of(0.5, 0.25) },
      { keys: ['c', 'd', 'e'], scores: [0.75, 0.5, 0.5] },
    ];
    expect(mergeResults(lists, { k: 4 })).toEqual({ keys: ['c', 'a', 'd', 'e'], scores: Float32Array.of(0.75, 0.5, 0.5, 0.5) });
    expect(mergeResults(lists, { k: 3, metric: 'l2' })).toEqual({ keys: ['b', 'a', 'd'], scores: Float32Array.of(0.25, 0.5, 0.5) });
    expect(mergeResults([{ keys: Uint32Array.of(7, 9), scores: Float32Array.of(1, 2) }], { k: 10, metric: 'dot' })).toEqual({ keys: [9, 7], scores: Float32Array.of(2, 1) });
    expect(mergeResults([], { k: 3 })).toEqual({ keys: [], scores: new Float32Array(0) });
    expect(mergeResults([{ keys: [], scores: [] }, { keys: [1], scores: [-Infinity] }], { k: 3 })).toEqual({ keys: [1], scores: Float32Array.of(-Infinity) });
  });

  it('two index shards merge to the top-k of one index over all rows', () => {
    // Scores as two shards of one corpus would return them (each its exact top-3).
    const all = [0.9, 0.1, 0.8, 0.7, 0.95, 0.3, 0.85, 0.2];
    const shard = (from: number, to: number) => {
      const ids = Array.from({ length: to - from }, (_, i) => from + i).sort((a, b) => all[b]! - all[a]! || a - b).slice(0, 3);
      return { keys: ids, scores: Float32Array.from(ids, (i) => all[i]!) };
    };
    expect(mergeResults([shard(0, 4), shard(4, 8)], { k: 3 }).keys).toEqual([4, 0, 6]);
  });

  it('typed errors for bad input', () => {
    const cases: Array<[() => unknown, string, RegExp]> = [
      [() => mergeResults('x' as never, { k: 1 }), 'INVALID_ARGUMENT', /lists must be an array/],
      [() => mergeResults([], undefined as never), 'INVALID_ARGUMENT', /options\.k is required/],
      [() => mergeResults([], { k: 0 }), 'INVALID_ARGUMENT', /k must be an integer >= 1/],
      [() => mergeResults([], { k: 1.5 }), 'INVALID_ARGUMENT', /k must be an integer >= 1/],
      [() => mergeResults([], { k: 1, metric: 'euclid' as never }), 'INVALID_ARGUMENT', /metric must be/],
      [() => mergeResults([], { k: 1, kk: 2 } as never), 'INVALID_ARGUMENT', /options\.kk is not a known option/],
      [() => mergeResults([null as never], { k: 1 }), 'INVALID_ARGUMENT', /lists\[0\] must be/],
      [() => mergeResults([{ keys: [1, 2], scores: [1] }], { k: 1 }), 'INVALID_ARGUMENT', /lists\[0\] has 2 keys and 1 scores/],
      [() => mergeResults([{ keys: 'ab' as never, scores: [1, 2] }], { k: 1 }), 'INVALID_ARGUMENT', /lists\[0\]\.keys must be an array/],
      [() => mergeResults([{ keys: [1], scores: ['1'] as never }], { k: 1 }), 'INVALID_ARGUMENT', /scores\[0\] is "1", not a number/],
      [() => mergeResults([{ keys: [1] , scores: [1] }, { keys: [2, 3], scores: [2, NaN] }], { k: 1 }), 'NON_FINITE', /lists\[1\]\.scores\[1\] is NaN/],
    ];
    for (const [call, code, message] of cases) {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught, String(message)).toBeInstanceOf(HybridError);
      expect((caught as HybridError).code).toBe(code);
      expect((caught as HybridError).message).toMatch(message);
    }
  });
});
