import { HybridError } from '../../errors.js';

/** Anything wrong with a file's bytes: INVALID_FILE, `field` naming the header field when there is one. */
export function invalidFile(message: string, field?: string): HybridError {
  return new HybridError('INVALID_FILE', message, field);
}

/** An image the encoder cannot write (a store bug or a bad argument): INVALID_ARGUMENT. */
export function invalidImage(message: string, field: string): HybridError {
  return new HybridError('INVALID_ARGUMENT', message, field);
}
