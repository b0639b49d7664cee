import { llama2Plugin } from '@tinyllama/arch-llama2';
import { ortNodePlugin } from '@tinyllama/backend-ort/node';
import { ortWebPlugin } from '@tinyllama/backend-ort/web';
import { nativeKernelsPlugin } from '@tinyllama/backend-native';
import { wasmKernelsPlugin } from '@tinyllama/backend-wasm';
import { createRuntime, type Logger, type Runtime } from '@tinyllama/core';
import { checkpointLoadersPlugin } from '@tinyllama/loader-pytorch';
import { sentencePiecePlugin } from '@tinyllama/tokenizer-sentencepiece';

export { checkpointLoadersPlugin, llama2Plugin, sentencePiecePlugin };

/** Options of {@link createNodeRuntime}. */
export interface NodeRuntimeOptions {
  readonly logger?: Logger;
  /** Default intra-op threads of the native backend. */
  readonly threads?: number;
  /** Our executors' sessions (native-kernels, wasm-kernels) add milliseconds per operator type here. */
  readonly profile?: Map<string, number>;
}

/**
 * The Node composition root: every plugin of the framework registered in one runtime. Backends:
 * `native-kernels` (our graph executor with native AVX512-VNNI/AMX matmuls, priority 110, where the
 * CPU and the build allow), `node` (onnxruntime-node, priority 100), `wasm-kernels` (our WebAssembly kernels, priority 60) and
 * `wasm` (onnxruntime-web in Node, priority 50).
 */
export function createNodeRuntime(options: NodeRuntimeOptions = {}): Runtime {
  return createRuntime({
    logger: options.logger,
    plugins: [
      checkpointLoadersPlugin,
      sentencePiecePlugin,
      llama2Plugin,
      nativeKernelsPlugin({ threads: options.threads, profile: options.profile }),
      ortNodePlugin({ threads: options.threads }),
      wasmKernelsPlugin({ threads: options.threads, profile: options.profile }),
      ortWebPlugin({ numThreads: options.threads }),
    ],
  });
}
