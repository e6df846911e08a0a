import type { BackendKind } from './backend.js';
import type { CpuStrategyStats } from './cpu/strategy-types.js';
import type { GpuFailureKind } from './errors.js';
import { PUSH_PULL_CROSSOVER } from './spreading/strategy.js';
import type { WarmupReport } from './warmup.js';

/** Router labels: every cosine-family call is `cosine`; graph calls are `spreading`. */
export type Operation = 'cosine' | 'spreading';

export const OPERATIONS: readonly Operation[] = ['cosine', 'spreading'];

/** Power-of-two size class of a batch: floor(log2(batch)), 0 for batches <= 1. */
export function sizeClass(batch: number): number {
  return batch <= 1 ? 0 : Math.floor(Math.log2(batch));
}

/** Upper bounds (seconds) of the latency histogram buckets. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds of the dynamic-batching size histogram (queries merged per batch). */
export const MERGED_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Upper bounds (seconds) of the dynamic-batching wait histogram. */
export const WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25];
/** Upper bounds of the batch-size histogram buckets (powers of 4). */
export const BATCH_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** One call on one backend. */
interface Sample {
  latencyMs: number;
  perItemMs: number;
  sizeClass: number;
  ok: boolean;
  /** A warm-up call: it informs the speedup estimate only (not the latency percentiles or success rate). */
  estimateOnly?: boolean;
}

/**
 * A fixed-size ring of samples of one backend for one operation; the oldest drops out when a new
 * one arrives. The GPU's ring holds its attempts, failed ones included: its success rate ages.
 */
export class RollingWindow {
  private readonly samples: Array<Sample | undefined>;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.samples = new Array<Sample | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(sample: Sample): void {
    this.samples[this.next] = sample;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  clear(): void {
    this.samples.fill(undefined);
    this.next = 0;
    this.count = 0;
  }

  /** Share of the held samples (warm-up's left out) that succeeded; null when there are none. */
  successRate(): number | null {
    let ok = 0;
    let counted = 0;
    for (let i = 0; i < this.count; i++) {
      const s = this.samples[i]!;
      if (s.estimateOnly) continue;
      counted++;
      if (s.ok) ok++;
    }
    return counted === 0 ? null : ok / counted;
  }

  /** The q-quantile (nearest rank) of successful calls' latency (warm-up's left out); NaN when there are none. */
  latencyQuantile(q: number): number {
    const values: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const s = this.samples[i]!;
      if (s.ok && !s.estimateOnly) values.push(s.latencyMs);
    }
    return quantile(values, q);
  }

  /**
   * Median per-item latency of successful calls in size class `c`, or, when there are none, in
   * the neighbouring classes c - 1 and c + 1 together; null when those are empty too.
   */
  perItemMedian(c: number): number | null {
    const exact: number[] = [];
    const near: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const s = this.samples[i]!;
      if (!s.ok) continue;
      if (s.sizeClass === c) exact.push(s.perItemMs);
      else if (Math.abs(s.sizeClass - c) === 1) near.push(s.perItemMs);
    }
    const values = exact.length > 0 ? exact : near;
    return values.length > 0 ? quantile(values, 0.5) : null;
  }

  /** Size classes with at least one successful sample. */
  classes(): number[] {
    const set = new Set<number>();
    for (let i = 0; i < this.count; i++) if (this.samples[i]!.ok) set.add(this.samples[i]!.sizeClass);
    return [...set].sort((a, b) => a - b);
  }
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1));
  return values[rank]!;
}

/** Cumulative histogram counts (Prometheus style) with a sum. */
class Histogram {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  total = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.total++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }
}

/** New samples after which a cached speedup estimate is recomputed. */
const SPEEDUP_REFRESH = 8;

/** Latency summary of one operation on one backend. */
export interface BackendStats {
  calls: number;
  failures: number;
  /** Failures by kind (GPU: GpuError kinds). */
  failuresByKind: Record<string, number>;
  /** Median latency over the rolling window, milliseconds (NaN before the first success). */
  p50Ms: number;
  /** 99th percentile latency over the rolling window, milliseconds. */
  p99Ms: number;
}

