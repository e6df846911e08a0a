// `hybrid-similarity inspect FILE`: a file's header and sections, every checksum verified, and
// what is wrong with it if anything is (the CLI in src/cli.ts only prints this).
import { HybridError } from '../../errors.js';
import { decodeFile, type DecodedFile } from './decode.js';
import type { DecodeOptions, FileOption, FileSource, GraphHeader, GraphSink, IndexHeader, IndexSink, SectionReport } from './types.js';

/** What inspectFile found. */
export interface FileInspection {
  /** Every section read and every checksum verified. */
  readonly valid: boolean;
  /** INVALID_FILE (what is wrong with the bytes) or IO_ERROR, when not valid. */
  readonly problem: HybridError | undefined;
  /** From the file header, once that was read. */
  readonly file: DecodedFile | undefined;
  /** The header, once its section verified. */
  readonly index: IndexHeader | undefined;
  readonly graph: GraphHeader | undefined;
  /** The sections verified, in file order (all of them when valid). */
  readonly sections: readonly SectionReport[];
}

/** Reads a whole file, verifying it, keeping only its headers. Throws only for a source of the wrong type. */
export async function inspectFile(source: FileSource, options: Omit<DecodeOptions, 'onSection'> = {}): Promise<FileInspection> {
  const sections: SectionReport[] = [];
  let index: IndexHeader | undefined;
  let graph: GraphHeader | undefined;
  const ignore = () => undefined;
  const indexSink: IndexSink = {
    begin: (header) => { index = header; }, beginSegment: ignore, values: ignore, scales: ignore, dead: ignore, keys: ignore,
    endSegment: ignore, commit: ignore, abort: ignore,
  };
  const graphSink: GraphSink = {
    begin: (header) => { graph = header; }, offsets: ignore, sources: ignore, weights: ignore, commit: ignore, abort: ignore,
  };
  try {
    const file = await decodeFile(source, { index: indexSink, graph: graphSink }, { ...options, onSection: (s) => sections.push(s) });
    return { valid: true, problem: undefined, file, index, graph, sections };
  } catch (error) {
    if (error instanceof HybridError && (error.code === 'INVALID_FILE' || error.code === 'IO_ERROR')) {
      return { valid: false, problem: error, file: undefined, index, graph, sections };
    }
    throw error;
  }
}

function formatOption(option: FileOption): string {
  return `${option.name} = ${JSON.stringify(option.value)}${option.ignorable ? ' (ignorable)' : ''}`;
}

/**
 * The inspection as text: the header, the sections verified, and for a valid file the verdict
 * (for an invalid one the caller reports `problem`).
 */
export function formatInspection(name: string, inspection: FileInspection): string {
  const lines: string[] = [];
  const { file, index, graph } = inspection;
  if (index) {
    lines.push(`${name}: hybrid-similarity index file${file ? `, format version ${file.version}, ${file.bytes} bytes` : ''}`);
    lines.push(`  dim ${index.dim}, metric ${index.metric}, dtype ${index.dtype}`);
    lines.push(`  rows ${index.rows} (live ${index.liveRows}, dead ${index.rows - index.liveRows}) in ${index.segmentCount} segment${index.segmentCount === 1 ? '' : 's'}`);
    lines.push(`  keys ${index.keyKind}${index.keyKind === 'default' ? ` (next default key ${index.nextDefaultKey})` : ''}`);
    lines.push(`  options: ${index.options.length ? index.options.map(formatOption).join(', ') : 'none'}`);
  } else if (graph) {
    lines.push(`${name}: hybrid-similarity graph file${file ? `, format version ${file.version}, ${file.bytes} bytes` : ''}`);
    lines.push(`  nodes ${graph.nodeCount}, edges ${graph.edgeCount}`);
    lines.push(`  options: ${graph.options.length ? graph.options.map(formatOption).join(', ') : 'none'}`);
  } else {
    lines.push(`${name}:`);
  }
  if (inspection.sections.length) {
    lines.push('sections (offset, name, segment, body bytes, bytes with frame and checksum):');
    for (const s of inspection.sections) {
      lines.push(`  ${String(s.offset).padStart(12)}  ${s.name.padEnd(14)} ${(s.segment === undefined ? '' : String(s.segment)).padStart(7)}  ${String(s.bodyBytes).padStart(12)}  ${String(s.totalBytes).padStart(12)}`);
    }
  }
  if (inspection.valid) lines.push(`valid: ${inspection.sections.length} sections, every checksum verified`);
  return lines.join('\n');
}

/** The inspection as JSON-ready data (the problem as { code, message }). */
export function inspectionJson(inspection: FileInspection): unknown {
  const { problem, ...rest } = inspection;
  return { ...rest, problem: problem ? { code: problem.code, message: problem.message } : null };
}
