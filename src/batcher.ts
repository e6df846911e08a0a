// Dynamic batching (the seed's "Dynamic Batching"): concurrent single-query searches on one index
// that arrive within maxWaitMs of the first are merged, up to targetBatchSize, into one M x N
// call, which the router then sends to one backend; each caller gets its own result back.

/** Why a batch was sent: it reached targetBatchSize, or the first query waited maxWaitMs. */
export type FlushReason = 'full' | 'timer';

interface Waiting<T, R> {
  item: T;
  at: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Collects items and runs them in batches: a batch is sent as soon as it holds `targetBatchSize`
 * items, or `maxWaitMs` after its first item arrived. `run` answers a batch with one result per
 * item, in order; if it throws, every item of that batch gets the error (input errors are found
 * before an item joins, so they reach only their own caller).
 */
export class Batcher<T, R> {
  private readonly maxWaitMs: number;
  private readonly targetBatchSize: number;
  private readonly run: (items: T[]) => Promise<R[]>;
  private readonly record: (size: number, waitsMs: number[], reason: FlushReason) => void;
  private waiting: Waiting<T, R>[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(maxWaitMs: number, targetBatchSize: number, run: (items: T[]) => Promise<R[]>,
    record: (size: number, waitsMs: number[], reason: FlushReason) => void) {
    this.maxWaitMs = maxWaitMs;
    this.targetBatchSize = targetBatchSize;
    this.run = run;
    this.record = record;
  }

  /** Items waiting for their batch now. */
  get pending(): number {
    return this.waiting.length;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, at: performance.now(), resolve, reject });
      if (this.waiting.length >= this.targetBatchSize) this.flush('full');
      else this.timer ??= setTimeout(() => this.flush('timer'), this.maxWaitMs);
    });
  }

  /** Send what is waiting now (an index write waits for these searches). */
  flushNow(): void {
    if (this.waiting.length > 0) this.flush('timer');
  }

  private flush(reason: FlushReason): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    const now = performance.now();
    let results: Promise<R[]>;
    try {
      this.record(batch.length, batch.map((w) => now - w.at), reason);
      results = this.run(batch.map((w) => w.item));
    } catch (error) {
      results = Promise.reject(error);
    }
    results.then((answers) => {
      batch.forEach((w, i) => w.resolve(answers[i]!));
    }, (error: unknown) => {
      for (const w of batch) w.reject(error);
    });
  }
}
