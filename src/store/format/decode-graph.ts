// The sections of a graph file after its file header, into a GraphSink (docs/FORMAT.md,
// "Graph files"): offsets in order, sources in range, weights finite, every checksum verified.
import { AlignedViews } from './aligned.js';
import { invalidFile } from './errors.js';
import { parseGraphHeader } from './headers.js';
import type { FileReader } from './section-reader.js';
import type { GraphSink } from './types.js';

/** Reads GRAPH_HEADER, GRAPH_OFFSETS, GRAPH_SOURCES and GRAPH_WEIGHTS into `sink` (not END, not commit). */
export async function readGraphSections(file: FileReader, sink: GraphSink, bufferBytes: number): Promise<void> {
  const header = parseGraphHeader(await file.smallSection({ name: 'GRAPH_HEADER' }));
  await sink.begin(header);
  const { nodeCount: n, edgeCount: e } = header;
  const views = new AlignedViews();
  const perPiece = Math.floor(bufferBytes / 4);

  const offsets = await file.openBody({ name: 'GRAPH_OFFSETS' }, 4 * (n + 1));
  await offsets.consume(async (body) => {
    let previous = 0;
    for (let first = 0; first <= n; first += perPiece) {
      const piece = views.uint32(await body.read(4 * Math.min(perPiece, n + 1 - first)));
      if (first === 0 && piece[0] !== 0) throw invalidFile(`inconsistent GRAPH_OFFSETS: offsets[0] is ${piece[0]}, not 0`, 'offsets');
      for (let i = 0; i < piece.length; i++) {
        if (piece[i]! < previous) throw invalidFile(`inconsistent GRAPH_OFFSETS: offsets[${first + i}] is below offsets[${first + i - 1}]`, 'offsets');
        previous = piece[i]!;
      }
      if (first + piece.length === n + 1 && previous !== e) throw invalidFile(`inconsistent GRAPH_OFFSETS: offsets[${n}] is ${previous}, edgeCount is ${e}`, 'offsets');
      await sink.offsets(piece, first);
    }
  }, bufferBytes);

  const sources = await file.openBody({ name: 'GRAPH_SOURCES' }, 4 * e);
  await sources.consume(async (body) => {
    for (let first = 0; first < e; first += perPiece) {
      const piece = views.uint32(await body.read(4 * Math.min(perPiece, e - first)));
      for (let i = 0; i < piece.length; i++) {
        if (piece[i]! >= n) throw invalidFile(`inconsistent GRAPH_SOURCES: sources[${first + i}] is ${piece[i]}, not below nodeCount ${n}`, 'sources');
      }
      await sink.sources(piece, first);
    }
  }, bufferBytes);

  const weights = await file.openBody({ name: 'GRAPH_WEIGHTS' }, 4 * e);
  await weights.consume(async (body) => {
    for (let first = 0; first < e; first += perPiece) {
      const piece = views.float32(await body.read(4 * Math.min(perPiece, e - first)));
      for (let i = 0; i < piece.length; i++) {
        if (!Number.isFinite(piece[i]!)) throw invalidFile(`inconsistent GRAPH_WEIGHTS: weights[${first + i}] is not finite`, 'weights');
      }
      await sink.weights(piece, first);
    }
  }, bufferBytes);
}
