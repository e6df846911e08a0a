// The suite's report as markdown tables (what `hybrid-similarity bench` prints and what
// docs/PERFORMANCE.md quotes).
import type { BaselineComparison } from './baseline.js';
import { machineLine } from './machine.js';
import { OURS, type BenchFigure, type SuiteReport } from './types.js';

/** A latency for people: 3 significant digits, in us, ms or s. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} us`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const columnOf = (f: BenchFigure) => (f.implementation === OURS ? f.backend! : f.implementation);
const cell = (f: BenchFigure | undefined) => (f ? `${formatMs(f.p50Ms)} (p99 ${formatMs(f.p99Ms)})` : '');

/** Ours per operation and shape, one column per backend (and per peer measured beside it). */
function backendTable(figures: BenchFigure[]): string {
  const columns = [...new Set(figures.map(columnOf))].sort((a, b) => order(a) - order(b));
  // Rows by operation (in the order they first ran), then batch.
  const operations = [...new Set(figures.map((f) => f.operation))];
  const sorted = [...figures].sort((a, b) => operations.indexOf(a.operation) - operations.indexOf(b.operation) || a.batch - b.batch);
  const groups = new Map<string, BenchFigure[]>();
  for (const f of sorted) groups.set(`${f.operation}\u0000${f.shape}`, [...(groups.get(`${f.operation}\u0000${f.shape}`) ?? []), f]);
  const hasGpu = columns.includes('gpu');
  const peers = columns.filter((c) => !['cpu', 'gpu', 'auto'].includes(c));
  const rows = [...groups.values()].map((group) => {
    const at = (c: string) => group.find((f) => columnOf(f) === c);
    const cpu = at('cpu'), gpu = at('gpu');
    return [
      group[0]!.operation, group[0]!.shape, String(group[0]!.batch),
      ...columns.map((c) => cell(at(c))),
      ...(hasGpu ? [cpu && gpu ? `${(cpu.p50Ms / gpu.p50Ms).toFixed(2)}x` : ''] : []),
      ...peers.map((c) => { const f = at(c); return f?.vsOurs != null ? `${f.vsOurs.toFixed(2)}x` : ''; }),
    ];
  });
  return table([
    'operation', 'shape', 'batch', ...columns.map((c) => `${c} median (p99)`),
    ...(hasGpu ? ['GPU speedup over CPU'] : []), ...peers.map((c) => `${c} / ours (CPU)`),
  ], rows);
}

function order(column: string): number {
  return ({ cpu: 0, gpu: 1, auto: 2 } as Record<string, number>)[column] ?? 3;
}

/** Peers: one row per implementation and operation, with its median over ours. */
function peersTable(figures: BenchFigure[]): string {
  const rows = figures.map((f) => [
    f.operation.replace(/^peers: /, ''), f.shape, f.implementation === OURS ? `**${OURS}** (${f.backend})` : f.implementation,
    formatMs(f.p50Ms), formatMs(f.p99Ms), f.vsOurs === null ? '1x' : `${f.vsOurs.toFixed(2)}x`, f.note ?? '',
  ]);
  return table(['operation', 'shape', 'implementation', 'median', 'p99', 'median / ours', 'note'], rows);
}

/** The whole report as text: machine, one table per module, crossovers, missing, errors. */
export function formatReport(report: SuiteReport): string {
  const out: string[] = [];
  out.push(`Machine: ${machineLine(report.machine)}`);
  out.push(`Timing: tinybench, per task >= ${report.timing.minIterations} calls and >= ${report.timing.timeMs} ms after ` +
    `>= ${report.timing.warmupIterations} warm-up calls and ${report.timing.warmupTimeMs} ms; ${report.date}${report.quick ? ' (--quick)' : ''}; ${report.durationS} s in all`);
  for (const module of report.modules) {
    const figures = report.rows.filter((f) => f.module === module);
    if (!figures.length) continue;
    out.push('', `### ${module}`, '', module === 'peers' ? peersTable(figures) : backendTable(figures));
  }
  if (report.crossovers.length) {
    out.push('', '### crossovers', '', table(['operation', 'crossover batch', 'gpuMinBatchSize (configured)', 'GPU speedup at the largest batch'],
      report.crossovers.map((c) => [
        c.operation, c.batch === null ? `none (GPU never >= ${c.speedupThreshold}x)` : String(c.batch), String(c.gpuMinBatchSize),
        `${c.speedups[c.speedups.length - 1]!.speedup.toFixed(2)}x at ${c.speedups[c.speedups.length - 1]!.batch}`,
      ])));
  }
  if (report.missing.length) {
    out.push('', '### not measured', '', table(['implementation', 'why'], report.missing.map((m) => [m.implementation, m.reason])));
  }
  if (report.errors.length) {
    out.push('', '### errors', '', table(['figure', 'error'], report.errors.map((e) => [e.id, e.error])));
  }
  return out.join('\n');
}

/** A baseline comparison: regressions first, then the rest in report order. */
export function formatComparison(comparison: BaselineComparison): string {
  const rank = (verdict: string) => ({ REGRESSION: 0, gone: 1, faster: 2, new: 3 } as Record<string, number>)[verdict] ?? 4;
  const rows = [...comparison.rows].sort((a, b) => rank(a.verdict) - rank(b.verdict)).map((r) => [
    r.id, r.nowMs === null ? '' : formatMs(r.nowMs), r.baselineMs === null ? '' : formatMs(r.baselineMs),
    r.ratio === null ? '' : `${r.ratio.toFixed(3)}`, r.band === null ? '' : `±${(r.band * 100).toFixed(1)}%`,
    r.verdict === 'REGRESSION' ? '**REGRESSION**' : r.verdict,
  ]);
  const counts = ['REGRESSION', 'faster', 'same (within noise)', 'new', 'gone']
    .map((v) => `${comparison.rows.filter((r) => r.verdict === v).length} ${v}`).join(', ');
  return [
    `### against baseline '${comparison.name}' (${comparison.runs} run${comparison.runs === 1 ? '' : 's'}, last ${comparison.lastDate}; ${comparison.machine})`,
    '', `${counts}. ratio = now / baseline median; a regression is a ratio above 1 + band.` +
      (comparison.runs < 2 ? ' One saved run: the band covers within-run noise only; save the baseline a few times to measure run-to-run noise.' : ''), '',
    table(['figure', 'now', 'baseline', 'ratio', 'noise band', 'verdict'], rows),
  ].join('\n');
}
