// Debian's Chromium driven by playwright-core (never a downloaded browser), and a static server
// for the pages, for test/browser.test.ts. Node only.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sirv from 'sirv';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

export const CHROMIUM_HELP =
  `No Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium; .ci/run does). ` +
  'In CI that fails the browser tests; elsewhere they are skipped.';

export const ADAPTER_HELP =
  'Chromium with --enable-unsafe-webgpu offered no WebGPU adapter (SwiftShader, part of Debian\'s chromium, ' +
  'should be offered on a machine without a GPU).';

/** Why the browser tests cannot run here, or null when Chromium is installed. */
export const chromiumMissing: string | null = existsSync(CHROMIUM_PATH) ? null : CHROMIUM_HELP;

/** For a closed network: nothing phones home, nothing updates, no QUIC. */
const QUIET_FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
];

/** A headless Chromium with a fresh profile; WebGPU (SwiftShader on a machine without a GPU) when asked. */
export interface Chromium {
  context: BrowserContext;
  /** A new tab; page errors and console errors are collected in `problems`. */
  open(url: string): Promise<Page>;
  problems: string[];
  close(): Promise<void>;
}

export async function launchChromium(options: { webgpu: boolean; args?: string[] }): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'hybrid-similarity-chromium-'));
  const args = [...QUIET_FLAGS, ...(options.webgpu ? ['--enable-unsafe-webgpu'] : []), ...(options.args ?? [])];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args,
    viewport: { width: 1200, height: 900 },
  });
  const problems: string[] = [];
  return {
    context,
    problems,
    async open(url) {
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A static server on 127.0.0.1 (a secure context for WebGPU), one folder per URL prefix. */
export interface Served { url: string; port: number; close(): Promise<void> }

export async function serveFolders(mounts: Array<[prefix: string, folder: string]>,
  headers: Record<string, string> = {}): Promise<Served> {
  const handlers = mounts.map(([prefix, folder]) => [prefix, sirv(folder, { dev: true })] as const);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const notFound = () => { res.statusCode = 404; res.end('not found'); };
    const url = req.url ?? '/';
    const mount = handlers.find(([prefix]) => url.startsWith(prefix));
    if (!mount) return notFound();
    req.url = url.slice(mount[0].length - 1);
    mount[1](req, res, notFound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
