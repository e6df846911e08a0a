// Activation spreading: 4 hops (threshold 0, so every hop runs: the worst case; exponential decay
// 0.7; fan outDegree) on random graphs of 1k / 5k, 10k / 50k, 100k / 1M and (full runs) 1M / 10M
// nodes / edges, with 1 seed set (`spreadActivation`) and 16 (`spreadActivationBatch`), on the
// CPU, the GPU and auto, against a plain JS pull loop over a CSR (a peer) in the same run. Every
// result is checked against a float64 version of the same loop first.
import type { BackendChoice } from '../../backend.js';
import { pullGraph, pullSpread, randomGraph, seededRandom } from '../data.js';
import { BenchCheckError, OURS, type BenchTask, type BenchModule } from '../types.js';

const HOPS = 4;
const OPTIONS = { maxHops: HOPS, threshold: 0, decay: { kind: 'exponential' as const, rate: 0.7 }, fan: 'outDegree' as const };
const SPREAD_TOLERANCE = 1e-4;
export const PLAIN_JS = 'plain JS (CSR pull loop)';

/** Graphs (nodes, edges) of a run. */
export function spreadingGraphs(quick: boolean): Array<[number, number]> {
  const graphs: Array<[number, number]> = [[1000, 5000], [10000, 50000], [100000, 1000000]];
  return quick ? graphs : [...graphs, [1000000, 10000000]];
}

function worstDifference(got: ArrayLike<number>, want: ArrayLike<number>): { worst: number; at: number } {
  let worst = 0, at = 0;
  for (let v = 0; v < want.length; v++) {
    const e = Math.abs(got[v]! - want[v]!);
    if (!(e <= worst)) { worst = e; at = v; }
  }
  return { worst, at };
}

/** Activation spreading over 1k .. 1M-node graphs, 1 and 16 seed sets, against a plain JS loop. */
export const spreadingModule: BenchModule = {
  name: 'spreading',
  description: `activation spreading, ${HOPS} hops, 1 and 16 seed sets, on CPU, GPU and auto, vs a plain JS loop`,
  async *groups(context) {
    const { engine, quick } = context;
    const random = seededRandom(12345);
    const unit = () => (random() + 1) / 2;
    const decays = Array.from({ length: HOPS }, (_, h) => Math.fround(Math.exp(-0.7 * (h + 1))));
    for (const [nodes, edges] of spreadingGraphs(quick)) {
      const input = randomGraph(random, nodes, edges);
      const csr = pullGraph(input);
      const graph = engine.createGraph(input);
      try {
        // Quick runs keep 16 seed sets to the small graphs.
        for (const k of quick && nodes > 10000 ? [1] : [1, 16]) {
          const seedSets = Array.from({ length: k }, () => ({
            nodes: Uint32Array.from({ length: 10 }, () => Math.min(nodes - 1, Math.floor(nodes * unit()))),
            values: new Float32Array(10).fill(1),
          }));
          // Bytes one call streams: the in-CSR (8 per edge) and k activations per node, per hop.
          const bytes = HOPS * (edges * 8 + nodes * k * 8);
          const backends: BackendChoice[] = context.timeOnGpu(bytes) ? ['cpu', 'gpu', 'auto'] : ['cpu', 'auto'];
          const call = k === 1
            ? (backend: BackendChoice) => engine.spreadActivation(graph, { seeds: seedSets[0]!, ...OPTIONS, backend }).then((r) => [r])
            : (backend: BackendChoice) => engine.spreadActivationBatch(graph, { seedSets, ...OPTIONS, backend });
          // Check: seed sets 0 and k - 1 on every backend against the float64 loop.
          const checked = [...new Set([0, k - 1])].map((j) => ({ j, want: pullSpread(csr, seedSets[j]!, decays, Float64Array) }));
          for (const backend of backends) {
            const got = await call(backend);
            for (const { j, want } of checked) {
              const { worst, at } = worstDifference(got[j]!, want);
              if (!(worst <= SPREAD_TOLERANCE)) {
                throw new BenchCheckError(`spreading ${nodes} / ${edges}, seed set ${j} on ${backend}: node ${at} is ${got[j]![at]}, float64 reference ${want[at]}`);
              }
            }
          }
          const tasks: BenchTask[] = backends.map((backend) => ({
            implementation: OURS, backend, fn: () => call(backend),
            ...(context.gpu === 'software' && backend === 'gpu' ? { note: 'software adapter: checks the harness, not GPU speed' } : {}),
          }));
          // The plain JS loop, one seed set at a time (skipped where one call takes seconds).
          if (edges * k <= (quick ? 1_000_000 : 16_000_000)) {
            const peer = pullSpread(csr, seedSets[0]!, decays, Float32Array);
            const { worst } = worstDifference(peer, checked[0]!.want);
            if (worst <= SPREAD_TOLERANCE) tasks.push({ implementation: PLAIN_JS, fn: () => { for (const s of seedSets) pullSpread(csr, s, decays, Float32Array); } });
            else context.missing(PLAIN_JS, `differs from the float64 reference by ${worst} on ${nodes} nodes`);
          }
          yield {
            operation: k === 1 ? `spreading ${HOPS} hops` : `spreading ${HOPS} hops, ${k} seed sets`,
            batch: nodes * k, batchUnit: k === 1 ? 'nodes' : 'nodes x seed sets', shape: `${nodes} nodes / ${edges} edges${k > 1 ? ` x ${k}` : ''}`, routedAs: 'spreading', tasks,
          };
        }
      } finally {
        graph.dispose();
      }
    }
  },
};
