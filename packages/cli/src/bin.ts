#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2 (MB): a small young generation is collected often, so the buffers every
// session run hands back (logits, KV rows) are freed within a few tokens instead of piling up until
// V8's external-memory limit: TinyLlama-1.1B int4, 128 tokens, peak RSS -35 MB, same decode speed
// (docs/benchmarks.md). pnpm's and npm's bin shims pass shebang arguments on; run directly, it needs an
// `env` with -S (GNU coreutils 8.30+, macOS, the BSDs; not BusyBox, where `node bin.js` still works).
import { run } from './main.js';
import { processIO } from './io.js';
import { rerunWithStreamingMalloc } from './malloc-tuning.js';

const argv = process.argv.slice(2);
process.exitCode = rerunWithStreamingMalloc(argv) ?? (await run(argv, processIO()));