/** Everything `stats()` reports for one operation. */
export interface OperationStats {
  cpu: BackendStats;
  gpu: BackendStats;
  /** Router decisions, counted by reason (fallbacks included as `fallback:<kind>`). */
  decisions: Record<string, number>;
  /** Router decisions by the backend chosen, then reason. */
  decisionsByBackend: Record<BackendKind, Record<string, number>>;
  /** GPU calls answered by the CPU, by reason (`fallback:<kind>`). */
  fallbacks: Record<string, number>;
  /** GPU successes / attempts over the last window of GPU attempts (null before the first). */
  gpuSuccessRate: number | null;
  /** Median per-item CPU latency / median per-item GPU latency, by power-of-two size class. */
  speedupBySizeClass: Record<string, number>;
  /** Batch sizes seen: counts per power-of-4 upper bound ('+Inf' last). */
  batchSizeHistogram: Record<string, number>;
  /** The GPU is rested after its success rate fell under the threshold (or the device was lost). */
  gpuUnhealthy: boolean;
}

/** Dynamic batching (config.batching): what was merged and how long queries waited. */
export interface BatchingStats {
  /** Batches sent, by why: `full` (targetBatchSize reached) or `timer` (maxWaitMs passed). */
  batches: Record<'full' | 'timer', number>;
  /** Queries that went through the batcher. */
  queries: number;
  /** Queries per batch: counts per upper bound ('+Inf' last). */
  sizeHistogram: Record<string, number>;
  /** Mean queries per batch (NaN before the first). */
  meanSize: number;
  /** Time from a query's arrival to its batch being sent, over the last window of queries, ms. */
  waitP50Ms: number;
  waitP99Ms: number;
}

/** Activation spreading's hops: which way they went, and where `strategy: 'auto'` switches. */
export interface SpreadingStats {
  /** Hops by backend: pushed from the frontier (GPU: its targets marked, compacted, pulled into) or pulled over every node. */
  hops: Record<BackendKind, { push: number; pull: number }>;
  /**
   * Where `strategy: 'auto'` switches: a hop pushes while its push work (the frontier's out-edges;
   * on the CPU summed over the seed sets) is at most a share of the graph's edges + nodes. CPU:
   * `small` (graphs of up to `smallNodes` nodes) or `large`, times cols^setExponent (cols: the
   * seed sets rounded up to 4, or 1); GPU: `gpu`. Measured; src/spreading/strategy.ts.
   */
  crossover: { cpu: { small: number; large: number; smallNodes: number; setExponent: number }; gpu: number };
}

/** What `stats()` returns. */
export interface TelemetrySnapshot {
  /** Spreading's push and pull hops, and the crossover between them. */
  spreading: SpreadingStats;
  /**
   * Dynamic batching of searches: counts stay 0 while config.batching is false (or telemetry is
   * off); meanSize and the wait percentiles are NaN before the first batch.
   */
  batching: BatchingStats;
  operations: Record<Operation, OperationStats>;
  /** Router decisions per operation, counted by reason (also inside `operations`). */
  decisions: Record<Operation, Record<string, number>>;
  /** Calls per public method (cosineSimilarity, search, ...). */
  methods: Record<string, number>;
  /** Whether a GPU device is held now. */
  gpuAvailable: boolean;
  /** The CPU backend's kernel choices, what they were measured at and the paths batches took. */
  cpuStrategy: CpuStrategyStats;
  /**
   * What the last warm-up did and how long it took (`warmup: true` at createHybrid, or
   * `hs.warmup()`); null before the first. Its calls are not in the counts above.
   */
  warmup: WarmupReport | null;
}

