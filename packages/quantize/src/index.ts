/**
 * `@tinyllama/quantize`: block-wise weight quantisation in TypeScript, producing the exact initializer
 * layouts of ONNX Runtime's CPU contrib ops -- `MatMulNBits` (4/8-bit linear weights),
 * `GatherBlockQuantized` (4/8-bit embedding tables, uint8 container) and `DynamicQuantizeMatMul`
 * (per-channel int8). Pure functions over typed arrays, one tensor at a time, for streaming a
 * checkpoint into a quantised ONNX model.
 * @packageDocumentation
 */
export { BLOCK_SIZES, type BlockSize, type QuantBits } from './validate.js';
export { dequantizeBlockRow, type BlockGeometry } from './block-quant.js';
export {
  quantizeMatMulNBits,
  dequantizeMatMulNBits,
  matMulNBitsTensors,
  matMulNBitsAttributes,
  type MatMulNBitsOptions,
  type MatMulNBitsWeight,
  type MatMulNBitsParts,
  type AccuracyLevel,
} from './matmul-nbits.js';
export {
  quantizeGatherBlock,
  dequantizeGatherBlock,
  gatherBlockTensors,
  gatherBlockAttributes,
  type GatherBlockOptions,
  type GatherBlockWeight,
  type GatherBlockParts,
} from './gather-block.js';
export {
  quantizePerChannelInt8,
  dequantizePerChannelInt8,
  perChannelInt8Tensors,
  type PerChannelInt8Options,
  type PerChannelInt8Weight,
  type PerChannelInt8Parts,
} from './per-channel-int8.js';
