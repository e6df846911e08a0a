import type { BackendKind } from './backend.js';

/** Router labels: every cosine-family call is `cosine`; graph calls are `spreading`. */
export type Operation = 'cosine' | 'spreading';

/** A fixed-size ring of numbers; the oldest sample drops out when a new one arrives. */
export class RollingWindow {
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(value: number): void {
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.values.length;
    if (this.count < this.values.length) this.count++;
  }

  /** The q-quantile (0..1) of the samples held, nearest rank; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const sorted = this.values.slice(0, this.count).sort();
    const rank = Math.min(this.count - 1, Math.max(0, Math.ceil(q * this.count) - 1));
    return sorted[rank]!;
  }
}

/** Latency summary of one operation on one backend. */
export interface BackendStats {
  calls: number;
  failures: number;
  /** Median latency over the rolling window, milliseconds (NaN before the first call). */
  p50Ms: number;
  /** 99th percentile latency over the rolling window, milliseconds. */
  p99Ms: number;
}

/** What `stats()` returns. */
export interface TelemetrySnapshot {
  operations: Record<Operation, Record<BackendKind, BackendStats>>;
  /** Router decisions per operation, counted by reason. */
  decisions: Record<Operation, Record<string, number>>;
  /** Calls per public method (cosineSimilarity, search, ...). */
  methods: Record<string, number>;
}

class BackendRecord {
  calls = 0;
  failures = 0;
  readonly latencyMs: RollingWindow;

  constructor(window: number) {
    this.latencyMs = new RollingWindow(window);
  }

  snapshot(): BackendStats {
    return {
      calls: this.calls,
      failures: this.failures,
      p50Ms: this.latencyMs.quantile(0.5),
      p99Ms: this.latencyMs.quantile(0.99),
    };
  }
}

/** Counts and rolling latencies per operation and backend, each backend's samples apart. */
export class Telemetry {
  private readonly records: Record<Operation, Record<BackendKind, BackendRecord>>;
  private readonly decisions: Record<Operation, Record<string, number>> = { cosine: {}, spreading: {} };
  private readonly methods: Record<string, number> = {};
  private readonly enabled: boolean;

  constructor(windowSize: number, enabled: boolean) {
    this.enabled = enabled;
    const pair = () => ({ cpu: new BackendRecord(windowSize), gpu: new BackendRecord(windowSize) });
    this.records = { cosine: pair(), spreading: pair() };
  }

  recordDecision(operation: Operation, method: string, reason: string): void {
    if (!this.enabled) return;
    const byReason = this.decisions[operation];
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    this.methods[method] = (this.methods[method] ?? 0) + 1;
  }

  recordCall(operation: Operation, backend: BackendKind, latencyMs: number, ok: boolean): void {
    if (!this.enabled) return;
    const record = this.records[operation][backend];
    record.calls++;
    if (ok) record.latencyMs.push(latencyMs);
    else record.failures++;
  }

  snapshot(): TelemetrySnapshot {
    const operations = {} as TelemetrySnapshot['operations'];
    for (const operation of ['cosine', 'spreading'] as const) {
      operations[operation] = {
        cpu: this.records[operation].cpu.snapshot(),
        gpu: this.records[operation].gpu.snapshot(),
      };
    }
    return {
      operations,
      decisions: { cosine: { ...this.decisions.cosine }, spreading: { ...this.decisions.spreading } },
      methods: { ...this.methods },
    };
  }
}
