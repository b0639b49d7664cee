import { GenerationProfiler, Rng, type GenerationProfile } from '@tinyllama/core';
import { intFlag, parseCommand, required } from '../args.js';
import { createNodeRuntime } from '../compose.js';
import { kvCacheFlag, prefillChunkFlag } from '../args.js';
import { progressPrinter, type CliIO } from '../io.js';
import { openModel, STREAMING_OPTIONS, streamingFlags } from '../open-model.js';
import { benchBrowserCommand, wantsBrowserBench } from './bench-browser.js';
import { profileTable } from './profile-table.js';

export const BENCH_HELP = `tinyllama bench --model DIR [--backend native-kernels|node|wasm-kernels|wasm|chromium] [--prompt-tokens 16] [--gen-tokens 128]
                [--context N] [--threads N] [--attention gqa|portable] [--kv-cache auto|shared|rows|concat]
                [--prefill-chunk N] [--repeat R] [--profile] [--max-resident-chunks N] [--memory-limit MB] [--engine wasm-kernels|ort] [--no-cache] [--json]

Measures load time, time to first token (prompt of --prompt-tokens random ids, after one warm-up
run), decode tokens/s (greedy, EOS ignored) and peak resident memory of this process. With --context N
the decode speed is also measured after an N-token prompt. --json prints one object last with
loadMs, ttftMs, decodeTokensPerSecond, peakMemoryMB and the settings. DIR may be a chunked bundle
(directory or http(s) base URL); --max-resident-chunks / --memory-limit then stream its layer chunks.

Backends (default: native-kernels for symmetric int4 models where it is available, else node):
native-kernels = the framework's graph executor with its int4 matmuls in native code (AVX512-VNNI,
AMX-INT8 for prompts; @tinyllama/backend-native, x86-64 Linux); node = onnxruntime-node;
wasm-kernels = the framework's own WebAssembly kernels (@tinyllama/backend-wasm; SIMD128 in Node 20,
whose experimental relaxed SIMD the kernels check and refuse; relaxed SIMD in browsers);
wasm = onnxruntime-web in Node.

--backend chromium runs the web demo (packages/web/dist/app, built when missing or stale) in
headless /usr/bin/chromium (--browser PATH) with a local DIR (model directory or bundle) served from
127.0.0.1, on our wasm kernels (--engine wasm-kernels, default) or onnxruntime-web (--engine ort);
--threads and --max-resident-chunks apply, peakMemoryMB is the browser's process tree (PSS) and
peakPageMemoryMB the page's own renderer process (with its workers). As users run the demo, a first
visit downloads the model into the Cache API (firstLoadMs) and a reload is measured (loadMs and the
memory peaks); --no-cache measures one visit that downloads every file and caches nothing.
--profile (native-kernels, wasm-kernels, chromium on our kernels) times every operator of the first
measured run and prints milliseconds per operator for the first token and per decode step, with what
lies outside the operators (--json: a profile object).
`;

