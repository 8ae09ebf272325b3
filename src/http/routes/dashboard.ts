import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The package root's dashboard/: plain HTML, CSS and ES modules the browser runs as they are, so
 * there is nothing to build. Read from the root like lua/ (src/redis/luaSource.ts).
 */
export const DASHBOARD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dashboard');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page may load only what this engine serves and talk only to it: nothing from the internet,
 * no inline script an injected SKU name could smuggle in.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // A new engine version serves new files: the browser asks again rather than mix two versions.
  'cache-control': 'no-cache',
};

type Asset = { body: Buffer; type: string };

/** Every servable file of the folder, read once: the set of names is fixed, so no path from a URL reaches the disk. */
function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type) assets.set(name, { body: readFileSync(path.join(dir, name)), type });
  }
  return assets;
}

/** `GET /dashboard`: the operators' page (dashboard/index.html) and the files it loads. */
export default async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const assets = readAssets(DASHBOARD_DIR);
  const page = assets.get('index.html');
  if (!page) throw new Error(`${DASHBOARD_DIR} has no index.html`);

  const send = (asset: Asset) => (_request: unknown, reply: FastifyReply) => reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body);
  const hidden = { schema: { hide: true } };
  app.get('/dashboard', hidden, send(page));
  app.get('/dashboard/', hidden, send(page));
  for (const [name, asset] of assets) {
    if (name !== 'index.html') app.get(`/dashboard/${name}`, hidden, send(asset));
  }
}
