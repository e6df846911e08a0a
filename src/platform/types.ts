// What differs between Node and browsers, in one place. Library modules import it as
// '#platform' (package.json "imports"): Node and Node-targeting bundlers resolve that to
// node.ts, browsers and browser-targeting bundlers (and any runtime without the `node`
// condition) to browser.ts. Node built-ins and the `webgpu` package are reached from node.ts
// only, so a browser build never contains them; test/browser-bundle.test.ts checks that.
import type { Log } from '../logger.js';

/** A worker thread as the CPU pool (src/cpu/pool.ts) uses it, Node's and the browser's alike. */
export interface WorkerHandle {
  post(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  onError(handler: (error: Error) => void): void;
  /** The thread ended (Node: crashed or terminated; browsers report errors only). */
  onExit(handler: () => void): void;
  /** Node: keep the process alive while a job is pending, let it exit while the worker idles. */
  ref(): void;
  unref(): void;
  terminate(): void;
}

/** A file open for reading (Platform.openFileForReading). Failures reject with IO_ERROR. */
export interface FileReadHandle {
  /** The file's size in bytes when it was opened. */
  readonly size: number;
  /** Reads up to `into.length` bytes at byte `position` into `into`: how many (0 at the end). */
  read(into: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

/** The functions both implementations of '#platform' export (checked by contract.ts). */
export interface Platform {
  /** Which implementation was resolved. */
  readonly platformName: 'node' | 'browser';
  /** The bytes at `url`: `file:` URLs are read from disk in Node; anything else is fetched. */
  loadBytes(url: URL): Promise<ArrayBuffer>;
  /**
   * The WebGPU `GPU` to use when the caller passed none: `navigator.gpu` where there is one;
   * in Node otherwise the optional `webgpu` package (Dawn), when it is installed and a child
   * process found a hardware adapter with it (so that Dawn's own output, which the library
   * cannot intercept, stays in that child: see node.ts). Null when there is none; never throws.
   * What was found goes to `log` (debug).
   */
  defaultGpu(log?: Log): Promise<GPU | null>;
  /** A text file's contents (Node only; browsers have no files and reject with an Error). */
  readTextFile(path: string): Promise<string>;
  /** Environment variables that may override config (process.env in Node; none in browsers). */
  environment(): Record<string, string | undefined> | undefined;
  /**
   * Bytes of RAM this process may still take, as far as the platform can tell (Node: the
   * system's available memory, and the cgroup limit less this process's resident size where one
   * is set), or null where it cannot tell (browsers). Synchronous: asked before a memory grows.
   */
  memoryAvailable(): number | null;
  /** Cores this process may use (Node: os.availableParallelism(); browsers: hardwareConcurrency). */
  availableCores(): Promise<number>;
  /**
   * Whether kernels can run in threads over a shared memory: Node always; browsers only when
   * crossOriginIsolated (SharedArrayBuffer needs it) and Worker exists.
   */
  threadsSupported(): boolean;
  /**
   * A worker running `body`, a script without imports that calls `listen(handler)` and
   * `post(message)` (this function defines both for its platform).
   */
  startWorker(body: string): Promise<WorkerHandle>;
  /**
   * A file opened for reading in pieces (Node only; browsers reject with INVALID_ARGUMENT: pass
   * a Blob, bytes or a stream). A failing file system call rejects with IO_ERROR, the original
   * error as `cause`.
   */
  openFileForReading(path: string): Promise<FileReadHandle>;
  /**
   * Writes `pieces` to `path` atomically (Node only): into a temporary file in the same folder
   * (`.NAME.PID.RANDOM.hs-tmp`), fsync, rename over `path`, fsync the folder. On any failure
   * the temporary file is removed and an earlier file at `path` is left as it was; a file
   * system failure rejects with IO_ERROR (`cause`: the original error), an error thrown by
   * `pieces` is rethrown as it is. Temporary files left by killed processes for the same
   * `path` (their PID gone on this machine) are removed first. A piece must stay unchanged
   * while the next one is made (the write of one overlaps the making of the next).
   */
  writeFileAtomically(path: string, pieces: AsyncIterable<Uint8Array>): Promise<void>;
}
