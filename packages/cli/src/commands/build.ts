import { TinyLlamaError, type WeightFormat } from '@tinyllama/core';
import { buildBundleDir, buildModelDir, DEFAULT_LAYERS_PER_CHUNK } from '@tinyllama/core/node';
import { intFlag, parseCommand, required } from '../args.js';
import { createNodeRuntime } from '../compose.js';
import { progressPrinter, type CliIO } from '../io.js';
import { peakRssMB } from './bench.js';

export const BUILD_HELP = `tinyllama build --model CHECKPOINT_DIR --out DIR [--dtype int4|int8|f16|f32] [--block-size 16..256]
                [--accuracy-level 0..4] [--asymmetric] [--scale-search] [--embedding-dtype D] [--lm-head-dtype D]
                [--attention gqa|portable] [--overwrite] [--bundle] [--layers-per-chunk N]

Builds a checkpoint into a model directory (model.onnx + model.onnx.data, config, tokenizer,
tinyllama-build.json) that generate and bench accept like a checkpoint. Weights are streamed and
quantised one tensor at a time (bounded memory); the output appears only when complete.

  --dtype D           int4 (default), int8, f16 (half storage, float32 compute) or f32
  --block-size N      quantisation block size along the input dimension: 16, 32 (default), 64,
                      128 or 256
  --accuracy-level N  MatMulNBits accuracy_level: 0 float activations, 4 int8 activations (default 4)
  --asymmetric        store zero points (default symmetric)
  --scale-search      search each block's scale for the least squared error (symmetric; slower to
                      build; default: round to nearest from the largest value, as onnxruntime does)
  --embedding-dtype D  the token embedding's own dtype (int4, int8, f16 or f32; default --dtype)
  --lm-head-dtype D   the LM head's own dtype (default --dtype); e.g. int8 linears with f32 embedding
                      and head keep a small model closer to float32 (docs/quantization.md)
  --bundle            write a chunked bundle instead (embed, per-layer-group chunks, head,
                      model_manifest.json with sizes and sha256; see docs/bundles.md)
  --layers-per-chunk N  layers per bundle chunk (implies --bundle; default ${DEFAULT_LAYERS_PER_CHUNK})
`;

const DTYPES: Record<string, WeightFormat['dtype']> = { int4: 'int4', int8: 'int8', f16: 'float16', f32: 'float32' };

/** `tinyllama build`. */
export async function buildCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v } = parseCommand('build', {
    args: argv,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string' },
      'block-size': { type: 'string' },
      'accuracy-level': { type: 'string' },
      asymmetric: { type: 'boolean' },
      'scale-search': { type: 'boolean' },
      'embedding-dtype': { type: 'string' },
      'lm-head-dtype': { type: 'string' },
      attention: { type: 'string' },
      overwrite: { type: 'boolean' },
      bundle: { type: 'boolean' },
      'layers-per-chunk': { type: 'string' },
      verbose: { type: 'boolean' },
    },
  });
  const inDir = required('build', 'model', v.model);
  const outDir = required('build', 'out', v.out);
  const dtype = DTYPES[v.dtype ?? 'int4'];
  if (!dtype) throw new TinyLlamaError('E_ARGUMENT', `build: --dtype must be int4, int8, f16 or f32, got '${v.dtype}'`);
  const blockSize = intFlag('block-size', v['block-size'], 32, 16, 256);
  if (![16, 32, 64, 128, 256].includes(blockSize)) {
    throw new TinyLlamaError('E_ARGUMENT', `build: --block-size must be 16, 32, 64, 128 or 256, got ${blockSize}`);
  }
  const dtypeFlag = (name: string, value: string | undefined): WeightFormat['dtype'] | undefined => {
    if (value === undefined) return undefined;
    const d = DTYPES[value];
    if (!d) throw new TinyLlamaError('E_ARGUMENT', `build: --${name} must be int4, int8, f16 or f32, got '${value}'`);
    return d;
  };
  const embeddingDtype = dtypeFlag('embedding-dtype', v['embedding-dtype']);
  const lmHeadDtype = dtypeFlag('lm-head-dtype', v['lm-head-dtype']);
  const weights: WeightFormat = {
    dtype,
    blockSize,
    accuracyLevel: intFlag('accuracy-level', v['accuracy-level'], 4, 0, 4),
    symmetric: !(v.asymmetric ?? false),
    ...(v['scale-search'] ? { scaleSearch: true } : {}),
    ...(embeddingDtype ? { embeddingDtype } : {}),
    ...(lmHeadDtype ? { lmHeadDtype } : {}),
  };
  const rt = createNodeRuntime();
  if (v.bundle || v['layers-per-chunk'] !== undefined) {
    const layersPerChunk = intFlag('layers-per-chunk', v['layers-per-chunk'], DEFAULT_LAYERS_PER_CHUNK, 1);
    const b = await buildBundleDir(rt, inDir, outDir, { attention: v.attention, weights, layersPerChunk, overwrite: v.overwrite ?? false, onProgress: progressPrinter(io) });
    const s = b.manifest.streaming;
    io.err(
      `built bundle ${outDir}: ${dtype}, ${s.total_chunks} chunks of ${layersPerChunk} layers (largest ${s.chunk_size_mb} MB), ` +
        `${b.manifest.bundle_size_mb} MB, ${(b.ms / 1000).toFixed(1)} s, peak RSS ${peakRssMB().toFixed(0)} MB\n`,
    );
    return 0;
  }
  const r = await buildModelDir(rt, inDir, outDir, { attention: v.attention, weights, overwrite: v.overwrite ?? false, onProgress: progressPrinter(io) });
  io.err(
    `built ${outDir}: ${dtype}${dtype === 'int4' || dtype === 'int8' ? ` (block ${blockSize}, accuracy level ${weights.accuracyLevel}, ${weights.symmetric ? 'symmetric' : 'asymmetric'}${weights.scaleSearch ? ', searched scales' : ''})` : ''}` +
      `${embeddingDtype ? `, embedding ${embeddingDtype}` : ''}${lmHeadDtype ? `, LM head ${lmHeadDtype}` : ''}, ` +
      `attention ${r.attention}, ${(r.modelBytes / 1e6).toFixed(1)} MB, ${(r.ms / 1000).toFixed(1)} s, peak RSS ${peakRssMB().toFixed(0)} MB\n`,
  );
  return 0;
}
