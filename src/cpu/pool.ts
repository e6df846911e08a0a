import { startWorker } from '#platform';
import type { WorkerHandle } from '../platform/types.js';

// Worker threads that run the WASM kernels over the engine's shared WebAssembly.Memory regions
// (src/cpu/memory-set.ts): worker_threads in Node, Web Workers in browsers (only where
// `crossOriginIsolated`, which SharedArrayBuffer needs). Each worker instantiates the kernels
// once per region, as the calling thread does. Workers never allocate: the calling thread owns
// the arenas, stages inputs, reserves every output and scratch block, then sends each worker
// lists of kernel calls (export name and numeric arguments), each list for one region, over its
// share of the rows. A worker answers with the calls' return values.

/** One kernel call: export name, then its numeric arguments. */
export type KernelCall = [name: string, ...args: number[]];

/** Kernel calls to run in one region's instance of the kernels. */
export interface RegionCalls {
  region: number;
  calls: KernelCall[];
}

/** One worker's share of a call: its kernel calls, region by region, in order. */
export type RegionPart = RegionCalls[];

/**
 * The worker's whole program: no imports, so it runs from a string in Node and browsers alike.
 * Messages are handled one after another (a region's instantiation finishes before the calls that
 * follow it run).
 */
const WORKER_BODY = `
const instances = [];
const memories = [];
let chain = Promise.resolve();
const runCalls = ({ region, calls }, results) => {
  const kernels = instances[region];
  if (!kernels) throw new Error('no kernels for memory region ' + region);
  for (let i = 0; i < calls.length; i++) {
    const [name, ...args] = calls[i];
    const result = kernels[name](...args);
    results.push(typeof result === 'number' ? result : 0);
  }
};
const queueWords = ({ region, at }) => {
  if (!memories[region]) throw new Error('no memory region ' + region);
  return new Int32Array(memories[region].buffer, at, 3);
};
// Until every item of a queue is done: a short spin first (the last item takes well under a
// millisecond; a thread put to sleep can take milliseconds to wake on a busy machine), then waits.
const awaitQueue = (after) => {
  const words = queueWords(after);
  const spinUntil = performance.now() + 1;
  while (Atomics.load(words, 1) < after.count && Atomics.load(words, 2) === 0 && performance.now() < spinUntil);
  for (let done = Atomics.load(words, 1); done < after.count; done = Atomics.load(words, 1)) {
    if (Atomics.load(words, 2) !== 0) throw new Error('the queue these calls wait for was abandoned');
    Atomics.wait(words, 1, done, 50);
  }
};
const handle = async (message) => {
  if (message.type === 'init' || message.type === 'region') {
    try {
      for (const { id, memory } of message.regions) {
        const instance = await WebAssembly.instantiate(message.module, { env: { memory } });
        instances[id] = instance.exports;
        memories[id] = memory;
      }
      if (message.type === 'init') post({ type: 'ready' });
    } catch (error) {
      if (message.type === 'init') post({ type: 'failed', message: String(error && error.message || error) });
      else post({ type: 'broken', message: String(error && error.message || error) });
    }
    return;
  }
  const { id, groups, queue, after } = message;
  try {
    const results = [];
    if (queue) {
      // [items taken, items done, abandoned]
      const words = queueWords(queue);
      const items = queue.items;
      for (let n = Atomics.add(words, 0, 1); n < items.length; n = Atomics.add(words, 0, 1)) {
        runCalls(items[n], []);
        if (Atomics.add(words, 1, 1) + 1 === items.length) Atomics.notify(words, 1);
      }
    } else {
      if (after) awaitQueue(after);
      for (const group of groups) runCalls(group, results);
    }
    post({ id, results });
  } catch (error) {
    post({ id, error: String(error && error.message || error) });
  }
};
listen((message) => { chain = chain.then(() => handle(message)); });
`;

/**
 * Kernel calls shared by every worker: each takes the next item until none is left, so a worker
 * that gets less of the CPU (the calling thread busy beside it) simply takes fewer. An item's
 * calls must depend on no other item's. At byte `at` of region `region`'s memory, three int32
 * words, zero when posted: items taken, items done, and abandoned (non-zero: calls waiting for
 * the queue give up).
 */
