import { TinyLlamaError } from '@tinyllama/core';
import { runBrowserBench, DEFAULT_CHROMIUM } from '@tinyllama/web/node';
import { intFlag, parseCommand, required } from '../args.js';
import type { CliIO } from '../io.js';
import { profileTable } from './profile-table.js';

/** True when `argv` asks `bench` for a browser backend (`--backend chromium`). */
export function wantsBrowserBench(argv: readonly string[]): boolean {
  const i = argv.indexOf('--backend');
  return (i >= 0 && argv[i + 1] === 'chromium') || argv.includes('--backend=chromium');
}

/**
 * `tinyllama bench --backend chromium`: the web demo in headless Chromium (onnxruntime-web, wasm),
 * with the same `--json` fields as `bench`; peak memory is the browser process tree's PSS.
 */
export async function benchBrowserCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v } = parseCommand('bench', {
    args: argv,
    options: {
      model: { type: 'string' },
      backend: { type: 'string' },
      'prompt-tokens': { type: 'string' },
      'gen-tokens': { type: 'string' },
      threads: { type: 'string' },
      engine: { type: 'string' },
      'max-resident-chunks': { type: 'string' },
      browser: { type: 'string' },
      app: { type: 'string' },
      'no-cache': { type: 'boolean' },
      profile: { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
  });
  const dir = required('bench', 'model', v.model);
  if (/^https?:\/\//.test(dir)) throw new TinyLlamaError('E_ARGUMENT', `--backend chromium needs a local --model directory, got '${dir}'`);
  const promptTokens = intFlag('prompt-tokens', v['prompt-tokens'], 16, 1);
  const genTokens = intFlag('gen-tokens', v['gen-tokens'], 128, 2);
  const threads = v.threads === undefined ? undefined : intFlag('threads', v.threads, 0, 1, 256);
  const maxResidentChunks = v['max-resident-chunks'] === undefined ? undefined : intFlag('max-resident-chunks', v['max-resident-chunks'], 0, 1);
  const engine = v.engine ?? 'wasm-kernels';
  if (engine !== 'wasm-kernels' && engine !== 'ort') throw new TinyLlamaError('E_ARGUMENT', `--engine must be wasm-kernels or ort, got '${engine}'`);
  const r = await runBrowserBench({
    engine,
    modelDir: dir,
    promptTokens,
    genTokens,
    threads,
    maxResidentChunks,
    cache: !v['no-cache'],
    appDir: v.app,
    pageParams: v.profile ? { profile: '1' } : undefined,
    executablePath: v.browser ?? DEFAULT_CHROMIUM,
    log: v.json ? undefined : (line) => io.err(line),
  });
  const round = (x: number): number => Math.round(x * 100) / 100;
  const result = {
    model: dir,
    backend: 'chromium',
    engine,
    browser: r.browser,
    env: r.env,
    ...(r.kernels ? { kernels: r.kernels } : {}),
    threads: threads ?? null,
    promptTokens,
    genTokens,
    loadMs: round(r.loadMs),
    ...(r.firstLoadMs !== undefined ? { firstLoadMs: round(r.firstLoadMs) } : {}),
    ttftMs: round(r.ttftMs),
    decodeTokensPerSecond: round(r.decodeTokensPerSecond),
    peakMemoryMB: round(r.peakMemoryMB),
    peakLoadMemoryMB: round(r.peakLoadMemoryMB),
    peakGenerateMemoryMB: round(r.peakGenerateMemoryMB),
    peakPageMemoryMB: round(r.peakPageMemoryMB),
    ...(r.bundleMode ? { bundle: { mode: r.bundleMode } } : {}),
    ...(r.stalledReads?.length ? { stalledReads: r.stalledReads } : {}),
    ...(r.profile ? { profile: r.profile } : {}),
  };
  if (v.json) io.out(`${JSON.stringify(result)}\n`);
  else {
    io.out(`model            ${dir}\nbackend          ${r.browser} (${r.env}${r.kernels ? `, ${r.kernels} kernels` : ''})\n`);
    if (r.firstLoadMs !== undefined) io.out(`first visit      ${r.firstLoadMs.toFixed(0)} ms (download into the Cache API, verification, sessions)\n`);
    io.out(`load             ${result.loadMs.toFixed(0)} ms (${r.firstLoadMs !== undefined ? 'reload from the Cache API' : 'download'}, verification, sessions)\n`);
    io.out(`first token      ${result.ttftMs.toFixed(1)} ms (${promptTokens}-token prompt)\n`);
    io.out(`decode           ${result.decodeTokensPerSecond.toFixed(2)} tok/s (${genTokens} tokens)\n`);
    io.out(`peak memory      ${result.peakMemoryMB.toFixed(0)} MB (browser processes, PSS; loading ${result.peakLoadMemoryMB.toFixed(0)} MB, generating ${result.peakGenerateMemoryMB.toFixed(0)} MB)\n`);
    io.out(`page memory      ${result.peakPageMemoryMB.toFixed(0)} MB (the page's renderer process with its workers, PSS)\n`);
    if (r.profile) io.out(profileTable(r.profile, 1000 / r.decodeTokensPerSecond, r.ttftMs));
    if (r.stalledReads?.length) io.out(`stalled reads    ${r.stalledReads.join(', ')} (the Cache API delivered nothing for 20 s; read again)\n`);
  }
  return 0;
}

