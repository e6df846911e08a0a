// The browser demo: a corpus (generated, or loaded from a file), a resident index, searches and a
// spreading query from the search hits, each call shown with the backend that answered it (read
// from hs.stats()), its time, the timeline from page load to the first search result, and the
// telemetry. Settings come from the URL (?n=20000&dim=384&gpu=auto|any|off), which the form sets.
import { createHybrid } from 'hybrid-similarity';

const moduleLoadedMs = performance.now();
const params = new URLSearchParams(location.search);
const settings = {
  n: clampInt(params.get('n'), 20000, 1, 1_000_000),
  dim: clampInt(params.get('dim'), 384, 1, 4096),
  gpu: ['auto', 'any', 'off'].includes(params.get('gpu')) ? params.get('gpu') : 'auto',
};
const form = document.getElementById('settings');
form.n.value = settings.n;
form.dim.value = settings.dim;
form.gpu.value = settings.gpu;

const status = document.getElementById('status');
const K = 5;
let engine = null; // one engine for the page: created (and warmed up) by the first run, reused after
let lastIndex = null; // the last run's index, disposed before the next run builds its own

/** For the test and for anyone poking at the page: what the last run found. */
window.demoResult = { state: 'running' };

run(() => ({ vectors: randomRows(settings.n, settings.dim, 42), dim: settings.dim, source: 'generated' }))
  .catch(showError);

document.getElementById('corpus-file').addEventListener('change', (event) => {
  const file = event.target.files?.[0];
  if (file) run(() => loadCorpus(file, Number(form.dim.value))).catch(showError);
});

