// Little-endian fields as docs/FORMAT.md writes them.
import { ALIGNMENT, MAX_U64_VALUE } from './constants.js';
import { invalidFile } from './errors.js';

/** The bytes of any view (no copy). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Zero bytes after a body of `length` bytes, up to the next multiple of 8. */
export function paddingAfter(length: number): number {
  return (ALIGNMENT - (length % ALIGNMENT)) % ALIGNMENT;
}

const TWO_32 = 2 ** 32;

/** Writes a safe integer as a u64. */
export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % TWO_32, true);
  view.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

/** A u64 that must be a safe integer (a count or a key); INVALID_FILE naming `field` if larger. */
export function getU64(view: DataView, at: number, field: string): number {
  const high = view.getUint32(at + 4, true);
  const value = high * TWO_32 + view.getUint32(at, true);
  if (high >= 2 ** 21 || value > MAX_U64_VALUE) throw invalidFile(`${field} is above 2^53 - 1`, field);
  return value;
}

/** A DataView over exactly these bytes. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** UTF-8 bytes of a string (every string key and option is UTF-8). */
export const utf8Encoder = new TextEncoder();

/** Strict UTF-8: invalid bytes throw (so a damaged key is an error), a leading BOM is kept. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of UTF-8 bytes, or null when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  // TextDecoder refuses views of shared memory: copy those (a caller's bytes may be one).
  const own = typeof SharedArrayBuffer === 'function' && bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes;
  try {
    return utf8Decoder.decode(own);
  } catch {
    return null;
  }
}

/** Whether a string is well-formed Unicode (no lone surrogate), i.e. survives UTF-8 unchanged. */
export function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof native === 'function') return native.call(text);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}
