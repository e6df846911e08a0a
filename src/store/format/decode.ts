// Reading a file into a sink: the source opened, the file header checked, the kind's sections
// read, the end verified, and only then `commit`; on any failure `abort` and the error thrown.
import { HybridError } from '../../errors.js';
import { checksums } from './checksum.js';
import type { FileKindName } from './constants.js';
import { readGraphSections } from './decode-graph.js';
import { readIndexSections } from './decode-index.js';
import { invalidFile } from './errors.js';
import { pieceBytesOption } from './piece-size.js';
import { FileReader } from './section-reader.js';
import { openSource } from './source.js';
import type { DecodeOptions, FileSource, GraphSink, IndexSink } from './types.js';

/** The sinks a file may go to: one per kind (a file of a kind without a sink is INVALID_FILE). */
export interface FileSinks {
  readonly index?: IndexSink;
  readonly graph?: GraphSink;
}

/** What decodeFile read. */
export interface DecodedFile {
  readonly kind: FileKindName;
  readonly version: number;
  /** The file's length. */
  readonly bytes: number;
}

/**
 * Reads `source` into the sink for its kind and says what it was. Every checksum and every
 * consistency check passes before `commit` is called; on any failure the sink is aborted (and
 * keeps nothing) and the error is thrown: INVALID_FILE for anything wrong with the bytes,
 * IO_ERROR for a failing read, INVALID_ARGUMENT for a source of the wrong type, or what the
 * sink threw. Memory: one buffer of `options.bufferBytes` (4 MiB), none for a bytes source.
 */
export async function decodeFile(source: FileSource, sinks: FileSinks, options: DecodeOptions = {}): Promise<DecodedFile> {
  const bufferBytes = pieceBytesOption(options.bufferBytes, 'bufferBytes');
  let sink: IndexSink | GraphSink | undefined;
  let reader: Awaited<ReturnType<typeof openSource>> | undefined;
  try {
    reader = await openSource(source, bufferBytes);
    const file = new FileReader(reader, await checksums(), options.onSection);
    const { kind, version } = await file.fileHeader();
    if (kind === 'index') {
      if (!sinks.index) throw invalidFile('this is an index file, not a graph file (load it with loadIndex)', 'kind');
      sink = sinks.index;
      await readIndexSections(file, sinks.index, bufferBytes);
    } else {
      if (!sinks.graph) throw invalidFile('this is a graph file, not an index file (load it with loadGraph)', 'kind');
      sink = sinks.graph;
      await readGraphSections(file, sinks.graph, bufferBytes);
    }
    await file.end();
    await reader.close();
    await sink.commit();
    return { kind, version, bytes: file.offset };
  } catch (error) {
    await reader?.close();
    // An allocation the file asked for that this runtime cannot make (other errors pass as they are).
    const reason = !(error instanceof RangeError) || !/alloc|memory|length/i.test(error.message) ? error
      : new HybridError('OUT_OF_MEMORY', `loading needs more memory than this runtime gives: ${error.message}`, 'source', { cause: error });
    for (const s of new Set([sink, sinks.index, sinks.graph])) {
      try {
        await s?.abort(reason);
      } catch {
        // abort must not throw; the file's error is the one to report.
      }
    }
    throw reason;
  }
}

/** Reads an index file from `source` into `sink` (see decodeFile); INVALID_FILE for a graph file. */
export async function decodeIndex(source: FileSource, sink: IndexSink, options?: DecodeOptions): Promise<void> {
  await decodeFile(source, { index: sink }, options);
}

/** Reads a graph file from `source` into `sink` (see decodeFile); INVALID_FILE for an index file. */
export async function decodeGraph(source: FileSource, sink: GraphSink, options?: DecodeOptions): Promise<void> {
  await decodeFile(source, { graph: sink }, options);
}