async function run(makeCorpus) {
  document.body.dataset.state = 'running';
  window.demoResult = { state: 'running' };
  const timeline = [['library module loaded (import of hybrid-similarity)', moduleLoadedMs]];
  for (const id of ['engine', 'results', 'timeline', 'telemetry']) clear(id);
  if (lastIndex) lastIndex.dispose();
  lastIndex = null;

  if (!engine) {
    setStatus('creating the engine…');
    engine = await createHybrid(settings.gpu === 'any' ? { gpu: navigator.gpu ?? null }
      : settings.gpu === 'off' ? { gpu: null } : {});
    timeline.push(['engine ready (WASM compiled, GPU device if any, warmed up)', performance.now()]);
  } else {
    timeline.push(['engine of the first run reused (no second device, no second warm-up)', performance.now()]);
  }
  const hs = engine;
  await describeEngine(hs);

  setStatus('making the corpus…');
  const { vectors, dim, source } = await makeCorpus();
  const n = vectors.length / dim;
  timeline.push([`corpus ready (${source}, ${n} x ${dim})`, performance.now()]);

  setStatus(`building an index of ${n} x ${dim}…`);
  const index = await hs.createIndex(vectors, { dim });
  lastIndex = index;
  timeline.push(['index built', performance.now()]);

  // The query is a noisy copy of one row: that row should come first.
  const target = Math.min(1234, n - 1);
  const random = rng(7);
  const query = vectors.slice(target * dim, (target + 1) * dim).map((x) => x + 0.3 * (random() * 2 - 1));
  const calls = [];
  const hasGpu = hs.info().gpu !== null;
  const call = async (label, operation, backend, body, summarize) => {
    setStatus(`running: ${label}…`);
    const before = hs.stats();
    const started = performance.now();
    const result = await body({ backend });
    const ms = performance.now() - started;
    const answered = whoAnswered(before, hs.stats(), operation);
    const entry = { label, asked: backend, ...answered, ms, summary: summarize(result), result };
    calls.push(entry);
    addRow('results', [label, backend, [answered.backend + (answered.reason ? ` (${answered.reason})` : ''), answered.fallback ? 'fallback' : answered.backend],
      [ms.toFixed(2), 'num'], entry.summary]);
    return result;
  };
  const topList = ({ indices, scores }) => Array.from(indices, (row, i) => `#${row} (${scores[i].toFixed(3)})`).join(', ');

  const first = await call('search top-5', 'cosine', 'auto', (o) => index.search(query, { k: K, ...o }), topList);
  const firstResultMs = performance.now();
  timeline.push(['first search result', firstResultMs]);
  await call('search top-5, again', 'cosine', 'auto', (o) => index.search(query, { k: K, ...o }), topList);
  await call('search top-5', 'cosine', 'cpu', (o) => index.search(query, { k: K, ...o }), topList);
  if (hasGpu) await call('search top-5', 'cosine', 'gpu', (o) => index.search(query, { k: K, ...o }), topList);
  const queries = randomRows(32, dim, 9);
  await call('searchBatch of 32 queries, top-10', 'cosine', 'auto', (o) => index.searchBatch(queries, { k: 10, ...o }),
    (results) => `${results.length} results; query 0: #${results[0].indices[0]}`);
  await call(`scores of the query against all ${n} rows`, 'cosine', 'auto', (o) => index.scores(query, o),
    (scores) => `best ${scores.reduce((a, b) => Math.max(a, b), -1).toFixed(3)} (row ${target}: ${scores[target].toFixed(3)})`);

  // Spreading over a random graph of the rows, seeded by the search hits with their scores.
  const graph = hs.createGraph(randomGraph(n, 8, 11));
  const seeds = { nodes: first.indices, values: first.scores };
  const spreadOptions = { seeds, maxHops: 3, fan: 'outDegree', threshold: 0.001 };
  const seeded = new Set(first.indices);
  const topNodes = (totals) => {
    const order = Array.from(totals.keys()).filter((v) => !seeded.has(v))
      .sort((a, b) => totals[b] - totals[a] || a - b).slice(0, K);
    return 'reached: ' + order.map((v) => `node ${v}: ${totals[v].toFixed(4)}`).join(', ');
  };
  await call('spreadActivation from the top-5 hits, 3 hops', 'spreading', 'auto', (o) => hs.spreadActivation(graph, { ...spreadOptions, ...o }), topNodes);
  await call('spreadActivation, 3 hops', 'spreading', 'cpu', (o) => hs.spreadActivation(graph, { ...spreadOptions, ...o }), topNodes);
  if (hasGpu) await call('spreadActivation, 3 hops', 'spreading', 'gpu', (o) => hs.spreadActivation(graph, { ...spreadOptions, ...o }), topNodes);
  graph.dispose();
  timeline.push(['all calls done', performance.now()]);

  for (const [what, at] of timeline) addRow('timeline', [what, [`${at.toFixed(1)} ms`, 'num']]);
  showTelemetry(hs);
  window.demoResult = {
    state: 'done',
    target,
    n,
    dim,
    gpuMode: settings.gpu,
    info: hs.info(),
    firstResultMs,
    timeline: timeline.map(([what, at]) => ({ what, at })),
    calls: calls.map(({ result, ...rest }) => ({
      ...rest,
      best: result && result.indices ? result.indices[0] : null,
      activations: result instanceof Float32Array && rest.label.startsWith('spread') ? Array.from(result) : undefined,
    })),
  };
  setStatus(`done: first search result ${firstResultMs.toFixed(0)} ms after the page started loading; best match #${first.indices[0]} (the query is a noisy copy of row ${target})`);
  document.body.dataset.state = 'done';
}

/** The backend that answered a call, from the router's decision counts before and after it. */
function whoAnswered(before, after, operation) {
  const was = before.operations[operation];
  const now = after.operations[operation];
  for (const [reason, count] of Object.entries(now.fallbacks)) {
    if (count > (was.fallbacks[reason] ?? 0)) return { backend: 'cpu', reason, fallback: true };
  }
  for (const backend of ['gpu', 'cpu']) {
    for (const [reason, count] of Object.entries(now.decisionsByBackend[backend])) {
      if (count > (was.decisionsByBackend[backend][reason] ?? 0)) return { backend, reason, fallback: false };
    }
  }
  return { backend: now.gpu.calls > was.gpu.calls ? 'gpu' : 'cpu', reason: '', fallback: false };
}