/** Peak resident set size of this process in MB (from the OS). */
export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** `tinyllama bench`. */
export async function benchCommand(argv: string[], io: CliIO): Promise<number> {
  if (wantsBrowserBench(argv)) return benchBrowserCommand(argv, io);
  const { values: v } = parseCommand('bench', {
    args: argv,
    options: {
      model: { type: 'string' },
      backend: { type: 'string' },
      attention: { type: 'string' },
      'kv-cache': { type: 'string' },
    'prefill-chunk': { type: 'string' },
      'prompt-tokens': { type: 'string' },
      'gen-tokens': { type: 'string' },
      context: { type: 'string' },
      threads: { type: 'string' },
      repeat: { type: 'string' },
      profile: { type: 'boolean' },
      json: { type: 'boolean' },
      ...STREAMING_OPTIONS,
      verbose: { type: 'boolean' },
    },
  });
  const dir = required('bench', 'model', v.model);
  const promptTokens = intFlag('prompt-tokens', v['prompt-tokens'], 16, 1);
  const genTokens = intFlag('gen-tokens', v['gen-tokens'], 128, 2);
  const context = v.context === undefined ? undefined : intFlag('context', v.context, 0, 1);
  const threads = v.threads === undefined ? undefined : intFlag('threads', v.threads, 0, 1, 256);
  const repeat = intFlag('repeat', v.repeat, 1, 1, 100);

  const timings = v.profile ? new Map<string, number>() : undefined;
  const rt = createNodeRuntime({ threads, profile: timings });
  const t0 = performance.now();
  const model = await openModel(rt, dir, { backend: v.backend, attention: v.attention, kvCache: kvCacheFlag(v['kv-cache']), prefillChunk: prefillChunkFlag(v['prefill-chunk']), threads, onProgress: progressPrinter(io), ...streamingFlags(v) });
  const loadMs = performance.now() - t0;
  try {
    const { vocabSize } = model.config;
    const rng = new Rng(1234);
    const randomIds = (n: number): number[] => [model.tokenizer.bosId, ...Array.from({ length: n - 1 }, () => 3 + (rng.nextU32() % (vocabSize - 3)))];
    const opts = { maxNewTokens: genTokens, temperature: 0, ignoreEos: true } as const;
    await model.generator.generate(randomIds(promptTokens), { ...opts, maxNewTokens: 2 }); // warm-up
    const ttft: number[] = [];
    const tps: number[] = [];
    let profile: GenerationProfile | undefined;
    for (let r = 0; r < repeat; r++) {
      // the first run is profiled when asked: timings split at its first token
      const profiler = r === 0 && timings ? new GenerationProfiler(timings) : undefined;
      profiler?.start();
      const res = await model.generator.generate(randomIds(promptTokens), profiler ? { ...opts, onToken: () => profiler.token() } : opts);
      profile ??= profiler?.result(res.ids.length);
      ttft.push(res.timings.ttftMs);
      tps.push(res.timings.decodeTokensPerSecond);
      if (!v.json) io.err(`run ${r + 1}/${repeat}: first token ${res.timings.ttftMs.toFixed(1)} ms, ${res.timings.decodeTokensPerSecond.toFixed(2)} tok/s\n`);
    }
    let contextResult: { context: number; ttftMs: number; decodeTokensPerSecond: number } | undefined;
    if (context !== undefined) {
      const res = await model.generator.generate(randomIds(context), { ...opts, truncate: false });
      contextResult = { context, ttftMs: res.timings.ttftMs, decodeTokensPerSecond: res.timings.decodeTokensPerSecond };
    }
    const result = {
      model: dir,
      backend: model.backend.name,
      attention: model.attention,
      kvCache: model.kvCache,
      threads: threads ?? null,
      promptTokens,
      genTokens,
      loadMs: round(loadMs),
      ttftMs: round(median(ttft)),
      decodeTokensPerSecond: round(median(tps)),
      peakMemoryMB: round(peakRssMB()),
      ...(model.bundle ? { bundle: { mode: model.bundle.mode, chunks: model.bundle.chunks, ...model.bundle.stats } } : {}),
      ...(contextResult
        ? { context: contextResult.context, contextTtftMs: round(contextResult.ttftMs), contextDecodeTokensPerSecond: round(contextResult.decodeTokensPerSecond) }
        : {}),
      ...(profile ? { profile } : {}),
    };
    if (v.json) io.out(`${JSON.stringify(result)}\n`);
    else {
      io.out(`model            ${dir}\nbackend          ${result.backend} (attention ${result.attention || 'unknown'}, KV cache ${result.kvCache}, threads ${threads ?? 'default'})\n`);
      io.out(`load             ${result.loadMs.toFixed(0)} ms\n`);
      io.out(`first token      ${result.ttftMs.toFixed(1)} ms (${promptTokens}-token prompt)\n`);
      io.out(`decode           ${result.decodeTokensPerSecond.toFixed(2)} tok/s (${genTokens} tokens)\n`);
      if (contextResult) io.out(`decode @ ${context}    ${contextResult.decodeTokensPerSecond.toFixed(2)} tok/s\n`);
      io.out(`peak memory      ${result.peakMemoryMB.toFixed(0)} MB (RSS)\n`);
      if (profile) io.out(profileTable(profile, 1000 / tps[0]!, ttft[0]!));
      else if (timings) io.out(`profile          none: ${model.backend.name} does not time operators (native-kernels and wasm-kernels do)\n`);
    }
  } finally {
    await model.release();
  }
  return 0;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
