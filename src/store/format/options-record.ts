// The options record (docs/FORMAT.md, "Options record"): settings that change answers, in
// entries a reader can skip by length, so later releases add settings without a new version.
import { OPTION_ENTRY_BYTES, OPTION_IGNORABLE, OPTION_TYPE } from './constants.js';
import { invalidFile, invalidImage } from './errors.js';
import { decodeUtf8, isWellFormed, utf8Encoder, viewOf } from './binary.js';
import type { FileOption } from './types.js';

/** The record's bytes; INVALID_ARGUMENT for an option that cannot be written. */
export function encodeOptions(options: readonly FileOption[]): Uint8Array {
  if (!Array.isArray(options)) throw invalidImage('header.options must be an array of { name, value, ignorable }', 'options');
  const seen = new Set<string>();
  const entries = options.map((option, i) => {
    const where = `header.options[${i}]`;
    if (typeof option !== 'object' || option === null) throw invalidImage(`${where} must be { name, value, ignorable }`, 'options');
    const { name, value, ignorable } = option;
    if (typeof name !== 'string' || !isWellFormed(name)) throw invalidImage(`${where}.name must be a well-formed string`, 'options');
    const nameBytes = utf8Encoder.encode(name);
    if (nameBytes.length < 1 || nameBytes.length > 0xffff) throw invalidImage(`${where}.name must be 1 to 65535 bytes of UTF-8`, 'options');
    if (seen.has(name)) throw invalidImage(`${where}: option '${name}' appears twice`, 'options');
    seen.add(name);
    if (typeof ignorable !== 'boolean') throw invalidImage(`${where}.ignorable must be a boolean`, 'options');
    let type: number;
    let valueBytes: Uint8Array;
    if (typeof value === 'boolean') {
      type = OPTION_TYPE.boolean;
      valueBytes = Uint8Array.of(value ? 1 : 0);
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw invalidImage(`${where}.value must be finite, got ${value}`, 'options');
      type = OPTION_TYPE.number;
      valueBytes = new Uint8Array(8);
      viewOf(valueBytes).setFloat64(0, value, true);
    } else if (typeof value === 'string' && isWellFormed(value)) {
      type = OPTION_TYPE.string;
      valueBytes = utf8Encoder.encode(value);
    } else {
      throw invalidImage(`${where}.value must be a boolean, a finite number or a well-formed string`, 'options');
    }
    return { flags: ignorable ? OPTION_IGNORABLE : 0, type, nameBytes, valueBytes };
  });
  const total = entries.reduce((sum, e) => sum + OPTION_ENTRY_BYTES + e.nameBytes.length + e.valueBytes.length, 0);
  const out = new Uint8Array(total);
  const view = viewOf(out);
  let at = 0;
  for (const e of entries) {
    view.setUint8(at, e.flags);
    view.setUint8(at + 1, e.type);
    view.setUint16(at + 2, e.nameBytes.length, true);
    view.setUint32(at + 4, e.valueBytes.length, true);
    out.set(e.nameBytes, at + OPTION_ENTRY_BYTES);
    out.set(e.valueBytes, at + OPTION_ENTRY_BYTES + e.nameBytes.length);
    at += OPTION_ENTRY_BYTES + e.nameBytes.length + e.valueBytes.length;
  }
  return out;
}

/**
 * The `count` entries that fill `bytes` exactly (an ignorable entry of a value type this
 * version does not know is skipped); INVALID_FILE for a malformed record.
 */
export function decodeOptions(bytes: Uint8Array, count: number, where: string): FileOption[] {
  const view = viewOf(bytes);
  const options: FileOption[] = [];
  const seen = new Set<string>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    const entry = `${where} option ${i}`;
    if (at + OPTION_ENTRY_BYTES > bytes.length) throw invalidFile(`${entry} runs past the header's end`, 'options');
    const flags = view.getUint8(at);
    const type = view.getUint8(at + 1);
    const nameLength = view.getUint16(at + 2, true);
    const valueLength = view.getUint32(at + 4, true);
    const end = at + OPTION_ENTRY_BYTES + nameLength + valueLength;
    if (end > bytes.length) throw invalidFile(`${entry} runs past the header's end`, 'options');
    if ((flags & ~OPTION_IGNORABLE) !== 0) throw invalidFile(`${entry} has unknown flags ${flags}`, 'options');
    if (nameLength === 0) throw invalidFile(`${entry} has an empty name`, 'options');
    const name = decodeText(bytes.subarray(at + OPTION_ENTRY_BYTES, at + OPTION_ENTRY_BYTES + nameLength), `${entry}'s name`);
    if (seen.has(name)) throw invalidFile(`${where}: option '${name}' appears twice`, 'options');
    seen.add(name);
    const ignorable = (flags & OPTION_IGNORABLE) !== 0;
    const valueBytes = bytes.subarray(at + OPTION_ENTRY_BYTES + nameLength, end);
    const value = decodeValue(type, valueBytes, `option '${name}'`, ignorable);
    if (value !== undefined) options.push({ name, value, ignorable });
    at = end;
  }
  if (at !== bytes.length) throw invalidFile(`${where} has ${bytes.length - at} bytes after its options`, 'options');
  return options;
}

function decodeValue(type: number, bytes: Uint8Array, what: string, ignorable: boolean): boolean | number | string | undefined {
  if (type === OPTION_TYPE.boolean) {
    if (bytes.length !== 1 || bytes[0]! > 1) throw invalidFile(`${what}: a boolean must be one byte, 0 or 1`, 'options');
    return bytes[0] === 1;
  }
  if (type === OPTION_TYPE.number) {
    if (bytes.length !== 8) throw invalidFile(`${what}: a number must be 8 bytes`, 'options');
    const value = viewOf(bytes).getFloat64(0, true);
    if (!Number.isFinite(value)) throw invalidFile(`${what} is not finite`, 'options');
    return value;
  }
  if (type === OPTION_TYPE.string) return decodeText(bytes, what);
  // A value type from a later version: skippable only where the writer said so.
  if (ignorable) return undefined;
  throw invalidFile(`${what} has an unknown value type ${type}`, 'options');
}

function decodeText(bytes: Uint8Array, what: string): string {
  const text = decodeUtf8(bytes);
  if (text === null) throw invalidFile(`${what} is not valid UTF-8`, 'options');
  return text;
}