export interface SharedQueue {
  region: number;
  at: number;
  items: RegionCalls[];
}

/** Bytes of a queue's words (SharedQueue.at). */
export const QUEUE_WORDS_BYTES = 12;

/** Parts that run once a queue's `count` items are done (its words: SharedQueue.at). */
export interface QueueDone {
  region: number;
  at: number;
  count: number;
}

/** A region as the workers need it. */
interface RegionMemory {
  id: number;
  memory: WebAssembly.Memory;
}

type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'broken'; message: string }
  | { id: number; results: number[] }
  | { id: number; error: string };

interface Pending {
  resolve(results: number[]): void;
  reject(error: Error): void;
}

class PoolWorker {
  private readonly handle: WorkerHandle;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private broken: Error | null = null;

  private constructor(handle: WorkerHandle) {
    this.handle = handle;
  }

  static async start(module: WebAssembly.Module, regions: RegionMemory[]): Promise<PoolWorker> {
    const handle = await startWorker(WORKER_BODY);
    const worker = new PoolWorker(handle);
    await new Promise<void>((resolve, reject) => {
      handle.onError((error) => {
        worker.fail(error);
        reject(error);
      });
      handle.onExit(() => {
        const error = new Error('a CPU worker thread exited');
        worker.fail(error);
        reject(error);
      });
      handle.onMessage((message) => {
        const reply = message as WorkerReply;
        if ('type' in reply) {
          if (reply.type === 'ready') resolve();
          else if (reply.type === 'failed') reject(new Error(`CPU worker could not start: ${reply.message}`));
          else worker.fail(new Error(`CPU worker could not instantiate the kernels over a new memory: ${reply.message}`));
          return;
        }
        const job = worker.pending.get(reply.id);
        if (!job) return;
        worker.pending.delete(reply.id);
        if (worker.pending.size === 0) handle.unref();
        if ('error' in reply) job.reject(new Error(`CPU worker: ${reply.error}`));
        else job.resolve(reply.results);
      });
      handle.post({ type: 'init', module, regions });
    });
    handle.unref();
    return worker;
  }

  run(groups: RegionPart, after?: QueueDone): Promise<number[]> {
    return this.send(after ? { groups, after } : { groups });
  }

  /** Take items from a shared queue until it is empty (resolves with no results). */
  runQueue(queue: SharedQueue): Promise<number[]> {
    return this.send({ queue });
  }

  private send(body: { groups: RegionPart; after?: QueueDone } | { queue: SharedQueue }): Promise<number[]> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.handle.ref();
      this.pending.set(id, { resolve, reject });
      this.handle.post({ id, ...body });
    });
  }

  /** Instantiate the kernels over a new region (handled before any later call). */
  addRegion(module: WebAssembly.Module, region: RegionMemory): void {
    if (!this.broken) this.handle.post({ type: 'region', module, regions: [region] });
  }

  terminate(): void {
    this.fail(new Error('the CPU worker pool was shut down'));
    this.handle.terminate();
  }

  /** @internal tests: end the thread without telling this object, as a crash would */
  kill(): void {
    this.handle.terminate();
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
    this.handle.unref();
  }
}

/**
 * A fixed set of workers over the shared memory regions, started on first use. `run(parts)` gives
 * part i to worker i (round-robin past the pool size) and resolves with each part's return values.
 */
export class CpuPool {
  readonly size: number;
  private readonly module: WebAssembly.Module;
  private readonly regions: RegionMemory[];
  private workers: Promise<PoolWorker[]> | null = null;
  /** The workers once started: parts are then posted synchronously, before run() returns. */
  private ready: PoolWorker[] | null = null;
  private next = 0;
  private closed = false;
  /** Parts posted to workers so far. */
  partsRun = 0;

  constructor(module: WebAssembly.Module, regions: RegionMemory[], size: number) {
    this.module = module;
    this.regions = [...regions];
    this.size = size;
  }

