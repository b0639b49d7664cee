import { TinyLlamaError, type GenerateOptions } from '@tinyllama/core';
import { idsFlag, intFlag, numFlag, parseCommand } from '../args.js';
import { createNodeRuntime } from '../compose.js';
import { ensureDemoModel } from '../demo-model.js';
import { kvCacheFlag, prefillChunkFlag } from '../args.js';
import { progressPrinter, type CliIO } from '../io.js';
import { openModel, STREAMING_OPTIONS, streamingFlags } from '../open-model.js';

export const GENERATE_HELP = `tinyllama generate [--model DIR] (--prompt TEXT | --prompt-ids 1,2,3) [options]

Streams generated text to stdout. DIR is a Hugging Face checkpoint directory (config.json, weights,
tokenizer.model), a built model directory, or a chunked bundle (a directory or http(s) base URL
with model_manifest.json). Without --model a small model with RANDOM weights is
created and used (its output is gibberish): see the README for real TinyLlama weights.

  --max-tokens N        new tokens to generate (default 128)
  --temperature T       0 = greedy (default 0.8)
  --top-k K             keep the K most likely tokens, 0 = off (default 40)
  --top-p P             nucleus sampling mass, 1 = off (default 0.95)
  --seed S              sampler seed; the same seed reproduces the output
  --ignore-eos          keep going past the end-of-sequence token
  --stop TEXT           stop when TEXT is generated (repeatable)
  --truncate            drop the oldest prompt tokens instead of failing past the context limit
  --backend NAME        native-kernels (our executor with native AVX512-VNNI/AMX int4 matmuls;
                        the default for symmetric int4 models where it builds and the CPU has
                        AVX512-VNNI), node (onnxruntime-node, the default otherwise), wasm-kernels
                        (our WebAssembly kernels) or wasm (onnxruntime-web)
  --attention NAME      gqa (GroupQueryAttention contrib op, default) or portable (standard ops)
  --kv-cache MODE       auto (default: shared on native- and wasm-kernels, rows on other backends when the graph
                        has them, else concat), shared (in-place buffers, GroupQueryAttention), rows
                        (the session returns only the new rows; GroupQueryAttention graphs of
                        version 6+) or concat
  --prefill-chunk N     run a long prompt in steps of at most N tokens (default 128; 0: at once)
  --threads N           intra-op threads
  --max-resident-chunks N  bundles: stream layer chunks, at most N sessions loaded (default: all)
  --memory-limit MB     bundles: stream layer chunks within MB of weights (head + chunks, and the
                        embedding unless it is read row by row from its file)
  --json                print one JSON object last: promptIds, ids, text, timings
`;

/** `tinyllama generate`. */
export async function generateCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v } = parseCommand('generate', { args: argv, options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    'prompt-ids': { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'ignore-eos': { type: 'boolean' },
    stop: { type: 'string', multiple: true },
    truncate: { type: 'boolean' },
    backend: { type: 'string' },
    attention: { type: 'string' },
    'kv-cache': { type: 'string' },
    'prefill-chunk': { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
    ...STREAMING_OPTIONS,
    verbose: { type: 'boolean' },
  } });
  if ((v.prompt === undefined) === (v['prompt-ids'] === undefined)) {
    throw new TinyLlamaError('E_ARGUMENT', 'generate: give exactly one of --prompt TEXT or --prompt-ids 1,2,3');
  }
  const options: GenerateOptions = {
    maxNewTokens: intFlag('max-tokens', v['max-tokens'], 128, 0),
    temperature: numFlag('temperature', v.temperature, 0.8, 0, 100),
    topK: intFlag('top-k', v['top-k'], 40, 0),
    topP: numFlag('top-p', v['top-p'], 0.95, Number.MIN_VALUE, 1),
    seed: v.seed === undefined ? undefined : intFlag('seed', v.seed, 0, 0, 2 ** 32 - 1),
    ignoreEos: v['ignore-eos'] ?? false,
    stopStrings: v.stop ?? [],
    truncate: v.truncate ?? false,
  };
  const prompt = v['prompt-ids'] !== undefined ? idsFlag('prompt-ids', v['prompt-ids']) : (v.prompt as string);
  const threads = v.threads === undefined ? undefined : intFlag('threads', v.threads, 0, 1, 256);
  const progress = progressPrinter(io);

  let dir = v.model;
  if (dir === undefined) {
    dir = await ensureDemoModel(io);
  }
  const rt = createNodeRuntime({ threads });
  const t0 = performance.now();
  const model = await openModel(rt, dir, { backend: v.backend, attention: v.attention, kvCache: kvCacheFlag(v['kv-cache']), prefillChunk: prefillChunkFlag(v['prefill-chunk']), threads, onProgress: progress, ...streamingFlags(v) });
  const loadMs = performance.now() - t0;
  try {
    const stream = model.generator.stream(prompt, options);
    for await (const t of stream) if (t.text) io.out(t.text);
    const r = await stream.result;
    io.out('\n');
    if (v.json) {
      io.out(
        `${JSON.stringify({
          promptIds: r.promptIds,
          ids: r.ids,
          text: r.text,
          finishReason: r.finishReason,
          seed: r.seed,
          backend: model.backend.name,
          attention: model.attention,
          kvCache: model.kvCache,
          ...(model.bundle ? { bundle: { mode: model.bundle.mode, chunks: model.bundle.chunks, ...model.bundle.stats } } : {}),
          timings: {
            loadMs: round(loadMs),
            ttftMs: round(r.timings.ttftMs),
            decodeTokensPerSecond: round(r.timings.decodeTokensPerSecond),
            promptTokens: r.timings.promptTokens,
            generatedTokens: r.ids.length,
          },
        })}\n`,
      );
    } else if (v.verbose) {
      io.err(
        `[${r.finishReason}] ${r.ids.length} tokens, load ${loadMs.toFixed(0)} ms, first token ${r.timings.ttftMs.toFixed(0)} ms, ` +
          `${r.timings.decodeTokensPerSecond.toFixed(1)} tok/s\n`,
      );
    }
  } finally {
    await model.release();
  }
  return 0;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
