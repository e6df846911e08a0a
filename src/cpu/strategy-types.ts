// What stats().cpuStrategy reports (src/cpu/strategy.ts makes it). Types only, importing no
// runtime code, so that the public typings reach nothing that needs the WebAssembly namespace.
import type { BatchKernel, BoundKernel } from '../config.js';

/**
 * The two builds of asm/ (asm/asconfig.json): `relaxed` also uses relaxed SIMD (in the int8 bound
 * kernels of batches only, where results cannot differ: asm/batch-dots.ts); `baseline` is WASM
 * SIMD alone. Which one runs is decided at load: relaxed where WebAssembly.validate accepts it.
 */
export type KernelModule = 'relaxed' | 'baseline';

/** One choice, where it came from and why. */
export interface StrategyChoice<T> {
  chosen: T;
  /** 'config' (given), 'measured' (timed on this machine), 'default' (not measured yet). */
  source: 'config' | 'measured' | 'default';
  why: string;
}

/** The timings behind the measured choices. */
export interface StrategyRates {
  /** The data timed. */
  shape: string;
  /** Giga int8 multiply-adds per second of each bound kernel's dots (queries x rows x values). */
  boundKernels: Partial<Record<BoundKernel, number>>;
  /** Giga multiply-adds per second of each batch path's whole top-k (queries x rows x dim). */
  batchKernels: Partial<Record<BatchKernel, number>>;
  /**
   * Giga int8 multiply-adds per second of the one-query bound pass (prefilterBounds, query by
   * query): what the per-query path does in place of the batched bound kernel.
   */
  oneQueryBound: number;
  /** Milliseconds the timings took. */
  tookMs: number;
}

/** What stats().cpuStrategy shows. */
export interface CpuStrategyStats {
  /** The kernels module running (relaxed SIMD where the engine validates it). */
  kernels: KernelModule;
  /** The int8 bound kernel of batches (null until the first batch needs it). */
  boundKernel: StrategyChoice<BoundKernel> | null;
  /** How batches over f32 and f16 rows with a prefilter are answered (null until needed). */
  batchKernel: { f32: StrategyChoice<BatchKernel>; f16: StrategyChoice<BatchKernel> } | null;
  /** Smallest call (bytes read x queries) split across threads. */
  splitMinBytes: StrategyChoice<number>;
  /** The kernel timings, once taken. */
  rates: StrategyRates | null;
  /** Microseconds of a round trip to an idle worker (min of a few), once measured. */
  roundTripUs: number | null;
  /** One-thread scan rate used by the split model, bytes per microsecond, once measured. */
  scanBytesPerUs: number | null;
  /** Batched top-k calls (more than one query) by the path each took, e.g. 'int8-batch/winograd'. */
  batches: Record<string, number>;
}
