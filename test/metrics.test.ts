// metrics(): Prometheus text parsed by a real exposition-format parser, counters matching
// stats(); and hybrid-similarity/prometheus registering the same in a prom-client Registry.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHybrid } from '../src/index.js';
import { registerMetrics } from '../src/prometheus.js';
import { randomMatrix, rng } from './helpers.js';

interface ParsedFamily {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

async function busyEngine() {
  const hs = await createHybrid({ gpu: null });
  const dim = 8;
  const vectors = randomMatrix(100, dim, rng(1));
  const index = await hs.createIndex(vectors, { dim });
  for (let i = 0; i < 5; i++) await index.search(randomMatrix(1, dim, rng(i)), { k: 3 });
  await hs.cosineSimilarity(randomMatrix(1, dim, rng(9)), vectors, { backend: 'cpu' });
  return hs;
}

describe('metrics()', () => {
  it('parses as Prometheus text and matches stats()', async () => {
    const hs = await busyEngine();
    const families = parsePrometheusTextFormat(hs.metrics()) as ParsedFamily[];
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const name of ['gpu_launches_total', 'gpu_failures_total', 'fallbacks_total', 'decisions_total',
      'latency_seconds', 'batch_size', 'gpu_success_rate', 'gpu_speedup_ratio', 'gpu_available']) {
      expect(byName.has(`hybrid_similarity_${name}`), name).toBe(true);
    }
    const decisions = byName.get('hybrid_similarity_decisions_total')!.metrics;
    const value = (reason: string) => Number(decisions.find((m) => m.labels?.reason === reason && m.labels?.op === 'cosine')?.value);
    expect(value('no-gpu')).toBe(5);
    expect(value('forced')).toBe(1);
    expect(byName.get('hybrid_similarity_latency_seconds')!.type).toBe('HISTOGRAM');
    expect(byName.get('hybrid_similarity_batch_size')!.type).toBe('HISTOGRAM');
    expect(Number(byName.get('hybrid_similarity_gpu_available')!.metrics[0]!.value)).toBe(0);
    // This parser folds labelled histogram series together, so their samples are read from the
    // text: cumulative buckets, _count equal to stats().
    const text = hs.metrics();
    const line = (series: string) => Number(new RegExp(`^${series.replace(/[{}+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(line('hybrid_similarity_latency_seconds_count{op="cosine",backend="cpu"}')).toBe(hs.stats().operations.cosine.cpu.calls);
    expect(line('hybrid_similarity_batch_size_count{op="cosine"}')).toBe(6);
    expect(line('hybrid_similarity_batch_size_bucket{op="cosine",le="64"}')).toBe(0); // batches of 100 rows
    expect(line('hybrid_similarity_batch_size_bucket{op="cosine",le="256"}')).toBe(6);
    expect(line('hybrid_similarity_batch_size_bucket{op="cosine",le="+Inf"}')).toBe(6);
    await hs.dispose();
  });

  it('is registered in a prom-client Registry by hybrid-similarity/prometheus', async () => {
    const hs = await busyEngine();
    const registry = new Registry();
    const names = registerMetrics(hs, registry);
    expect(names).toContain('hybrid_similarity_decisions_total');
    const text = await registry.metrics();
    const families = parsePrometheusTextFormat(text) as ParsedFamily[];
    const decisions = families.find((f) => f.name === 'hybrid_similarity_decisions_total')!;
    expect(decisions.metrics.find((m) => m.labels?.reason === 'no-gpu')?.value).toBe('5');
    // Read at scrape time: a new call shows in the next scrape.
    await hs.cosineSimilarity(randomMatrix(1, 8, rng(3)), randomMatrix(100, 8, rng(4)));
    const again = parsePrometheusTextFormat(await registry.metrics()) as ParsedFamily[];
    expect(again.find((f) => f.name === 'hybrid_similarity_decisions_total')!.metrics
      .find((m) => m.labels?.reason === 'no-gpu')?.value).toBe('6');
    expect(again.find((f) => f.name === 'hybrid_similarity_latency_seconds')!.type).toBe('HISTOGRAM');
    await hs.dispose();
  });
});
