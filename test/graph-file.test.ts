// Saving and loading graphs (docs/FORMAT.md, "Graph files"): a loaded graph spreads to the same
// bits as the one saved, on every strategy and backend, from a path, bytes, an ArrayBuffer, a
// Blob and a stream; saving the loaded graph gives the same bytes; bad files are INVALID_FILE
// and add nothing to the engine.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HybridError, type Graph, type HybridEngine } from '../src/index.js';
import { semanticGraph, semanticSeeds } from '../src/bench/semantic-graph.js';
import { encodeGraph } from '../src/store/format/encode-graph.js';
import { joinPieces } from '../src/store/format/to-bytes.js';
import { BACKENDS, engineFor, requireGpuInCi } from './gpu-setup.js';
import { expectSameValues } from './helpers.js';

requireGpuInCi();

const folder = mkdtempSync(join(tmpdir(), 'hs-graph-file-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

// Power-law out-degrees with hubs, parallel edges, self-loops and inhibitory weights; and a small
// undirected graph (each edge stored twice).
const semantic = semanticGraph(30_000, 100_000, 7);
const seedSets = semanticSeeds(semantic, 3, 5);
const undirected = { nodeCount: 5, from: new Uint32Array([0, 1, 2, 3, 3]), to: new Uint32Array([1, 2, 0, 3, 4]), weight: new Float32Array([0.5, -0.25, 0.75, 0.1, 1]), undirected: true };

/** Everything a graph answers, on every strategy. */
async function spreads(hs: HybridEngine, graph: Graph, backend: 'cpu' | 'gpu', sets: typeof seedSets) {
  const out: Float32Array[] = [];
  for (const strategy of ['auto', 'push', 'pull'] as const) {
    out.push(await hs.spreadActivation(graph, { seeds: sets[0]!, maxHops: 4, threshold: 0.01, fan: 'outDegree', strategy, backend }));
    out.push(...await hs.spreadActivationBatch(graph, { seedSets: sets, maxHops: 2, threshold: 0, strategy, backend }));
  }
  return out;
}

describe.each(BACKENDS)('$name backend', ({ name, backend, skip }) => {
  let hs!: HybridEngine;
  beforeAll(async () => { if (!skip) hs = await engineFor(name); });
  afterAll(async () => { await hs?.dispose(); });

  it.skipIf(skip).each([
    { label: 'semantic-shaped', input: semantic.input, sets: seedSets },
    { label: 'undirected', input: undirected, sets: [{ nodes: new Uint32Array([0]), values: new Float32Array([1]) }, { nodes: new Uint32Array([3, 4]), values: new Float32Array([0.5, -1]) }] },
  ])('$label: save, load from every source, the same spreading bits and the same bytes again', async ({ label, input, sets }) => {
    const graph = hs.createGraph(input);
    const want = await spreads(hs, graph, backend, sets);
    const path = join(folder, `${label}-${name}.hsg`);
    await graph.save(path);
    const bytes = await graph.toBytes();
    expect(readFileSync(path).equals(Buffer.from(bytes)), 'save and toBytes write the same bytes').toBe(true);
    for (const source of [path, bytes, bytes.slice().buffer, new Blob([bytes]), new Blob([bytes]).stream()]) {
      const loaded = await hs.loadGraph(source);
      expect(loaded.nodeCount).toBe(graph.nodeCount);
      expect(loaded.edgeCount).toBe(graph.edgeCount);
      const got = await spreads(hs, loaded, backend, sets);
      got.forEach((totals, i) => expectSameValues(totals, want[i]!, `${label} from ${source.constructor.name}: spread ${i}`));
      expect(Buffer.from(await loaded.toBytes()).equals(Buffer.from(bytes)), 'saved again: the same bytes').toBe(true);
      loaded.dispose();
    }
    graph.dispose();
  });
});

describe('bad graph files', () => {
  it('truncated, damaged, out-of-order or index files are INVALID_FILE and add nothing to the engine', async () => {
    const hs = await engineFor('cpu');
    try {
      const graph = hs.createGraph(semantic.input);
      const bytes = await graph.toBytes();
      const count = () => (hs as unknown as { graphs: Set<unknown> }).graphs.size;
      const graphs = count();
      // Canonical order broken with valid checksums: node v's sources not ascending.
      const edges = graph.canonicalEdges();
      let v = 0;
      while (edges.offsets[v + 1]! - edges.offsets[v]! < 2 || edges.sources[edges.offsets[v]!] === edges.sources[edges.offsets[v]! + 1]) v++;
      const swapped = edges.sources.slice();
      const at = edges.offsets[v]!;
      [swapped[at], swapped[at + 1]] = [swapped[at + 1]!, swapped[at]!];
      const unordered = await joinPieces(encodeGraph({ header: { nodeCount: edges.nodeCount, edgeCount: graph.edgeCount, options: [] }, offsets: edges.offsets, sources: swapped, weights: edges.weights }));
      const index = await hs.createIndex(new Float32Array([1, 0, 0, 1]), { dim: 2 });
      const broken: Array<[string, Uint8Array, RegExp]> = [
        ['one byte short', bytes.subarray(0, bytes.length - 1), /truncated|ends/i],
        ['the header only', bytes.subarray(0, 64), /truncated|ends/i],
        ['a flipped byte in the sources', Uint8Array.from(bytes, (b, i) => (i === bytes.length - graph.edgeCount * 6 ? b ^ 4 : b)), /checksum/i],
        ['a flipped byte in the offsets', Uint8Array.from(bytes, (b, i) => (i === 200 ? b ^ 1 : b)), /checksum|offset/i],
        ['sources out of the canonical order', unordered, /not ascending/],
        ['an index file', await index.toBytes(), /kind|index/i],
      ];
      for (const [what, file, message] of broken) {
        const error = await hs.loadGraph(file).catch((e: unknown) => e);
        expect(error, what).toBeInstanceOf(HybridError);
        expect((error as HybridError).code, `${what}: ${(error as Error).message}`).toBe('INVALID_FILE');
        expect((error as Error).message, what).toMatch(message);
        expect(count(), what).toBe(graphs);
      }
      await expect(hs.loadGraph(join(folder, 'no-such-file'))).rejects.toMatchObject({ code: 'IO_ERROR' });
      await expect(hs.loadGraph(42 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(graph.save('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(graph.save(join(folder, 'no-such-folder', 'g.hsg'))).rejects.toMatchObject({ code: 'IO_ERROR' });
      // A failed save leaves the earlier file whole.
      const path = join(folder, 'kept.hsg');
      await graph.save(path);
      await expect(graph.save(join(path, 'inside-a-file.hsg'))).rejects.toMatchObject({ code: 'IO_ERROR' });
      expect((await hs.loadGraph(path)).edgeCount).toBe(graph.edgeCount);
      graph.dispose();
      await expect(graph.save(path)).rejects.toMatchObject({ code: 'DISPOSED' });
      await expect(graph.toBytes()).rejects.toMatchObject({ code: 'DISPOSED' });
    } finally {
      await hs.dispose();
    }
  });
});
