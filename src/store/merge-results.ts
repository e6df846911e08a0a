// The exact top-k of several shards' results (the path beyond one machine): each shard
// answers its own exact top-k; the union's top-k is the global exact top-k, as long as every
// shard returned at least k (or all it has).
import { HybridError } from '../errors.js';
import { assertArity, assertK, describe, optionsObject } from '../validate.js';

/** One shard's answer: keys and scores, position for position (a search result fits). */
export interface ShardResult<K> {
  readonly keys: ArrayLike<K>;
  readonly scores: ArrayLike<number>;
}

/** How to merge: how many to keep and how the scores order ('l2' ascending, others descending). */
export interface MergeOptions {
  readonly k: number;
  /** 'cosine' (default) | 'dot' | 'l2'. */
  readonly metric?: 'cosine' | 'dot' | 'l2';
}

/** The merged top-k, best first. */
export interface MergedResult<K> {
  readonly keys: K[];
  readonly scores: Float32Array;
}

/**
 * The exact top-k of the union of `lists`, best first for the metric ('l2': smallest first;
 * 'cosine', 'dot': largest first). Ties go to the earlier list, then the earlier position in
 * it, so the merge is deterministic whatever the shards' timing. Lists need not be sorted;
 * keys are not deduplicated (shards hold disjoint keys). Fewer than k when the lists hold fewer.
 * Errors: INVALID_ARGUMENT (not an array, keys and scores of different lengths, k not an
 * integer >= 1, an unknown metric or option), NON_FINITE (a NaN score).
 */
export function mergeResults<K>(lists: ReadonlyArray<ShardResult<K>>, options: MergeOptions): MergedResult<K> {
  assertArity(arguments.length, 2, 'mergeResults(lists, { k, metric })');
  if (!Array.isArray(lists)) throw new HybridError('INVALID_ARGUMENT', `lists must be an array of { keys, scores }, got ${describe(lists)}`, 'lists');
  if (options === undefined) throw new HybridError('INVALID_ARGUMENT', 'options.k is required', 'k');
  const opts = optionsObject<MergeOptions>(options, ['k', 'metric']);
  assertK(opts.k);
  const k = opts.k;
  const metric = opts.metric ?? 'cosine';
  if (metric !== 'cosine' && metric !== 'dot' && metric !== 'l2') {
    throw new HybridError('INVALID_ARGUMENT', `metric must be 'cosine', 'dot' or 'l2', got ${describe(metric)}`, 'metric');
  }
  let total = 0;
  lists.forEach((list, l) => {
    if (typeof list !== 'object' || list === null) throw new HybridError('INVALID_ARGUMENT', `lists[${l}] must be { keys, scores }, got ${describe(list)}`, `lists[${l}]`);
    const { keys, scores } = list;
    if (!isArrayLike(keys)) throw new HybridError('INVALID_ARGUMENT', `lists[${l}].keys must be an array, got ${describe(keys)}`, `lists[${l}].keys`);
    if (!isArrayLike(scores)) throw new HybridError('INVALID_ARGUMENT', `lists[${l}].scores must be an array of numbers, got ${describe(scores)}`, `lists[${l}].scores`);
    if (keys.length !== scores.length) {
      throw new HybridError('INVALID_ARGUMENT', `lists[${l}] has ${keys.length} keys and ${scores.length} scores`, `lists[${l}]`);
    }
    for (let p = 0; p < scores.length; p++) {
      const s = scores[p];
      if (typeof s !== 'number') throw new HybridError('INVALID_ARGUMENT', `lists[${l}].scores[${p}] is ${describe(s)}, not a number`, `lists[${l}].scores`);
      if (Number.isNaN(s)) throw new HybridError('NON_FINITE', `lists[${l}].scores[${p}] is NaN`, `lists[${l}].scores`);
    }
    total += scores.length;
  });

  // A heap of the best `size` entries so far, the worst at the root: O(total log k).
  const size = Math.min(k, total);
  const heapList = new Int32Array(size);
  const heapPosition = new Int32Array(size);
  const heapScore = new Float64Array(size);
  const ascending = metric === 'l2';
  /** Whether entry (sa, la, pa) ranks after (sb, lb, pb). */
  const worse = (sa: number, la: number, pa: number, sb: number, lb: number, pb: number): boolean =>
    sa !== sb ? (ascending ? sa > sb : sa < sb) : la !== lb ? la > lb : pa > pb;
  const swap = (i: number, j: number) => {
    const l = heapList[i]!, p = heapPosition[i]!, s = heapScore[i]!;
    heapList[i] = heapList[j]!; heapPosition[i] = heapPosition[j]!; heapScore[i] = heapScore[j]!;
    heapList[j] = l; heapPosition[j] = p; heapScore[j] = s;
  };
  const worseAt = (i: number, j: number) => worse(heapScore[i]!, heapList[i]!, heapPosition[i]!, heapScore[j]!, heapList[j]!, heapPosition[j]!);
  let filled = 0;
  for (let l = 0; l < lists.length; l++) {
    const scores = lists[l]!.scores;
    for (let p = 0; p < scores.length; p++) {
      const s = scores[p]!;
      if (filled < size) {
        let i = filled++;
        heapList[i] = l; heapPosition[i] = p; heapScore[i] = s;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (!worseAt(i, parent)) break;
          swap(i, parent);
          i = parent;
        }
      } else if (size > 0 && worse(heapScore[0]!, heapList[0]!, heapPosition[0]!, s, l, p)) {
        heapList[0] = l; heapPosition[0] = p; heapScore[0] = s;
        for (let i = 0; ;) {
          const left = 2 * i + 1;
          if (left >= size) break;
          const child = left + 1 < size && worseAt(left + 1, left) ? left + 1 : left;
          if (!worseAt(child, i)) break;
          swap(i, child);
          i = child;
        }
      }
    }
  }

  const order = Array.from({ length: size }, (_, i) => i)
    .sort((a, b) => (worseAt(a, b) ? 1 : worseAt(b, a) ? -1 : 0));
  return {
    keys: order.map((i) => lists[heapList[i]!]!.keys[heapPosition[i]!]!),
    scores: Float32Array.from(order, (i) => heapScore[i]!),
  };
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (Array.isArray(value) || ArrayBuffer.isView(value)) && typeof (value as { length?: unknown }).length === 'number';
}
