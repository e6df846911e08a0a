// Saving a file atomically (Node): the encoder's pieces through '#platform'.writeFileAtomically.
import { writeFileAtomically } from '#platform';
import { encodeGraph } from './encode-graph.js';
import { encodeIndex } from './encode-index.js';
import type { EncodeOptions, GraphImage, IndexImage } from './types.js';

/**
 * Writes an index file to `path` atomically (temporary file, fsync, rename, folder fsync): an
 * earlier file at `path` stays whole until the new one replaces it. IO_ERROR for a failing file
 * system call (`cause`: the original error), INVALID_ARGUMENT for an image that cannot be
 * written; either way no file is left behind.
 */
export function saveIndexFile(path: string, image: IndexImage, options?: EncodeOptions): Promise<void> {
  return writeFileAtomically(path, encodeIndex(image, options));
}

/** Writes a graph file to `path` atomically (see saveIndexFile). */
export function saveGraphFile(path: string, image: GraphImage, options?: EncodeOptions): Promise<void> {
  return writeFileAtomically(path, encodeGraph(image, options));
}
