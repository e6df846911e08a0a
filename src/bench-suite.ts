import type { BackendChoice } from './backend.js';
import type { HybridEngine } from './engine.js';

/** One measured figure: an operation at a batch size on a backend. */
export interface SuiteRow {
  operation: 'search top-10' | 'searchBatch top-10' | 'spreading 4 hops';
  /** cosine: queries x rows; spreading: nodes x seed sets. */
  batch: number;
  backend: BackendChoice;
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

export interface SuiteOptions {
  /** Largest corpus of the 1 x N sweep (powers of 4 from 16). Default 1,048,576 (quick: 65,536). */
  maxRows?: number;
  quick?: boolean;
  dim?: number;
  onProgress?: (message: string) => void;
}

/**
 * The benchmark suite of `hybrid-similarity bench`: top-10 of one query over N rows for N = 16,
 * 64, ... up to maxRows, 64 queries over 16k rows, and 4 hops of spreading over a 10k-node graph,
 * each on the CPU, the GPU (when there is one) and auto (after warming the router's window).
 * Medians and p99 over repetitions (at least 5, and at least 200 ms of calls; quick: 3 / 50 ms).
 */
export async function runSuite(engine: HybridEngine, options: SuiteOptions = {}): Promise<SuiteRow[]> {
  const quick = options.quick ?? false;
  const dim = options.dim ?? 128;
  const maxRows = options.maxRows ?? (quick ? 65536 : 1048576);
  const backends: BackendChoice[] = engine.info().gpu ? ['cpu', 'gpu', 'auto'] : ['cpu', 'auto'];
  const minReps = quick ? 3 : 5;
  const minMs = quick ? 50 : 200;
  let seed = 0x51ed;
  const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return (seed / 4294967296) * 2 - 1; };
  const rows: SuiteRow[] = [];
  const measure = async (operation: SuiteRow['operation'], batch: number, call: (backend: BackendChoice) => Promise<unknown>) => {
    for (let i = 0; i < 20; i++) await call('auto'); // warm the router's window (and compile, upload)
    for (const backend of backends) {
      await call(backend);
      const samples: number[] = [];
      const start = performance.now();
      while (samples.length < minReps || performance.now() - start < minMs) {
        const t = performance.now();
        await call(backend);
        samples.push(performance.now() - t);
        if (samples.length >= 1000) break;
      }
      samples.sort((a, b) => a - b);
      const at = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
      rows.push({ operation, batch, backend, p50Ms: at(0.5), p99Ms: at(0.99), samples: samples.length });
    }
    options.onProgress?.(`${operation} ${batch}: done`);
  };
  const query = new Float32Array(dim).map(random);
  for (let n = 16; n <= maxRows; n *= 4) {
    const index = await engine.createIndex(new Float32Array(n * dim).map(random), { dim });
    await measure('search top-10', n, (backend) => index.search(query, { k: 10, backend }));
    index.dispose();
  }
  const n = Math.min(16384, maxRows);
  const index = await engine.createIndex(new Float32Array(n * dim).map(random), { dim });
  const queries = new Float32Array(64 * dim).map(random);
  await measure('searchBatch top-10', 64 * n, (backend) => index.searchBatch(queries, { k: 10, backend }));
  index.dispose();
  const nodes = 10000;
  const graph = engine.createGraph({
    nodeCount: nodes,
    from: new Uint32Array(50000).map(() => Math.floor(nodes * Math.abs(random()))),
    to: new Uint32Array(50000).map(() => Math.floor(nodes * Math.abs(random()))),
  });
  const seeds = { nodes: new Uint32Array([1, 2, 3]), values: new Float32Array([1, 1, 1]) };
  await measure('spreading 4 hops', nodes, (backend) => engine.spreadActivation(graph, { seeds, threshold: 0, backend }));
  graph.dispose();
  return rows;
}
