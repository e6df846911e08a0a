import { freemem } from 'node:os';
import { HybridError } from '../errors.js';
import { silent, type Log } from '../logger.js';
import type { FileReadHandle, WorkerHandle } from './types.js';

// '#platform' in Node (package.json "imports", condition `node`): the only module that reaches
// Node built-ins and the optional `webgpu` package. See types.ts.

/** Which implementation of '#platform' this is. */
export const platformName = 'node' as const;

/** The bytes at `url` (see Platform.loadBytes). */
export async function loadBytes(url: URL): Promise<ArrayBuffer> {
  if (url.protocol !== 'file:') {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`fetch ${url.href}: ${response.status}`);
    return response.arrayBuffer();
  }
  const { readFile } = await import('node:fs/promises');
  const file = await readFile(url);
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
}

/**
 * What the adapter probe found: the adapter's info (null: no adapter), or why the probe failed.
 * `software`: the adapter emulates a GPU on the CPU (Mesa lavapipe/llvmpipe, SwiftShader).
 */
export type AdapterProbe =
  | { adapter: { vendor: string; architecture: string; device: string; description: string; fallback: boolean } | null }
  | { failed: string };

/** Marks the probe's report among whatever else the child prints (Dawn writes to stdout too). */
const PROBE_MARK = 'hybrid-similarity-adapter-probe:';

/**
 * The child's script: load `webgpu` from the path it is given, ask for an adapter as
 * acquireDevice does, print its info after the mark, and exit (a Dawn instance would otherwise
 * keep the process alive).
 */
const PROBE_SCRIPT = `
import { pathToFileURL } from 'node:url';
const { create } = await import(pathToFileURL(process.env.HYBRID_SIMILARITY_WEBGPU_ENTRY).href);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter ? adapter.info : null;
const report = info ? {
  vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '',
  description: info.description ?? '', fallback: adapter.isFallbackAdapter === true || info.isFallbackAdapter === true,
} : null;
process.stdout.write('\\n${PROBE_MARK}' + JSON.stringify({ adapter: report }) + '\\n', () => process.exit(0));
`;

/** Longest wait for the probe (Dawn's Vulkan start-up takes ~50-200 ms on a warm machine). */
const PROBE_TIMEOUT_MS = 20_000;

let probed: Promise<AdapterProbe> | null = null;

/**
 * Ask a child process whether `webgpu` (at `entry`) finds an adapter, and which. Dawn prints
 * from C++ straight to the process's stdout and stderr (limit notices on most Vulkan drivers,
 * "vkCreateInstance: Found no drivers!" with a path of its build tree where there is no
 * driver); no option, toggle or callback of the package routes those lines. In the child they
 * are captured and handed to `log` instead, and this process loads Dawn only where a device
 * will be used. Once per process: the adapters do not change while it runs.
 */
function probeAdapter(entry: string, log: Log): Promise<AdapterProbe> {
  probed ??= (async () => {
    const { spawn } = await import('node:child_process');
    return new Promise<AdapterProbe>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT], {
        // ELECTRON_RUN_AS_NODE: under Electron, execPath is the app; this makes it plain Node.
        env: { ...process.env, HYBRID_SIMILARITY_WEBGPU_ENTRY: entry, ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
      const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
      timer.unref?.();
      const finish = (failure: string | null) => {
        clearTimeout(timer);
        const lines = `${stdout}\n${stderr}`.split('\n').map((line) => line.trimEnd()).filter(Boolean);
        const reportLine = lines.find((line) => line.startsWith(PROBE_MARK));
        for (const line of lines) if (line !== reportLine) log('debug', `webgpu (adapter probe, Dawn's output): ${line}`);
        if (reportLine && failure === null) {
          try {
            resolve(JSON.parse(reportLine.slice(PROBE_MARK.length)) as AdapterProbe);
            return;
          } catch {
            failure = 'unreadable report';
          }
        }
        resolve({ failed: failure ?? 'no report' });
      };
      child.on('error', (error) => finish(`could not start a process (${error.message})`));
      child.on('close', (code, signal) => finish(code === 0 ? null : `exit ${signal ?? code}`));
    });
  })();
  return probed;
}

