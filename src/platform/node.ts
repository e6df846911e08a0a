import { freemem } from 'node:os';
import type { WorkerHandle } from './types.js';

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

/** The `GPU` to use when the caller passed none, or null (see Platform.defaultGpu). */
export async function defaultGpu(): Promise<GPU | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  try {
    const name = 'webgpu';
    const module = (await import(/* @vite-ignore */ name)) as { create: (flags: string[]) => GPU };
    return module.create([]);
  } catch {
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
