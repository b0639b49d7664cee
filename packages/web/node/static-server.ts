/**
 * A static file server for the built demo and model directories, with the cross-origin isolation
 * headers (Node only).
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** A running static server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** Successful GETs per path (e.g. `/model/model.onnx`). */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Serves `mounts` (URL prefix such as `/` or `/model/` → directory) on 127.0.0.1 with an ephemeral
 * port and the cross-origin isolation headers. `/` serves `index.html`.
 */
export async function startStaticServer(mounts: Record<string, string>): Promise<StaticServer> {
  const hits = new Map<string, number>();
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = prefix === undefined ? undefined : resolve(mounts[prefix]);
    let file = root === undefined ? undefined : resolve(root, `./${path.slice(prefix!.length)}`);
    if (file !== undefined && file !== root && !file.startsWith(root + sep)) file = undefined;
    if (file !== undefined && file === root) file = resolve(root, 'index.html');
    const st = file === undefined ? undefined : await stat(file).catch(() => undefined);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (!st?.isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    hits.set(path, (hits.get(path) ?? 0) + 1);
    res.setHeader('Content-Type', TYPES[extname(file!)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', st.size);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file!).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    hits,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
