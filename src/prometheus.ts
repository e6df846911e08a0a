// `hybrid-similarity/prometheus`: the engine's metrics as collectors in a prom-client Registry
// (prom-client is an optional peer dependency; only its registry interface is used here).
import type { HybridEngine } from './engine.js';

/** The part of prom-client's Registry used here. */
export interface RegistryLike {
  /** Add a collector (prom-client's `Registry.registerMetric`). */
  registerMetric(metric: unknown): void;
}

/**
 * Register the engine's metrics (the same families as `engine.metrics()`) in a prom-client
 * Registry; values are read from the engine at every scrape. Returns the metric names.
 */
export function registerMetrics(engine: HybridEngine, registry: RegistryLike): string[] {
  const names: string[] = [];
  for (const family of engine.metricFamilies()) {
    const name = family.name;
    names.push(name);
    registry.registerMetric({
      name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      collect: undefined,
      reset: () => undefined,
      get: async () => {
        const current = engine.metricFamilies().find((f) => f.name === name)!;
        return {
          name, help: current.help, type: current.type, aggregator: 'sum',
          values: current.samples.map((s) => ({ value: s.value, labels: s.labels, metricName: `${name}${s.suffix}` })),
        };
      },
    });
  }
  return names;
}
