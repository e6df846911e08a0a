// Indexes saved and loaded in a real browser (Debian's Chromium, headless): a page saves an index
// to OPFS and to IndexedDB, and after a reload loads it back from both and from a fetched Blob of
// a file Node wrote; every copy answers as the index saved, and the bytes a page writes load in
// Node with the same answers. In CI a missing Chromium fails; elsewhere these tests skip.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHybrid } from '../src/index.js';
import { chromiumMissing, inCi, launchChromium, serveFolders, type Chromium, type Served } from './browser/chromium.js';
import { randomMatrix, rng } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const site = join(root, 'test-results', 'browser-persistence');
const skip = chromiumMissing !== null && !inCi;

const dim = 24;
const rows = 3000;
const vectors = randomMatrix(rows, dim, rng(77));
const keys = Array.from({ length: rows }, (_, i) => `doc-${i}`);
const query = Array.from(randomMatrix(1, dim, rng(78)));

/**
 * The page: the browser bundle by URL, and two functions the test calls (before and after a
 * reload). Plain JS in a string, so that nothing rewrites its dynamic import.
 */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head><body>persistence
<script type="module">
import * as hybrid from '/lib/hybrid-similarity.js';
const openDb = () => new Promise((resolve, reject) => {
  const open = indexedDB.open('hs-test', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('files');
  open.onsuccess = () => resolve(open.result);
  open.onerror = () => reject(open.error);
});
const answer = async (index, q) => {
  const top = await index.search(Float32Array.from(q), { k: 10 });
  return { keys: top.keys, scores: [...top.scores], size: index.size };
};
window.saveIndex = async ({ vectors, keys, dim, query }) => {
  const hs = await hybrid.createHybrid({ gpu: null });
  const index = await hs.createIndex(Float32Array.from(vectors), { dim, dtype: 'f16', metric: 'dot', keys });
  await index.remove(keys.filter((_, i) => i % 7 === 0));
  const bytes = await index.toBytes();
  const opfs = await navigator.storage.getDirectory();
  const writable = await (await opfs.getFileHandle('index.hsx', { create: true })).createWritable();
  await writable.write(bytes);
  await writable.close();
  const db = await openDb();
  await new Promise((resolve, reject) => {
    const tx = db.transaction('files', 'readwrite');
    tx.objectStore('files').put(new Blob([bytes]), 'index');
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
  const result = { answer: await answer(index, query), bytes: [...bytes] };
  await hs.dispose();
  return result;
};
window.loadIndexes = async (query) => {
  const hs = await hybrid.createHybrid({ gpu: null });
  const ask = async (source) => {
    const index = await hs.loadIndex(source);
    const result = await answer(index, query);
    index.dispose();
    return result;
  };
  const opfs = await navigator.storage.getDirectory();
  const file = await (await opfs.getFileHandle('index.hsx')).getFile();
  const db = await openDb();
  const stored = await new Promise((resolve, reject) => {
    const get = db.transaction('files').objectStore('files').get('index');
    get.onsuccess = () => resolve(get.result);
    get.onerror = () => reject(get.error);
  });
  const fetched = await (await fetch('/from-node.hsx')).blob();
  const streamed = await hs.loadIndex((await fetch('/from-node.hsx')).body);
  const bad = await hs.loadIndex(fetched.slice(0, 1000)).catch((e) => e.code);
  const result = { opfs: await ask(file), indexedDB: await ask(stored), fetched: await ask(fetched), streamedSize: streamed.size, bad };
  await hs.dispose();
  return result;
};
</script></body></html>`;

/** What a search answers (as JSON), in Node or in the page. */
interface Answer { keys: string[]; scores: number[]; size: number }

describe.skipIf(skip)('saving and loading in Chromium', () => {
  let served: Served;
  let chrome: Chromium;
  let nodeAnswer: Answer;

  beforeAll(async () => {
    if (chromiumMissing) throw new Error(chromiumMissing);
    rmSync(site, { recursive: true, force: true });
    mkdirSync(site, { recursive: true });
    // The index as Node saves it, for the page to fetch.
    const hs = await createHybrid({ gpu: null });
    const index = await hs.createIndex(vectors, { dim, dtype: 'f16', metric: 'dot', keys });
    await index.remove(keys.filter((_, i) => i % 7 === 0));
    writeFileSync(join(site, 'from-node.hsx'), await index.toBytes());
    const top = await index.search(Float32Array.from(query), { k: 10 });
    nodeAnswer = { keys: top.keys, scores: [...top.scores], size: index.size };
    await hs.dispose();
    writeFileSync(join(site, 'index.html'), PAGE);
    served = await serveFolders([['/lib/', join(root, 'dist', 'browser')], ['/', site]]);
    chrome = await launchChromium({ webgpu: false });
  });
  afterAll(async () => {
    await chrome?.close();
    await served?.close();
  });

  it('a page saves to OPFS and IndexedDB, reloads, and loads both and a fetched Blob: same answers', async () => {
    const page = await chrome.open(served.url);
    await page.waitForFunction(() => 'saveIndex' in window);
    const saved = await page.evaluate((args) => (window as unknown as { saveIndex(a: unknown): Promise<{ answer: Answer; bytes: number[] }> }).saveIndex(args),
      { vectors: Array.from(vectors), keys, dim, query });
    expect(saved.answer).toEqual(nodeAnswer);
    // The page's bytes load in Node with the same answers.
    const hs = await createHybrid({ gpu: null });
    const fromPage = await hs.loadIndex(Uint8Array.from(saved.bytes));
    const top = await fromPage.search(Float32Array.from(query), { k: 10 });
    expect({ keys: top.keys, scores: [...top.scores], size: fromPage.size }).toEqual(nodeAnswer);
    await hs.dispose();

    await page.reload();
    await page.waitForFunction(() => 'loadIndexes' in window);
    const loaded = await page.evaluate((q) => (window as unknown as { loadIndexes(q: number[]): Promise<{
      opfs: Answer; indexedDB: Answer; fetched: Answer; streamedSize: number; bad: string;
    }> }).loadIndexes(q), query);
    expect(loaded.opfs).toEqual(nodeAnswer);
    expect(loaded.indexedDB).toEqual(nodeAnswer);
    expect(loaded.fetched).toEqual(nodeAnswer);
    expect(loaded.streamedSize).toBe(nodeAnswer.size);
    expect(loaded.bad).toBe('INVALID_FILE');
    expect(chrome.problems).toEqual([]);
  });
});
