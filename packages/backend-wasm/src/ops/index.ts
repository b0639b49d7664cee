/**
 * Reference CPU kernels (TypeScript) of every operator our graphs use, keyed by {@link opKey}.
 * They follow the ONNX spec and onnxruntime's contrib-op semantics and are checked against
 * onnxruntime-node in the tests.
 */
import { opKey, type OpKernel } from './types.js';
import { gemm, matmul } from './matmul.js';
import { add, and, cast, div, equal, lessOrEqual, mul, neg, pow, sigmoid, sqrt, sub, where } from './elementwise.js';
import { concat, expand, flatten, gather, identity, range, reshape, shape, slice, split, squeeze, transpose, unsqueeze } from './shape.js';
import { reduceMean, reduceSum, softmax } from './reduce.js';
import { simplifiedLayerNorm, skipSimplifiedLayerNorm } from './norm.js';
import { gatherBlockQuantized, matMulNBits } from './quantized.js';
import { groupQueryAttention } from './attention.js';

const MS = 'com.microsoft';

/** The reference kernels by `opKey(domain, opType)`. */
export const REFERENCE_KERNELS: Readonly<Record<string, OpKernel>> = Object.freeze({
  [opKey('', 'Add')]: add,
  [opKey('', 'Sub')]: sub,
  [opKey('', 'Mul')]: mul,
  [opKey('', 'Div')]: div,
  [opKey('', 'Pow')]: pow,
  [opKey('', 'Sqrt')]: sqrt,
  [opKey('', 'Neg')]: neg,
  [opKey('', 'Sigmoid')]: sigmoid,
  [opKey('', 'Cast')]: cast,
  [opKey('', 'Shape')]: shape,
  [opKey('', 'Reshape')]: reshape,
  [opKey('', 'Squeeze')]: squeeze,
  [opKey('', 'Unsqueeze')]: unsqueeze,
  [opKey('', 'Flatten')]: flatten,
  [opKey('', 'Identity')]: identity,
  [opKey('', 'Concat')]: concat,
  [opKey('', 'Split')]: split,
  [opKey('', 'Gather')]: gather,
  [opKey('', 'Slice')]: slice,
  [opKey('', 'Transpose')]: transpose,
  [opKey('', 'Range')]: range,
  [opKey('', 'ReduceSum')]: reduceSum,
  [opKey('', 'ReduceMean')]: reduceMean,
  [opKey('', 'Softmax')]: softmax,
  [opKey('', 'MatMul')]: matmul,
  [opKey('', 'Gemm')]: gemm,
  [opKey('', 'Where')]: where,
  [opKey('', 'Equal')]: equal,
  [opKey('', 'LessOrEqual')]: lessOrEqual,
  [opKey('', 'And')]: and,
  [opKey('', 'Expand')]: expand,
  [opKey('', 'SimplifiedLayerNormalization')]: simplifiedLayerNorm,
  [opKey(MS, 'SkipSimplifiedLayerNormalization')]: skipSimplifiedLayerNorm,
  [opKey(MS, 'MatMulNBits')]: matMulNBits,
  [opKey(MS, 'GatherBlockQuantized')]: gatherBlockQuantized,
  [opKey(MS, 'GroupQueryAttention')]: groupQueryAttention,
});

export { opKey, type Attrs, type OpKernel } from './types.js';
