// Plots people look at, rendered headless with Vega-Lite (SVG) and resvg (PNG) into docs/plots/:
//  - latency against corpus size per backend (log-log), with the crossover and the chosen
//    gpuMinBatchSize marked, from a calibration (bench/results/calibration.json, made by
//    `hybrid-similarity calibrate --json`);
//  - our medians against the peers', from bench/results/peers.json.
// Usage: node bench/plot.mjs
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, 'bench', 'results');
const out = join(root, 'docs', 'plots');
mkdirSync(out, { recursive: true });

async function render(name, spec) {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  writeFileSync(join(out, `${name}.svg`), svg);
  writeFileSync(join(out, `${name}.png`), new Resvg(svg, { fitTo: { mode: 'width', value: 900 }, background: 'white' }).render().asPng());
  console.log(`wrote docs/plots/${name}.svg and .png`);
}

const calibrationFile = join(results, 'calibration.json');
if (existsSync(calibrationFile)) {
  const c = JSON.parse(readFileSync(calibrationFile, 'utf8'));
  const values = c.points.flatMap((p) => [
    { rows: p.rows, backend: 'CPU (WASM SIMD)', ms: p.cpuMs, perRowNs: (p.cpuMs * 1e6) / p.rows },
    ...(p.gpuMs === null ? [] : [{ rows: p.rows, backend: 'GPU', ms: p.gpuMs, perRowNs: (p.gpuMs * 1e6) / p.rows }]),
  ]);
  const marks = [];
  if (c.crossoverRows !== null) marks.push({ rows: c.crossoverRows, label: `crossover ${c.crossoverRows}` });
  const minBatch = c.crossoverRows ?? null;
  const adapter = c.adapter ? ` (GPU: ${c.adapter})` : '';
  const subtitle = c.crossoverRows === null
    ? `no crossover: the GPU never reached ${c.speedupThreshold}x the CPU (recommended: GPU off)`
    : `GPU >= ${c.speedupThreshold}x the CPU from ${c.crossoverRows} rows: gpuMinBatchSize = ${minBatch}`;
  const layers = (field, title) => ({
    layer: [
      { mark: { type: 'line', point: true }, encoding: {
        x: { field: 'rows', type: 'quantitative', scale: { type: 'log' }, title: `corpus rows (one top-${c.k} query of ${c.dim} values)` },
        y: { field, type: 'quantitative', scale: { type: 'log' }, title },
        color: { field: 'backend', type: 'nominal', title: null } } },
      ...(marks.length ? [{ data: { values: marks }, mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { x: { field: 'rows', type: 'quantitative' } } },
        { data: { values: marks }, mark: { type: 'text', align: 'left', dx: 4, dy: -120 }, encoding: { x: { field: 'rows', type: 'quantitative' }, text: { field: 'label' } } }] : []),
    ],
  });
  await render('latency-vs-size', {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 640, height: 320,
    title: { text: `Latency against corpus size${adapter}`, subtitle }, data: { values }, ...layers('ms', 'median latency (ms)'),
  });
  await render('throughput-vs-size', {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 640, height: 320,
    title: { text: `Cost per row against corpus size${adapter}`, subtitle }, data: { values }, ...layers('perRowNs', 'median ns per row'),
  });
} else {
  console.log('no bench/results/calibration.json: run `node dist/cli.js calibrate --json > bench/results/calibration.json` first');
}

const peersFile = join(results, 'peers.json');
if (existsSync(peersFile)) {
  const p = JSON.parse(readFileSync(peersFile, 'utf8'));
  const tasks = [...new Set(p.results.map((r) => r.task))];
  await render('peers', {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `hybrid-similarity and its peers, ${p.rows} x ${p.dim}, single-threaded, same run`, subtitle: `${p.machine.cpu}, ${p.machine.cores} cores, Node ${p.machine.node}; median ms, lower is better` },
    vconcat: tasks.map((task) => ({
      title: { text: task, anchor: 'start', fontSize: 12 },
      width: 520,
      data: { values: p.results.filter((r) => r.task === task) },
      layer: [
        { mark: 'bar', encoding: {
          y: { field: 'peer', type: 'nominal', title: null, sort: 'x' },
          x: { field: 'medianMs', type: 'quantitative', title: 'median ms' },
          color: { condition: { test: "datum.peer === 'hybrid-similarity'", value: '#d95f02' }, value: '#7570b3' } } },
        { mark: { type: 'text', align: 'left', dx: 4 }, encoding: {
          y: { field: 'peer', type: 'nominal', sort: 'x' },
          x: { field: 'medianMs', type: 'quantitative' },
          text: { field: 'medianMs', type: 'quantitative', format: '.1f' } } },
      ],
    })),
  });
}