/** Adapter info that names a CPU emulation (Mesa lavapipe/llvmpipe, SwiftShader). */
function isSoftware(adapter: { architecture: string; device: string; description: string; fallback: boolean }): boolean {
  return adapter.fallback || /llvmpipe|lavapipe|swiftshader|software/i.test(`${adapter.architecture} ${adapter.device} ${adapter.description}`);
}

/**
 * The `GPU` to use when the caller passed none, or null (see Platform.defaultGpu): in Node the
 * optional `webgpu` package, when it is installed and the probe (a child process) found a
 * hardware adapter. Software adapters are left alone here as in acquireDevice: pass
 * `gpu: create([])` to use one.
 */
export async function defaultGpu(log: Log = silent): Promise<GPU | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  let entry: string;
  try {
    const { createRequire } = await import('node:module');
    entry = createRequire(import.meta.url).resolve('webgpu');
  } catch {
    log('debug', 'GPU: the optional package `webgpu` is not installed (npm install webgpu to use a GPU in Node); CPU only');
    return null;
  }
  const probe = await probeAdapter(entry, log);
  if ('failed' in probe) {
    log('warn', `GPU: the adapter probe failed (${probe.failed}); CPU only`);
    return null;
  }
  if (!probe.adapter) {
    log('debug', 'GPU: webgpu found no adapter; CPU only');
    return null;
  }
  const name = probe.adapter.description || probe.adapter.device || probe.adapter.vendor;
  if (isSoftware(probe.adapter)) {
    log('debug', `GPU: the only adapter is a software one (${name}), slower than the WASM kernels; CPU only (pass gpu: create([]) to use it anyway)`);
    return null;
  }
  log('debug', `GPU: using ${name} through webgpu`);
  try {
    const { pathToFileURL } = await import('node:url');
    const module = (await import(/* @vite-ignore */ pathToFileURL(entry).href)) as { create: (flags: string[]) => GPU };
    return module.create([]);
  } catch (error) {
    log('warn', `GPU: webgpu could not be loaded (${error instanceof Error ? error.message : String(error)}); CPU only`);
    return null;
  }
}

/** A text file's contents (see Platform.readTextFile). */
export async function readTextFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

/** Environment variables that may override config (see Platform.environment). */
export function environment(): Record<string, string | undefined> | undefined {
  return process.env;
}

/** RAM this process may still take (see Platform.memoryAvailable). */
export function memoryAvailable(): number | null {
  let available = freemem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  // Unconstrained processes report a huge number (2^64 or so).
  if (constrained && constrained < 2 ** 50) available = Math.min(available, constrained - process.memoryUsage.rss());
  return Math.max(0, available);
}

/** Cores this process may use (see Platform.availableCores). */
export async function availableCores(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : Math.max(1, os.cpus().length);
}

/** Threads over shared memory: always in Node (see Platform.threadsSupported). */
export function threadsSupported(): boolean {
  return typeof SharedArrayBuffer === 'function';
}

const WORKER_PRELUDE = `
const { parentPort } = require('node:worker_threads');
const listen = (handler) => parentPort.on('message', handler);
const post = (message) => parentPort.postMessage(message);
`;

/** A worker_threads Worker running `body` (see Platform.startWorker). */
export async function startWorker(body: string): Promise<WorkerHandle> {
  const { Worker } = await import('node:worker_threads');
  // execArgv []: the worker must not inherit flags such as --input-type=module (the prelude is a
  // CommonJS script) or the parent's -e script.
  const worker = new Worker(WORKER_PRELUDE + body, { eval: true, execArgv: [] });
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.on('message', handler),
    onError: (handler) => worker.on('error', handler),
    onExit: (handler) => worker.on('exit', handler),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: () => void worker.terminate(),
  };
}