/** The router's view of one operation: what rules 4 and 5 read. */
export interface RouterView {
  /** GPU successes / attempts over the last window (null before any attempt). */
  gpuSuccessRate: number | null;
  /** When the GPU was found unhealthy (ms, the engine's clock), or null when it is healthy. */
  unhealthySince: number | null;
  /** A probe call is running now. */
  probeInFlight: boolean;
  /** Median per-item CPU over GPU latency for a size class (or a neighbour), null if unknown. */
  speedup(sizeClass: number): number | null;
}

class BackendRecord {
  calls = 0;
  failures = 0;
  readonly failuresByKind: Record<string, number> = {};
  readonly window: RollingWindow;
  readonly latency = new Histogram(LATENCY_BUCKETS);

  constructor(window: number) {
    this.window = new RollingWindow(window);
  }

  snapshot(): BackendStats {
    return {
      calls: this.calls,
      failures: this.failures,
      failuresByKind: { ...this.failuresByKind },
      p50Ms: this.window.latencyQuantile(0.5),
      p99Ms: this.window.latencyQuantile(0.99),
    };
  }
}

/** Telemetry and health of one operation. */
class OperationRecord implements RouterView {
  readonly cpu: BackendRecord;
  readonly gpu: BackendRecord;
  readonly decisions: Record<string, number> = {};
  readonly decisionsByBackend: Record<BackendKind, Record<string, number>> = { cpu: {}, gpu: {} };
  readonly fallbacks: Record<string, number> = {};
  readonly batches = new Histogram(BATCH_BUCKETS);
  gpuLaunches = 0;
  unhealthySince: number | null = null;
  probeInFlight = false;

  constructor(window: number) {
    this.cpu = new BackendRecord(window);
    this.gpu = new BackendRecord(window);
  }

  get gpuSuccessRate(): number | null {
    return this.gpu.window.successRate();
  }

  /** Cached speedups by size class, and how many samples have arrived since each was computed. */
  private readonly speedups = new Map<number, { value: number | null; samplesAt: number }>();
  /** Samples recorded on either backend (the cache's clock). */
  samples = 0;

  /**
   * The router reads this on every call, so it is cached per size class and recomputed (two
   * medians over the windows) only after SPEEDUP_REFRESH new samples: the estimate moves slowly
   * anyway, and the router's cost per call stays far below a microsecond.
   */
  speedup(c: number): number | null {
    const cached = this.speedups.get(c);
    if (cached && this.samples - cached.samplesAt < SPEEDUP_REFRESH) return cached.value;
    const value = this.computeSpeedup(c);
    this.speedups.set(c, { value, samplesAt: this.samples });
    return value;
  }

  /** Forget cached speedups (the GPU window was cleared). */
  resetSpeedups(): void {
    this.speedups.clear();
  }

  private computeSpeedup(c: number): number | null {
    const cpu = this.cpu.window.perItemMedian(c);
    const gpu = this.gpu.window.perItemMedian(c);
    if (cpu === null || gpu === null || gpu <= 0) return null;
    return cpu / gpu;
  }

  speedupBySizeClass(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.gpu.window.classes()) {
      const s = this.computeSpeedup(c);
      if (s !== null) out[String(c)] = s;
    }
    return out;
  }
}

/**
 * Counts, rolling windows (each backend's own samples only) and GPU health per operation.
 * With `enabled: false` nothing is recorded and the router sees no history.
 */
export class Telemetry {
  readonly enabled: boolean;
  private readonly records: Record<Operation, OperationRecord>;
  private readonly methods: Record<string, number> = {};
  private readonly merged = new Histogram(MERGED_BUCKETS);
  private readonly waits = new Histogram(WAIT_BUCKETS);
  private readonly recentWaits: number[] = [];
  private readonly windowSize: number;
  private readonly flushes = { full: 0, timer: 0 };
  private readonly spreadHops = { cpu: { push: 0, pull: 0 }, gpu: { push: 0, pull: 0 } };
  /**
   * While set (the engine's warm-up), calls are samples for the speedup estimate only: no counts,
   * decisions, fallbacks or latency histograms, and the windows' percentiles and success rate
   * leave them out.
   */
  estimateOnly = false;
  /** The last warm-up's report (stats().warmup). */
  warmup: WarmupReport | null = null;

