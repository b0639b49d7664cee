#!/usr/bin/env node
import { run } from './main.js';
import { processIO } from './io.js';
import { rerunWithStreamingMalloc } from './malloc-tuning.js';

const argv = process.argv.slice(2);
process.exitCode = rerunWithStreamingMalloc(argv) ?? (await run(argv, processIO()));