/** An IO_ERROR for a failing file system call, the original error as `cause`. */
function ioError(what: string, error: unknown): HybridError {
  if (error instanceof HybridError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HybridError('IO_ERROR', `${what}: ${message}`, 'path', { cause: error });
}

/** A file opened for reading in pieces (see Platform.openFileForReading). */
export async function openFileForReading(path: string): Promise<FileReadHandle> {
  const { open } = await import('node:fs/promises');
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw ioError(`opening ${path}`, error);
  }
  let size: number;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    size = stat.size;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw ioError(`reading ${path}`, error);
  }
  return {
    size,
    async read(into, position) {
      try {
        return (await handle.read(into, 0, into.length, position)).bytesRead;
      } catch (error) {
        throw ioError(`reading ${path}`, error);
      }
    },
    async close() {
      try {
        await handle.close();
      } catch (error) {
        throw ioError(`closing ${path}`, error);
      }
    },
  };
}

/** The suffix that marks the temporary files of writeFileAtomically. */
const TEMPORARY_SUFFIX = '.hs-tmp';

/** Writes `pieces` to `path` atomically (see Platform.writeFileAtomically). */
export async function writeFileAtomically(path: string, pieces: AsyncIterable<Uint8Array>): Promise<void> {
  const fs = await import('node:fs/promises');
  const { basename, dirname, join } = await import('node:path');
  const { randomBytes } = await import('node:crypto');
  const folder = dirname(path);
  const name = basename(path);
  await removeAbandonedTemporaries(folder, name);
  const temporary = join(folder, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}${TEMPORARY_SUFFIX}`);
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined;
  let step = `creating ${temporary}`;
  const iterator = pieces[Symbol.asyncIterator]();
  // An error of the pieces themselves (the encoder's) is not a file system failure.
  let fromPieces: { error: unknown } | undefined;
  try {
    const file = await fs.open(temporary, 'wx');
    handle = file;
    step = `writing ${temporary}`;
    // One write in flight while the next piece is made (the encoder hashes it): the write runs
    // in libuv's thread pool, so the two overlap on two cores. Pieces are never reused by
    // their maker, so the one being written stays as it is.
    const writeAll = async (piece: Uint8Array) => {
      for (let at = 0; at < piece.length;) at += (await file.write(piece, at, piece.length - at)).bytesWritten;
    };
    let writing: Promise<void> = Promise.resolve();
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        await writing.catch(() => undefined);
        fromPieces = { error };
        throw error;
      }
      await writing;
      if (next.done) break;
      writing = writeAll(next.value);
      // Its failure is awaited (and reported) above; until then it must not count as unhandled.
      writing.catch(() => undefined);
    }
    step = `syncing ${temporary}`;
    await handle.sync();
    step = `closing ${temporary}`;
    await handle.close();
    handle = undefined;
    step = `renaming ${temporary} to ${path}`;
    await fs.rename(temporary, path);
  } catch (error) {
    if (!fromPieces) await iterator.return?.().catch(() => undefined);
    await handle?.close().catch(() => undefined);
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw fromPieces ? fromPieces.error : ioError(step, error);
  }
  // The rename is durable only once the folder's entry is on disk. (Windows cannot open a folder
  // this way; its rename is durable through the file system's own journal.)
  if (process.platform === 'win32') return;
  try {
    const directory = await fs.open(folder, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch (error) {
    throw ioError(`syncing the folder ${folder}`, error);
  }
}

/**
 * Removes the temporary files that saves to `folder/name` left when their process was killed
 * (`.NAME.PID.RANDOM.hs-tmp` whose PID no longer runs on this machine). Best effort: a file that
 * cannot be checked or removed is left alone.
 */
async function removeAbandonedTemporaries(folder: string, name: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let entries: string[];
  try {
    entries = await fs.readdir(folder);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith(TEMPORARY_SUFFIX)) continue;
    const match = /^(\d+)\.[0-9a-f]+$/.exec(entry.slice(prefix.length, -TEMPORARY_SUFFIX.length));
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processRuns(pid)) continue;
    await fs.rm(join(folder, entry), { force: true }).catch(() => undefined);
  }
}

/** Whether a process with this id runs on this machine (signal 0 checks without sending). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}