  constructor(windowSize: number, enabled: boolean) {
    this.enabled = enabled;
    this.windowSize = windowSize;
    this.records = { cosine: new OperationRecord(windowSize), spreading: new OperationRecord(windowSize) };
  }

  /** One batch formed by the dynamic batcher: its size, each query's wait, why it was sent. */
  recordBatch(size: number, waitsMs: number[], reason: 'full' | 'timer'): void {
    if (!this.enabled || this.estimateOnly) return;
    this.flushes[reason]++;
    this.merged.observe(size);
    for (const wait of waitsMs) {
      this.waits.observe(wait / 1000);
      this.recentWaits.push(wait);
    }
    const keep = Math.max(this.windowSize, 1000);
    if (this.recentWaits.length > 2 * keep) this.recentWaits.splice(0, this.recentWaits.length - keep);
  }

  /** The hops of one spreading call, by the backend that answered it. */
  recordSpreadHops(backend: BackendKind, push: number, pull: number): void {
    if (!this.enabled || this.estimateOnly) return;
    this.spreadHops[backend].push += push;
    this.spreadHops[backend].pull += pull;
  }

  /** The router's view of an operation. */
  view(operation: Operation): RouterView {
    return this.records[operation];
  }

  recordDecision(operation: Operation, method: string, backend: BackendKind, reason: string, batch: number): void {
    if (!this.enabled || this.estimateOnly) return;
    const record = this.records[operation];
    record.decisions[reason] = (record.decisions[reason] ?? 0) + 1;
    const byBackend = record.decisionsByBackend[backend];
    byBackend[reason] = (byBackend[reason] ?? 0) + 1;
    record.batches.observe(batch);
    this.methods[method] = (this.methods[method] ?? 0) + 1;
  }

  /** One finished call (or failed attempt) on a backend. */
  recordCall(operation: Operation, backend: BackendKind, latencyMs: number, batch: number, failure?: string): void {
    if (!this.enabled) return;
    this.records[operation].samples++;
    const record = this.records[operation][backend];
    if (this.estimateOnly) {
      record.window.push({ latencyMs, perItemMs: latencyMs / Math.max(1, batch), sizeClass: sizeClass(batch), ok: failure === undefined, estimateOnly: true });
      return;
    }
    record.calls++;
    if (backend === 'gpu') this.records[operation].gpuLaunches++;
    if (failure !== undefined) {
      record.failures++;
      record.failuresByKind[failure] = (record.failuresByKind[failure] ?? 0) + 1;
    } else {
      record.latency.observe(latencyMs / 1000);
    }
    record.window.push({ latencyMs, perItemMs: latencyMs / Math.max(1, batch), sizeClass: sizeClass(batch), ok: failure === undefined });
  }

  /** A GPU failure counted by kind without a window sample (an attempt a retry repaired). */
  countGpuFailure(operation: Operation, kind: GpuFailureKind): void {
    if (!this.enabled || this.estimateOnly) return;
    const record = this.records[operation].gpu;
    record.failures++;
    record.failuresByKind[kind] = (record.failuresByKind[kind] ?? 0) + 1;
    this.records[operation].gpuLaunches++;
  }

  recordFallback(operation: Operation, kind: GpuFailureKind): void {
    if (!this.enabled || this.estimateOnly) return;
    const fallbacks = this.records[operation].fallbacks;
    const reason = `fallback:${kind}`;
    fallbacks[reason] = (fallbacks[reason] ?? 0) + 1;
    const record = this.records[operation];
    record.decisions[reason] = (record.decisions[reason] ?? 0) + 1;
    record.decisionsByBackend.cpu[reason] = (record.decisionsByBackend.cpu[reason] ?? 0) + 1;
  }

  /** Health bookkeeping (the engine's; the router only reads it). */
  markUnhealthy(operation: Operation, now: number): void {
    this.records[operation].unhealthySince = now;
  }