  /** A region created after the pool: started workers instantiate the kernels over it now. */
  addRegion(region: RegionMemory): void {
    this.regions.push(region);
    for (const worker of this.ready ?? []) worker.addRegion(this.module, region);
  }

  /** Whether the workers have been asked for (the pool starts lazily). */
  get started(): boolean {
    return this.workers !== null;
  }

  /**
   * Run each part on its own worker; resolves with every part's results, in part order. Once
   * the pool has started, the parts are posted before this returns, so the caller can compute its
   * own share meanwhile.
   */
  run(parts: RegionPart[]): Promise<number[][]> {
    if (this.closed) return Promise.reject(new Error('the CPU worker pool was shut down'));
    if (this.ready) return this.post(this.ready, parts);
    return this.start().then((workers) => this.post(workers, parts));
  }

  /**
   * run(), but settling every part on its own: resolves only when no part is still running
   * (a failed part's worker is dead or never started), with each part's outcome.
   */
  runSettled(parts: RegionPart[], after?: QueueDone): Promise<PromiseSettledResult<number[]>[]> {
    if (this.closed) return Promise.resolve(parts.map(() => ({ status: 'rejected' as const, reason: new Error('the CPU worker pool was shut down') })));
    const posted = this.ready
      ? Promise.resolve(this.postEach(this.ready, parts, after))
      : this.start().then((workers) => this.postEach(workers, parts, after), (error: unknown) => parts.map(() => Promise.reject(error)));
    return posted.then((jobs) => Promise.allSettled(jobs));
  }

  /**
   * Every worker takes items from `queue` until it is empty; resolves when no worker is still
   * running, with each worker's outcome (a failed worker may have left items it took undone).
   */
  shareSettled(queue: SharedQueue): Promise<PromiseSettledResult<number[]>[]> {
    if (this.closed) return Promise.resolve([{ status: 'rejected' as const, reason: new Error('the CPU worker pool was shut down') }]);
    const post = (workers: PoolWorker[]) => {
      this.partsRun += workers.length;
      return workers.map((worker) => worker.runQueue(queue));
    };
    const posted = this.ready
      ? Promise.resolve(post(this.ready))
      : this.start().then(post, (error: unknown) => [Promise.reject(error)]);
    return posted.then((jobs) => Promise.allSettled(jobs));
  }

  private postEach(workers: PoolWorker[], parts: RegionPart[], after?: QueueDone): Promise<number[]>[] {
    this.partsRun += parts.length;
    const first = this.next;
    this.next = (this.next + parts.length) % this.size;
    return parts.map((calls, i) => workers[(first + i) % this.size]!.run(calls, after));
  }

  private post(workers: PoolWorker[], parts: RegionPart[]): Promise<number[][]> {
    this.partsRun += parts.length;
    const first = this.next;
    this.next = (this.next + parts.length) % this.size;
    return Promise.all(parts.map((calls, i) => workers[(first + i) % this.size]!.run(calls)));
  }

  /** Start the workers now (they are otherwise started by the first run). */
  start(): Promise<PoolWorker[]> {
    const known = this.regions.length;
    this.workers ??= Promise.allSettled(Array.from({ length: this.size }, () => PoolWorker.start(this.module, this.regions.slice(0, known))))
      .then((settled) => {
        const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        const failure = settled.find((s) => s.status === 'rejected');
        if (!failure) {
          if (this.closed) for (const worker of started) worker.terminate();
          else {
            // Regions created while the workers started.
            for (const region of this.regions.slice(known)) for (const worker of started) worker.addRegion(this.module, region);
            this.ready = started;
          }
          return started;
        }
        for (const worker of started) worker.terminate();
        this.workers = null;
        throw failure.reason;
      });
    return this.workers;
  }

  /** @internal tests: kill the workers behind the pool's back, as a crash would */
  killWorkersForTest(): void {
    for (const worker of this.ready ?? []) worker.kill();
  }

  /** Stop every worker; pending parts are rejected. */
  async terminate(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = null;
    this.ready = null;
    if (!workers) return;
    const started = await workers.catch(() => [] as PoolWorker[]);
    for (const worker of started) worker.terminate();
  }
}
