import { HybridError } from '../errors.js';
import type { FileReadHandle, WorkerHandle } from './types.js';

// '#platform' in browsers and every runtime without the `node` condition (package.json
// "imports"): web APIs only, no Node built-ins, no `webgpu` package. See types.ts.

/** Which implementation of '#platform' this is. */
export const platformName = 'browser' as const;

/** The bytes at `url` (see Platform.loadBytes). */
export async function loadBytes(url: URL): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetch ${url.href}: ${response.status}`);
  return response.arrayBuffer();
}

/** The `GPU` to use when the caller passed none, or null (see Platform.defaultGpu). */
export async function defaultGpu(): Promise<GPU | null> {
  // Absent in browsers without WebGPU; present but offering no adapter on others (Android,
  // Linux without the flag): the engine then runs on the CPU.
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? null;
}

/** A text file's contents (see Platform.readTextFile). */
export async function readTextFile(path: string): Promise<string> {
  throw new Error(`reading the file ${path} needs Node; in a browser pass the text to parseConfigToml`);
}

/** Environment variables that may override config (see Platform.environment). */
export function environment(): Record<string, string | undefined> | undefined {
  return undefined;
}

/** Browsers do not say how much RAM a page may take (see Platform.memoryAvailable). */
export function memoryAvailable(): number | null {
  return null;
}

/** Cores this process may use (see Platform.availableCores). */
export function availableCores(): Promise<number> {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Promise.resolve(typeof cores === 'number' && cores >= 1 ? cores : 1);
}

/** Threads over shared memory: only in a crossOriginIsolated page (see Platform.threadsSupported). */
export function threadsSupported(): boolean {
  const scope = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer === 'function' && typeof scope.Worker === 'function' && scope.crossOriginIsolated === true;
}

const WORKER_PRELUDE = `
const listen = (handler) => { self.onmessage = (event) => handler(event.data); };
const post = (message) => self.postMessage(message);
`;

/**
 * A Web Worker running `body`, from a blob: URL (the bundle stays one file; a blob worker
 * inherits the page's cross-origin isolation). See Platform.startWorker.
 */
export function startWorker(body: string): Promise<WorkerHandle> {
  const url = URL.createObjectURL(new Blob([WORKER_PRELUDE + body], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return Promise.resolve({
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.addEventListener('message', (event) => handler(event.data)),
    onError: (handler) => worker.addEventListener('error', (event) => handler(new Error(event.message || 'worker error'))),
    onExit: () => undefined,
    ref: () => undefined,
    unref: () => undefined,
    terminate: () => worker.terminate(),
  });
}

/** Paths are Node's (see Platform.openFileForReading): in a browser, pass a Blob, bytes or a stream. */
export function openFileForReading(path: string): Promise<FileReadHandle> {
  return Promise.reject(new HybridError('INVALID_ARGUMENT',
    `reading the file ${path} needs Node; in a browser pass a Blob (OPFS, IndexedDB, fetch), a Uint8Array, an ArrayBuffer or a ReadableStream`, 'source'));
}

/** Paths are Node's (see Platform.writeFileAtomically): in a browser, write `toBytes()` where you keep it. */
export function writeFileAtomically(path: string, _pieces: AsyncIterable<Uint8Array>): Promise<void> {
  return Promise.reject(new HybridError('INVALID_ARGUMENT',
    `saving to the file ${path} needs Node; in a browser keep the bytes of toBytes() (OPFS, IndexedDB, a download)`, 'path'));
}
