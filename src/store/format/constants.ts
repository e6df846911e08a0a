// The numbers of docs/FORMAT.md, in one place.

/** `\x89HSF\r\n\x1a\n`: the first 8 bytes of every file. */
export const MAGIC = Uint8Array.of(0x89, 0x48, 0x53, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

/** The format version this library writes; it reads every version in READABLE_VERSIONS. */
export const FORMAT_VERSION = 1;
export const READABLE_VERSIONS: readonly number[] = [1];

/** The file kinds (file header, offset 12). */
export const FILE_KIND = { index: 1, graph: 2 } as const;
export type FileKindName = keyof typeof FILE_KIND;

export const FILE_HEADER_BYTES = 32;
/** type u32, flags u32, body length u64, frame checksum u64. */
export const FRAME_BYTES = 24;
export const CHECKSUM_BYTES = 8;
/** Sections, and so bodies, start at multiples of this. */
export const ALIGNMENT = 8;

/** Section types (frame, offset 0). */
export const SECTION = {
  INDEX_HEADER: 1,
  SEGMENT: 2,
  VALUES: 3,
  SCALES: 4,
  DEAD: 5,
  NUMBER_KEYS: 6,
  STRING_KEYS: 7,
  GRAPH_HEADER: 16,
  GRAPH_OFFSETS: 17,
  GRAPH_SOURCES: 18,
  GRAPH_WEIGHTS: 19,
  END: 255,
} as const;
export type SectionName = keyof typeof SECTION;

/** A section type's name, or `type N` for one this version does not know. */
export function sectionName(type: number): string {
  for (const [name, value] of Object.entries(SECTION)) if (value === type) return name;
  return `type ${type}`;
}

/** Header codes, 1-based so that zeroed bytes never read as a valid value. */
export const METRIC_CODES = ['cosine', 'dot', 'l2'] as const;
export const DTYPE_CODES = ['f32', 'f16', 'i8'] as const;
export const KEY_KIND_CODES = ['default', 'number', 'string'] as const;

/** Bytes per stored component. */
export const DTYPE_WIDTH = { f32: 4, f16: 2, i8: 1 } as const;

/** Fixed parts of the header and record bodies. */
export const INDEX_HEADER_BYTES = 40;
export const GRAPH_HEADER_BYTES = 16;
export const SEGMENT_BYTES = 24;
export const END_BYTES = 16;
export const OPTION_ENTRY_BYTES = 8;

/** Option value types (options record). */
export const OPTION_TYPE = { boolean: 1, number: 2, string: 3 } as const;
/** Option flags: bit 0, a reader that does not know the option may skip it. */
export const OPTION_IGNORABLE = 1;

/** Default and smallest piece / buffer size. */
export const DEFAULT_PIECE_BYTES = 4 << 20;
export const MIN_PIECE_BYTES = 64 << 10;

/** Largest value a u64 count or key may hold (JavaScript's safe integers). */
export const MAX_U64_VALUE = Number.MAX_SAFE_INTEGER;