  markHealthy(operation: Operation): void {
    const record = this.records[operation];
    record.unhealthySince = null;
    record.gpu.window.clear();
    record.resetSpeedups();
  }

  setProbe(operation: Operation, inFlight: boolean): void {
    this.records[operation].probeInFlight = inFlight;
  }

  /** Everything but cpuStrategy (the engine adds it from the CPU backend). */
  snapshot(gpuAvailable: boolean): Omit<TelemetrySnapshot, 'cpuStrategy'> {
    const operations = {} as TelemetrySnapshot['operations'];
    const decisions = {} as TelemetrySnapshot['decisions'];
    for (const operation of OPERATIONS) {
      const r = this.records[operation];
      const histogram: Record<string, number> = {};
      let previous = 0;
      r.batches.bounds.forEach((bound, i) => {
        histogram[String(bound)] = r.batches.counts[i]! - previous;
        previous = r.batches.counts[i]!;
      });
      histogram['+Inf'] = r.batches.total - previous;
      operations[operation] = {
        cpu: r.cpu.snapshot(),
        gpu: r.gpu.snapshot(),
        decisions: { ...r.decisions },
        decisionsByBackend: { cpu: { ...r.decisionsByBackend.cpu }, gpu: { ...r.decisionsByBackend.gpu } },
        fallbacks: { ...r.fallbacks },
        gpuSuccessRate: r.gpuSuccessRate,
        speedupBySizeClass: r.speedupBySizeClass(),
        batchSizeHistogram: histogram,
        gpuUnhealthy: r.unhealthySince !== null,
      };
      decisions[operation] = { ...r.decisions };
    }
    const spreading: SpreadingStats = {
      hops: { cpu: { ...this.spreadHops.cpu }, gpu: { ...this.spreadHops.gpu } },
      crossover: { cpu: { ...PUSH_PULL_CROSSOVER.cpu }, gpu: PUSH_PULL_CROSSOVER.gpu },
    };
    return {
      spreading, batching: this.batchingSnapshot(), operations, decisions, methods: { ...this.methods }, gpuAvailable,
      warmup: this.warmup ? structuredClone(this.warmup) : null,
    };
  }

  private batchingSnapshot(): BatchingStats {
    const sizeHistogram: Record<string, number> = {};
    let previous = 0;
    this.merged.bounds.forEach((bound, i) => {
      sizeHistogram[String(bound)] = this.merged.counts[i]! - previous;
      previous = this.merged.counts[i]!;
    });
    sizeHistogram['+Inf'] = this.merged.total - previous;
    const keep = Math.max(this.windowSize, 1000);
    const recent = this.recentWaits.slice(-keep).sort((a, b) => a - b);
    const quantile = (q: number) => (recent.length === 0 ? Number.NaN : recent[Math.min(recent.length - 1, Math.floor(q * recent.length))]!);
    return {
      batches: { ...this.flushes },
      queries: this.merged.sum,
      sizeHistogram,
      meanSize: this.merged.total === 0 ? Number.NaN : this.merged.sum / this.merged.total,
      waitP50Ms: quantile(0.5),
      waitP99Ms: quantile(0.99),
    };
  }

