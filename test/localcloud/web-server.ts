/**
 * The storefront's static pages (`web/`) on an origin of their own, so every request the page
 * makes to the functions and to the Storage emulator is a real cross-origin one, with
 * preflights, as from a shop's site. `/` redirects to the shop page; `/config.json` tells the
 * page where the API is (the functions' ports are chosen at start).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where the page sends its requests; served as `/config.json`. */
export interface WebConfig {
  /** createUpload's base URL: the page POSTs to `${createUploadUrl}uploads`. */
  createUploadUrl: string;
  /** getStatus's base URL: the page GETs `${getStatusUrl}jobs/{jobId}`. */
  getStatusUrl: string;
}

export interface WebServerOptions {
  /** The directory served (the repository's `web/`). */
  dir: string;
  /** Default a free port. */
  port?: number;
  /** Where `/` redirects. Default `/shop/`. */
  home?: string;
  /** The config, if known at start; else setConfig() later (503 until then). */
  config?: WebConfig;
}

export interface WebServer {
  /** `http://127.0.0.1:PORT`, no trailing slash: what a browser sends as `Origin`. */
  origin: string;
  /** Both names of this origin (127.0.0.1 and localhost), for CORS allowlists. */
  origins: string[];
  port: number;
  /** The page a user opens (`${origin}/`). */
  url: string;
  setConfig(config: WebConfig): void;
  stop(): Promise<void>;
}

/** @example const web = await startWebServer({ dir: 'web' }); web.setConfig({ createUploadUrl, getStatusUrl }); */
export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const root = resolve(opts.dir);
  const home = opts.home ?? '/shop/';
  let config = opts.config;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}\n`));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') return send(res, 302, '', { location: home });
    if (path === '/config.json') {
      if (!config) return send(res, 503, 'the API is not up yet\n', { 'retry-after': '1' });
      return send(res, 200, JSON.stringify(config), { 'content-type': CONTENT_TYPES['.json']! });
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return send(res, 400, 'bad path\n');
    }
    const file = resolve(join(root, decoded));
    if (file !== root && !file.startsWith(root + sep)) return send(res, 404, 'not found\n');
    const info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      // A folder's page lives at the folder's URL with a slash, so its relative links resolve inside it.
      if (!path.endsWith('/')) return send(res, 301, '', { location: `${path}/` });
      return serveFile(req, res, join(file, 'index.html'));
    }
    if (!info?.isFile()) return send(res, 404, 'not found\n');
    return serveFile(req, res, file);
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    origins: [origin, `http://localhost:${port}`],
    port,
    url: `${origin}/`,
    setConfig: (c) => void (config = c),
    stop: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return send(res, 404, 'not found\n');
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    // Pages under development: a reload always shows the files as they are now.
    'cache-control': 'no-store',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}
