// Serves the browser demo on 127.0.0.1 and prints its URL: `npm run demo:browser` (builds first).
// / is this folder; /lib/ is dist/browser/ (the self-contained bundle and its kernels.wasm),
// which the page's import map names `hybrid-similarity`. Options: --port N (default 4173; 0 picks
// a free one), --host H (default 127.0.0.1).
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sirv from 'sirv';

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, '..', '..', 'dist', 'browser');
if (!existsSync(join(bundle, 'hybrid-similarity.js'))) {
  console.error('dist/browser/hybrid-similarity.js is missing: run `npm run build` first');
  process.exit(1);
}
const { values } = parseArgs({ options: { port: { type: 'string', default: '4173' }, host: { type: 'string', default: '127.0.0.1' } } });
const page = sirv(here, { dev: true });
const lib = sirv(bundle, { dev: true });
const notFound = (res) => () => { res.statusCode = 404; res.end('not found'); };
const server = createServer((req, res) => {
  if (req.url === '/lib' || req.url?.startsWith('/lib/')) {
    req.url = req.url.slice('/lib'.length) || '/';
    lib(req, res, notFound(res));
  } else {
    page(req, res, notFound(res));
  }
});
server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`hybrid-similarity browser demo: http://${address}:${port}/`);
  console.log('(WebGPU in Chromium on Linux: start it with --enable-unsafe-webgpu; Ctrl-C stops this server)');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