async function describeEngine(hs) {
  const info = hs.info();
  let adapter = 'no navigator.gpu (no WebGPU in this browser, or not a secure context)';
  if (navigator.gpu) {
    const a = await navigator.gpu.requestAdapter();
    adapter = a ? `${a.info.vendor || '?'} ${a.info.architecture || ''} ${a.info.description || ''}`.trim() +
      (a.info.isFallbackAdapter ? ' (software fallback adapter)' : '') : 'navigator.gpu present, but requestAdapter() gave null';
  }
  addRow('engine', ['platform build', info.platform]);
  addRow('engine', ['CPU kernels', `WASM SIMD, ${info.cpu.wasmBytes} bytes, loaded from ${info.cpu.wasmSource === 'url' ? 'kernels.wasm (URL)' : 'the inline copy'}`]);
  addRow('engine', ['WebGPU adapter offered', adapter]);
  addRow('engine', ['GPU in use', info.gpu
    ? `${info.gpu.adapter.vendor} ${info.gpu.adapter.architecture} (features: ${info.gpu.features.join(', ') || 'none'})`
    : `none: every call runs on the CPU${settings.gpu === 'auto' && navigator.gpu ? ' (auto skips software adapters; choose "any")' : ''}`]);
}

function showTelemetry(hs) {
  const stats = hs.stats();
  for (const [operation, op] of Object.entries(stats.operations)) {
    for (const backend of ['cpu', 'gpu']) {
      const s = op[backend];
      const decisions = Object.entries(op.decisionsByBackend[backend]).map(([r, c]) => `${r}: ${c}`).join(', ');
      if (s.calls === 0 && !decisions) continue;
      addRow('telemetry', [operation, [backend, backend], [String(s.calls), 'num'], [String(s.failures), 'num'],
        [fmt(s.p50Ms), 'num'], [fmt(s.p99Ms), 'num'], decisions || '-']);
    }
  }
  document.getElementById('metrics').textContent = hs.metrics();
}

async function loadCorpus(file, dim) {
  if (file.name.endsWith('.json')) {
    const rows = JSON.parse(await file.text());
    if (!Array.isArray(rows) || !Array.isArray(rows[0])) throw new Error(`${file.name}: expected an array of rows`);
    return { vectors: Float32Array.from(rows.flat()), dim: rows[0].length, source: file.name };
  }
  const bytes = await file.arrayBuffer();
  if (bytes.byteLength % (4 * dim) !== 0) throw new Error(`${file.name}: ${bytes.byteLength} bytes is not a whole number of ${dim}-d float32 rows`);
  return { vectors: new Float32Array(bytes), dim, source: file.name };
}

/** `rows` x `dim` values uniform in [-1, 1] from a seeded generator. */
function randomRows(rows, dim, seed) {
  const random = rng(seed);
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < out.length; i++) out[i] = random() * 2 - 1;
  return out;
}

/** `degree` random out-edges per node with weights in [0, 1). */
function randomGraph(nodeCount, degree, seed) {
  const random = rng(seed);
  const from = new Uint32Array(nodeCount * degree);
  const to = new Uint32Array(nodeCount * degree);
  const weight = new Float32Array(nodeCount * degree);
  for (let e = 0; e < from.length; e++) {
    from[e] = Math.floor(e / degree);
    to[e] = Math.floor(random() * nodeCount);
    weight[e] = random();
  }
  return { nodeCount, from, to, weight };
}

/** mulberry32. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function clampInt(text, fallback, min, max) {
  const value = Number.parseInt(text ?? '', 10);
  return Number.isFinite(value) ? Math.min(Math.max(value, min), max) : fallback;
}

function fmt(ms) {
  return Number.isFinite(ms) ? ms.toFixed(2) : '-';
}

function clear(id) {
  document.querySelector(`#${id} tbody`).replaceChildren();
}

/** A table row; a cell is text, or [text, class]. */
function addRow(id, cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    const [text, className] = Array.isArray(cell) ? cell : [cell, ''];
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
  }
  document.querySelector(`#${id} tbody`).append(tr);
}

function setStatus(text) {
  status.className = '';
  status.textContent = text;
}

function showError(error) {
  console.error(error);
  status.className = 'error';
  status.textContent = `error: ${error?.stack ?? error}`;
  document.body.dataset.state = 'error';
  window.demoResult = { state: 'error', error: String(error?.stack ?? error) };
}
