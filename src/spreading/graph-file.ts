// Loading a graph file (docs/FORMAT.md, "Graph files") into a new Graph: the file is read and
// verified whole (every checksum) before the graph is built from its canonical edges, so a bad
// file never yields a graph, and the graph built spreads to the same bits as the one saved.
import type { CpuMemory } from '../cpu/cpu-memory.js';
import { HybridError } from '../errors.js';
import { readGraphImage } from '../store/format/collect.js';
import type { FileSource } from '../store/format/types.js';
import { Graph } from './graph.js';

/** Most nodes a graph holds (createGraph's limit); a file may name up to 2^32 - 2. */
const MAX_NODES = 2 ** 31;

/**
 * A graph from a graph file. INVALID_FILE for a file that is not a whole, valid graph file
 * (including edges out of the canonical order, which the writer never produces), IO_ERROR for a
 * failing read; nothing is allocated in WASM memory unless the whole file checked out.
 */
export async function loadGraphFile(memory: CpuMemory, source: FileSource, released: (graph: Graph) => void): Promise<Graph> {
  const image = await readGraphImage(source);
  const { nodeCount } = image.header;
  if (nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new HybridError('INVALID_FILE', `not a valid graph file: ${nodeCount} nodes (a graph has 1 to 2^31)`, 'nodeCount');
  }
  try {
    return Graph.fromCanonical(memory, { nodeCount, offsets: image.offsets, sources: image.sources, weights: image.weights }, released);
  } catch (error) {
    if (error instanceof HybridError && error.code === 'INVALID_ARGUMENT') {
      throw new HybridError('INVALID_FILE', `not a valid graph file: ${error.message}`, error.argument, { cause: error });
    }
    throw error;
  }
}