  /** The metric families (names prefixed `hybrid_similarity_`), for text or a prom-client registry. */
  families(gpuAvailable: boolean): MetricFamily[] {
    const families: MetricFamily[] = [];
    const family = (name: string, type: MetricFamily['type'], help: string): MetricFamily['samples'] => {
      const samples: MetricFamily['samples'] = [];
      families.push({ name: `hybrid_similarity_${name}`, type, help, samples });
      return samples;
    };
    const launches = family('gpu_launches_total', 'counter', 'GPU calls attempted.');
    for (const op of OPERATIONS) launches.push({ suffix: '', labels: { op }, value: this.records[op].gpuLaunches });
    const failures = family('gpu_failures_total', 'counter', 'GPU calls that failed, by kind.');
    for (const op of OPERATIONS) {
      for (const [kind, n] of Object.entries(this.records[op].gpu.failuresByKind)) failures.push({ suffix: '', labels: { op, kind }, value: n });
    }
    const fallbacks = family('fallbacks_total', 'counter', 'GPU calls answered by the CPU, by reason.');
    for (const op of OPERATIONS) {
      for (const [reason, n] of Object.entries(this.records[op].fallbacks)) fallbacks.push({ suffix: '', labels: { op, reason }, value: n });
    }
    const decisions = family('decisions_total', 'counter', 'Router decisions, by backend and reason.');
    for (const op of OPERATIONS) {
      for (const backend of ['cpu', 'gpu'] as const) {
        for (const [reason, n] of Object.entries(this.records[op].decisionsByBackend[backend])) {
          decisions.push({ suffix: '', labels: { op, backend, reason }, value: n });
        }
      }
    }
    const latency = family('latency_seconds', 'histogram', 'Latency of successful calls, by backend.');
    for (const op of OPERATIONS) {
      for (const backend of ['cpu', 'gpu'] as const) histogramSamples(latency, this.records[op][backend].latency, { op, backend });
    }
    const batches = family('batch_size', 'histogram', 'Batch size of routed calls (cosine: queries x rows; spreading: estimated edges x seed sets).');
    for (const op of OPERATIONS) histogramSamples(batches, this.records[op].batches, { op });
    const success = family('gpu_success_rate', 'gauge', 'GPU successes / attempts over the last window of attempts (1 before any).');
    for (const op of OPERATIONS) success.push({ suffix: '', labels: { op }, value: this.records[op].gpuSuccessRate ?? 1 });
    const speedup = family('gpu_speedup_ratio', 'gauge', 'Median per-item CPU latency / GPU latency, in the largest size class measured on both.');
    for (const op of OPERATIONS) {
      const bySize = this.records[op].speedupBySizeClass();
      const classes = Object.keys(bySize).map(Number).sort((a, b) => a - b);
      if (classes.length > 0) speedup.push({ suffix: '', labels: { op }, value: bySize[String(classes[classes.length - 1])]! });
    }
    const formed = family('batches_total', 'counter', 'Batches formed by dynamic batching, by why they were sent.');
    for (const reason of ['full', 'timer'] as const) formed.push({ suffix: '', labels: { reason }, value: this.flushes[reason] });
    histogramSamples(family('batch_queries', 'histogram', 'Queries merged per batch by dynamic batching.'), this.merged, {});
    histogramSamples(family('batch_wait_seconds', 'histogram', 'Time a query waited for its batch to be sent.'), this.waits, {});
    const hops = family('spread_hops_total', 'counter', 'Spreading hops, by backend and direction (push, pull).');
    for (const backend of ['cpu', 'gpu'] as const) {
      for (const direction of ['push', 'pull'] as const) hops.push({ suffix: '', labels: { backend, direction }, value: this.spreadHops[backend][direction] });
    }
    family('gpu_available', 'gauge', '1 when a GPU device is held.').push({ suffix: '', labels: {}, value: gpuAvailable ? 1 : 0 });
    return families;
  }

  /** Prometheus text exposition (format 0.0.4). */
  prometheus(gpuAvailable: boolean): string {
    const lines: string[] = [];
    for (const f of this.families(gpuAvailable)) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      for (const s of f.samples) {
        const text = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
        lines.push(`${f.name}${s.suffix}${text ? `{${text}}` : ''} ${formatValue(s.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

/** One metric family: its samples carry a name suffix (`_bucket`, `_sum`, `_count` for histograms). */
export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  samples: Array<{ suffix: string; labels: Record<string, string>; value: number }>;
}

function histogramSamples(samples: MetricFamily['samples'], h: Histogram, labels: Record<string, string>): void {
  h.bounds.forEach((bound, i) => samples.push({ suffix: '_bucket', labels: { ...labels, le: String(bound) }, value: h.counts[i]! }));
  samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: h.total });
  samples.push({ suffix: '_sum', labels, value: h.sum });
  samples.push({ suffix: '_count', labels, value: h.total });
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
