// The suite's plots as Vega-Lite specs (rendered by render.ts): latency and throughput against
// batch size per backend, log-log, one panel per swept operation, with the measured crossover and
// the configured gpuMinBatchSize marked (both when they differ, one rule when they agree); and a
// bar chart of ours against the peers.
import { formatMs } from './format.js';
import { OURS, type BenchFigure, type Crossover, type SuiteReport } from './types.js';

/** One plot: its file name and its Vega-Lite spec. */
export interface PlotSpec {
  /** File name without extension. */
  name: string;
  /** A Vega-Lite (v6) spec with its data inline. */
  spec: Record<string, unknown>;
}

/** A vertical rule on a panel: its batch, its label, the pixel row of the label. */
export interface PlotMark {
  batch: number;
  label: string;
  labelY: number;
  kind: 'crossover' | 'gpuMinBatchSize' | 'both';
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const SERIES_COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#999999'];

/** The marks of one swept operation: crossover and gpuMinBatchSize (merged when equal). */
export function marksFor(crossover: Crossover | undefined, gpuMinBatchSize: number): PlotMark[] {
  const at = crossover?.batch ?? null;
  if (at !== null && at === gpuMinBatchSize) {
    return [{ batch: at, label: `crossover = gpuMinBatchSize = ${at}`, labelY: 10, kind: 'both' }];
  }
  const marks: PlotMark[] = [];
  if (at !== null) marks.push({ batch: at, label: `crossover ${at}`, labelY: 10, kind: 'crossover' });
  marks.push({ batch: gpuMinBatchSize, label: `gpuMinBatchSize ${gpuMinBatchSize}`, labelY: at !== null ? 24 : 10, kind: 'gpuMinBatchSize' });
  return marks;
}

/** Operations of ours measured at two batch sizes or more, in report order. */
export function sweptOperations(report: SuiteReport): Array<{ module: string; operation: string; routedAs: BenchFigure['routedAs'] }> {
  const seen = new Map<string, { module: string; operation: string; routedAs: BenchFigure['routedAs']; batches: Set<number> }>();
  for (const f of report.rows) {
    if (f.implementation !== OURS) continue;
    const key = `${f.module}\u0000${f.operation}`;
    const entry = seen.get(key) ?? { module: f.module, operation: f.operation, routedAs: f.routedAs, batches: new Set<number>() };
    entry.batches.add(f.batch);
    seen.set(key, entry);
  }
  return [...seen.values()].filter((e) => e.batches.size >= 2).map(({ module, operation, routedAs }) => ({ module, operation, routedAs }));
}

function seriesName(f: BenchFigure, report: SuiteReport): string {
  if (f.implementation !== OURS) return f.implementation;
  if (f.backend === 'cpu') return 'CPU (WASM SIMD)';
  if (f.backend === 'auto') return 'auto (router)';
  const gpu = report.machine.gpu;
  if (!gpu) return 'GPU';
  // "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) 0.0.1" -> "llvmpipe: Mesa 25.0.7"
  const name = (gpu.description || gpu.device || gpu.vendor).replace(/\s*\(.*$/, '').replace(/-\S*$/, '').slice(0, 40);
  return `GPU: ${name}${gpu.software ? ' (software)' : ''}`;
}

function sweepPanels(report: SuiteReport, field: 'p50Ms' | 'perSecond', yTitle: string): Record<string, unknown>[] {
  return sweptOperations(report).map(({ module, operation, routedAs }) => {
    const figures = report.rows.filter((f) => f.module === module && f.operation === operation);
    const values = figures.map((f) => ({ batch: f.batch, value: f[field], series: seriesName(f, report), shape: f.shape }));
    const crossover = report.crossovers.find((c) => c.operation === operation && c.routedAs === routedAs);
    const marks = marksFor(crossover, report.config.gpuMinBatchSize[routedAs]);
    const series = [...new Set(values.map((v) => v.series))];
    const noCrossover = !report.machine.gpu ? 'no GPU: no crossover'
      : !crossover ? 'GPU not measured at two sizes: no crossover'
        : crossover.batch === null ? `no crossover: the GPU never stayed ${report.config.gpuSpeedupThreshold}x faster than the CPU` : '';
    return {
      title: { text: `${operation} (${module})`, subtitle: noCrossover || `GPU >= ${report.config.gpuSpeedupThreshold}x the CPU from batch ${crossover!.batch}`, anchor: 'start', fontSize: 13 },
      width: 620,
      height: 240,
      layer: [
        {
          data: { values },
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x: { field: 'batch', type: 'quantitative', scale: { type: 'log' }, title: `batch: ${figures[0]!.batchUnit}`, axis: { format: '~s' } },
            y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: yTitle, ...(field === 'perSecond' ? { axis: { format: '~s' } } : {}) },
            color: { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: SERIES_COLORS.slice(0, series.length) }, legend: { labelLimit: 360 } },
          },
        },
        {
          data: { values: marks },
          mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.5 },
          encoding: {
            x: { field: 'batch', type: 'quantitative' },
            color: { value: '#444444' },
          },
        },
        {
          data: { values: marks },
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
          encoding: {
            x: { field: 'batch', type: 'quantitative' },
            y: { field: 'labelY', type: 'quantitative', scale: null },
            text: { field: 'label' },
            color: { value: '#222222' },
          },
        },
      ],
    };
  });
}

