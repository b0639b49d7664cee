/**
 * `@tinyllama/onnx`: ONNX graph building ({@link GraphBuilder}, core's `GraphOps`) and protobuf
 * serialization written from scratch, with weights streamed to external data so multi-gigabyte models
 * are written with bounded memory.
 * @packageDocumentation
 */
export { GraphBuilder, DEFAULT_OPSET, type GraphBuilderOptions, type InitializerOptions } from './graph-builder.js';
export { OnnxModel, PROTOBUF_LIMIT, type OnnxModelOptions } from './onnx-model.js';
export { ONNX_DATA_TYPE, type Dim, type ValueInfo, type ModelDef, type NodeDef, type TensorDef, type TensorPayload } from './onnx-proto.js';
export {
  decodeModel,
  tensorFromPayload,
  UNKNOWN_DIM,
  EXTERNAL_LENGTH_TO_END,
  type DecodedModel,
  type DecodedValueInfo,
  type DecodeModelOptions,
} from './onnx-reader.js';
export { ProtoReader, WIRE } from './protobuf-reader.js';
