import { HybridError } from '../../errors.js';
import { DEFAULT_PIECE_BYTES, MIN_PIECE_BYTES } from './constants.js';

/** A piece or buffer size option: default 4 MiB, an integer of at least 64 KiB. */
export function pieceBytesOption(value: unknown, field: string): number {
  if (value === undefined) return DEFAULT_PIECE_BYTES;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_PIECE_BYTES) {
    throw new HybridError('INVALID_ARGUMENT', `${field} must be an integer >= ${MIN_PIECE_BYTES}, got ${String(value)}`, field);
  }
  return value;
}