function subtitleOf(report: SuiteReport): string {
  const gpu = report.machine.gpu;
  const adapter = gpu ? `${gpu.description || gpu.device}${gpu.software ? ' (software rasteriser: a harness check, not GPU speed)' : ''}` : 'no GPU';
  return `${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}; GPU: ${adapter}; ${report.date.slice(0, 10)}${report.quick ? ', --quick' : ''}`;
}

/** The plots of a suite report (those its figures allow). */
export function suitePlots(report: SuiteReport): PlotSpec[] {
  const plots: PlotSpec[] = [];
  if (sweptOperations(report).length) {
    const sweep = (name: string, text: string, field: 'p50Ms' | 'perSecond', axis: string): PlotSpec => ({
      name,
      spec: {
        $schema: SCHEMA,
        title: { text, subtitle: subtitleOf(report) },
        vconcat: sweepPanels(report, field, axis),
        resolve: { scale: { color: 'independent' } },
      },
    });
    plots.push(sweep('latency-vs-batch', 'Median latency against batch size, per backend (log-log; lower is better)', 'p50Ms', 'median latency (ms)'));
    plots.push(sweep('throughput-vs-batch', 'Throughput against batch size, per backend (log-log; higher is better)', 'perSecond',
      'batch items per second (at the median)'));
  }
  const peerOps = [...new Set(report.rows.filter((f) => f.module === 'peers').map((f) => f.operation))];
  if (peerOps.length) {
    const missing = report.missing.filter((m) => !m.implementation.startsWith(OURS)).map((m) => m.implementation);
    plots.push({
      name: 'peers',
      spec: {
        $schema: SCHEMA,
        title: {
          text: 'hybrid-similarity (CPU) and its peers: same data, same run, one thread each (median; lower is better)',
          subtitle: [subtitleOf(report), missing.length ? `not measured: ${missing.join(', ')} (see the report)` : 'every peer measured'],
        },
        vconcat: peerOps.map((operation) => {
          const figures = report.rows.filter((f) => f.module === 'peers' && f.operation === operation);
          const values = [...figures].sort((a, b) => a.p50Ms - b.p50Ms).map((f) => ({
            who: f.implementation === OURS ? `${OURS} (${f.backend})` : f.implementation,
            ours: f.implementation === OURS,
            ms: f.p50Ms,
            label: `${formatMs(f.p50Ms)}${f.vsOurs !== null ? ` (${f.vsOurs.toFixed(1)}x our time)` : ''}`,
          }));
          return {
            title: { text: `${operation.replace(/^peers: /, '')}, ${figures[0]!.shape}`, anchor: 'start', fontSize: 13 },
            width: 520,
            data: { values },
            layer: [
              {
                mark: 'bar',
                encoding: {
                  y: { field: 'who', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } },
                  x: { field: 'ms', type: 'quantitative', title: 'median ms' },
                  color: { condition: { test: 'datum.ours', value: '#d95f02' }, value: '#7570b3' },
                },
              },
              {
                mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
                encoding: {
                  y: { field: 'who', type: 'nominal', sort: null },
                  x: { field: 'ms', type: 'quantitative' },
                  text: { field: 'label' },
                },
              },
            ],
          };
        }),
      },
    });
  }
  return plots;
}
