import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { builtinModules, createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { defaultClientConditions, defineConfig, type Connect, type Plugin } from 'vite';

/** Cross-origin isolation (SharedArrayBuffer, hence wasm threads) for every response. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** onnxruntime-web's wasm glue and binary that `ort.min.mjs` loads from `env.wasm.wasmPaths`. */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];
const ortDir = dirname(createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_FILES[1]}`));

const TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** A middleware serving the files of `dir` (no listing, no `..`) under the mount point it is used at. */
function serveDir(dir: string): Connect.NextHandleFunction {
  return (req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction) => {
    const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^([/\\])+/, '');
    const file = resolve(dir, rel);
    if (!file.startsWith(resolve(dir) + sep) || !existsSync(file) || !statSync(file).isFile()) return next();
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', statSync(file).size);
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    createReadStream(file).pipe(res);
  };
}

/**
 * Serves onnxruntime-web's wasm files at `ort/` (dev and preview) and copies them there in the build:
 * the app never loads them from a CDN.
 */
function ortWasmFiles(): Plugin {
  return {
    name: 'tinyllama-ort-wasm-files',
    configureServer(server) {
      server.middlewares.use('/ort', serveDir(ortDir));
    },
    configurePreviewServer(server) {
      server.middlewares.use('/ort', serveDir(ortDir));
    },
    generateBundle() {
      for (const f of ORT_FILES) this.emitFile({ type: 'asset', fileName: `ort/${f}`, source: readFileSync(join(ortDir, f)) });
    },
  };
}

/** Serves the model directory named by `TINYLLAMA_MODEL_DIR` at `model/` (dev and preview). */
function modelDir(): Plugin {
  const dir = process.env.TINYLLAMA_MODEL_DIR;
  return {
    name: 'tinyllama-model-dir',
    configureServer(server) {
      if (dir) server.middlewares.use('/model', serveDir(dir));
    },
    configurePreviewServer(server) {
      if (dir) server.middlewares.use('/model', serveDir(dir));
    },
  };
}

const STUB = '\0tinyllama-node-stub:';

/**
 * Dev server only: Node built-ins imported by workspace packages (for their Node-only paths, e.g.
 * `node:crypto` in @tinyllama/onnx) resolve to stubs whose exports throw when called. The production
 * build tree-shakes those imports away; the unbundled dev server would otherwise fail at import time.
 */
function nodeBuiltinStubs(): Plugin {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  return {
    name: 'tinyllama-node-builtin-stubs',
    apply: 'serve',
    enforce: 'pre',
    resolveId(id, importer) {
      if (!builtins.has(id) || importer === undefined || importer.includes('/node_modules/')) return undefined;
      return STUB + id;
    },
    async load(id) {
      if (!id.startsWith(STUB)) return undefined;
      const name = id.slice(STUB.length);
      const names = Object.keys((await import(name)) as Record<string, unknown>).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      const fail = `() => { throw new Error(${JSON.stringify(`${name} is not available in browsers`)}); }`;
      return [`const unavailable = ${fail};`, 'export default {};', ...names.map((k) => `export const ${k} = unavailable;`)].join('\n');
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: {
    // Workspace packages from their TypeScript sources; onnxruntime-web without its inlined wasm glue
    // (`ort.min.mjs`), which then loads the files served at `ort/`.
    conditions: ['source', 'onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  build: { target: 'es2022', outDir: 'dist/app', chunkSizeWarningLimit: 8192 },
  plugins: [nodeBuiltinStubs(), ortWasmFiles(), modelDir()],
});

