import type { BackendChoice } from './types.js';
import type { IndexDtype, Metric } from './store/types.js';
import { HybridError } from './errors.js';

/** `value` must be a Float32Array (any view: offsets, shared buffers), not over a detached buffer. */
export function assertFloat32Array(value: unknown, argument: string): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    throw new HybridError('INVALID_ARGUMENT',
      `${argument} must be a Float32Array, got ${describe(value)}`, argument);
  }
  if (value.length === 0 && isDetached(value.buffer)) {
    throw new HybridError('INVALID_ARGUMENT',
      `${argument} is a view of a detached ArrayBuffer (transferred away); its data is gone`, argument);
  }
}

/**
 * Whether an (empty-looking) buffer was detached by a transfer. Node 20 has no
 * ArrayBuffer.prototype.detached; cloning a detached buffer throws, and an empty one is cheap.
 */
function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as { detached?: boolean }).detached;
  if (typeof flag === 'boolean') return flag;
  if (buffer.byteLength !== 0 || !(buffer instanceof ArrayBuffer)) return false;
  try {
    structuredClone(buffer);
    return false;
  } catch {
    return true;
  }
}

/** Non-empty Float32Array. */
export function assertNonEmpty(value: unknown, argument: string): asserts value is Float32Array {
  assertFloat32Array(value, argument);
  if (value.length === 0) throw new HybridError('EMPTY_INPUT', `${argument} is empty`, argument);
}

/** A dimension: an integer >= 1. */
export function assertDim(dim: unknown, argument = 'dim'): asserts dim is number {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) {
    throw new HybridError('INVALID_ARGUMENT',
      `${argument} must be an integer >= 1, got ${describe(dim)}`, argument);
  }
}

/** `value.length` is a whole number of rows of `dim`. */
export function assertRows(value: Float32Array, dim: number, argument: string): number {
  if (value.length % dim !== 0) {
    throw new HybridError('DIMENSION_MISMATCH',
      `${argument}.length ${value.length} is not a multiple of dim ${dim}`, argument);
  }
  return value.length / dim;
}

/** A query of exactly `dim` values. */
export function assertQuery(query: unknown, dim: number, argument = 'query'): asserts query is Float32Array {
  assertNonEmpty(query, argument);
  if (query.length !== dim) {
    throw new HybridError('DIMENSION_MISMATCH',
      `${argument}.length is ${query.length}, the index has dim ${dim}`, argument);
  }
}

/** k: an integer >= 1 (k above the corpus size returns the whole corpus). */
export function assertK(k: unknown): asserts k is number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new HybridError('INVALID_ARGUMENT', `k must be an integer >= 1, got ${describe(k)}`, 'k');
  }
}

/** The per-call backend option. */
export function backendOption(value: unknown): BackendChoice {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'cpu' || value === 'gpu') return value;
  throw new HybridError('INVALID_ARGUMENT',
    `backend must be 'auto', 'cpu' or 'gpu', got ${describe(value)}`, 'backend');
}

/** The index dtype option. */
export function dtypeOption(value: unknown): IndexDtype {
  if (value === undefined) return 'f32';
  if (value === 'f32' || value === 'f16' || value === 'i8') return value;
  throw new HybridError('INVALID_ARGUMENT', `dtype must be 'f32', 'f16' or 'i8', got ${describe(value)}`, 'dtype');
}

/** The index metric option. */
export function metricOption(value: unknown): Metric {
  if (value === undefined) return 'cosine';
  if (value === 'cosine' || value === 'dot' || value === 'l2') return value;
  throw new HybridError('INVALID_ARGUMENT', `metric must be 'cosine', 'dot' or 'l2', got ${describe(value)}`, 'metric');
}

/** An options object with only the keys a call knows (a typo is an error, not ignored). */
export function optionsObject<T extends object>(value: unknown, allowed: readonly string[], argument = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HybridError('INVALID_ARGUMENT', `${argument} must be an object, got ${describe(value)}`, argument);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new HybridError('INVALID_ARGUMENT',
        `${argument}.${key} is not a known option (known: ${allowed.join(', ')})`, `${argument}.${key}`);
    }
  }
  return value as Partial<T>;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'undefined') return 'undefined';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'function' ? 'a function' : 'an object';
}

/** INVALID_ARGUMENT for an extra argument a call does not take (a misplaced option, say). */
export function assertArity(given: number, most: number, signature: string): void {
  if (given > most) {
    throw new HybridError('INVALID_ARGUMENT', `${signature} takes ${most} argument${most === 1 ? '' : 's'}, got ${given}`, 'arguments');
  }
}
