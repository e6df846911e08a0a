// The suite's modules, in the order they run. A new benchmark is a BenchModule (../types.ts) in
// its own file here, added to this list: the runner, the report, baselines and plots take it
// from there (`--only NAME` runs it alone).
import type { BenchModule } from '../types.js';
import { cosineModule } from './cosine.js';
import { peersModule } from './peers.js';
import { spreadingModule } from './spreading.js';
import { threadsModule } from './threads.js';
import { batchingModule } from './batching.js';
import { storeModule } from './store.js';

/** The suite's modules, in the order they run: cosine, store, spreading, threads, batching, peers. */
export const SUITE_MODULES: readonly BenchModule[] = [cosineModule, storeModule, spreadingModule, threadsModule, batchingModule, peersModule];
