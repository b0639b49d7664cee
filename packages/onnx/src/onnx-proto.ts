/**
 * Encoders for the ONNX protobuf messages (field numbers from onnx/onnx.proto, proto2 syntax:
 * repeated scalars are written unpacked).
 */
import { TinyLlamaError, type AttrValue, type DType } from '@tinyllama/core';
import { ProtoWriter } from './protobuf.js';

/** A tensor dimension: a fixed size or a symbolic name such as `batch_size`. */
export type Dim = number | string;

/** `TensorProto.DataType` codes of the framework dtypes. */
export const ONNX_DATA_TYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

// Field numbers and enum codes of onnx/onnx.proto, exported (package-internal) for the decoder in onnx-reader.ts.
// ModelProto
export const MODEL_IR_VERSION = 1;
export const MODEL_PRODUCER_NAME = 2;
export const MODEL_PRODUCER_VERSION = 3;
export const MODEL_DOC_STRING = 6;
export const MODEL_GRAPH = 7;
export const MODEL_OPSET_IMPORT = 8;
export const MODEL_METADATA_PROPS = 14;
// OperatorSetIdProto
export const OPSET_DOMAIN = 1;
export const OPSET_VERSION = 2;
// GraphProto
export const GRAPH_NODE = 1;
export const GRAPH_NAME = 2;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_DOC_STRING = 10;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
// NodeProto
export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
export const NODE_NAME = 3;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
export const NODE_DOMAIN = 7;
// AttributeProto
export const ATTR_NAME = 1;
export const ATTR_F = 2;
export const ATTR_I = 3;
export const ATTR_S = 4;
export const ATTR_T = 5;
export const ATTR_FLOATS = 7;
export const ATTR_INTS = 8;
export const ATTR_TYPE = 20;
export const ATTR_TYPE_CODE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
// TensorProto
export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_NAME = 8;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_EXTERNAL_DATA = 13;
export const TENSOR_DATA_LOCATION = 14;
export const DATA_LOCATION_EXTERNAL = 1;
// StringStringEntryProto
export const ENTRY_KEY = 1;
export const ENTRY_VALUE = 2;
// ValueInfoProto / TypeProto / TypeProto.Tensor / TensorShapeProto / Dimension
export const VALUE_INFO_NAME = 1;
export const VALUE_INFO_TYPE = 2;
export const TYPE_TENSOR = 1;
export const TENSOR_TYPE_ELEM_TYPE = 1;
export const TENSOR_TYPE_SHAPE = 2;
export const SHAPE_DIM = 1;
export const DIM_VALUE = 1;
export const DIM_PARAM = 2;

/** A typed graph input or output. */
export interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly Dim[];
}

/** A node as stored by the builder. */
export interface NodeDef {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** Where a tensor's bytes go: inside the protobuf, or in an external data file. */
export type TensorPayload =
  | { readonly kind: 'inline'; readonly bytes: Uint8Array }
  | { readonly kind: 'external'; readonly location: string; readonly offset: number; readonly length: number };

/** A tensor ready for encoding. */
export interface TensorDef {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly payload: TensorPayload;
}

/** Everything a ModelProto holds. */
export interface ModelDef {
  readonly irVersion: number;
  readonly opsets: ReadonlyMap<string, number>;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly graphName: string;
  readonly nodes: readonly NodeDef[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly TensorDef[];
}

function entry(key: string, value: string): ProtoWriter {
  return new ProtoWriter().string(ENTRY_KEY, key).string(ENTRY_VALUE, value);
}

/** Encodes a TensorProto. */
export function encodeTensor(t: TensorDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int64(TENSOR_DIMS, d);
  w.varint(TENSOR_DATA_TYPE, ONNX_DATA_TYPE[t.dtype]);
  if (t.name) w.string(TENSOR_NAME, t.name);
  if (t.payload.kind === 'inline') {
    w.bytes(TENSOR_RAW_DATA, t.payload.bytes);
  } else {
    w.message(TENSOR_EXTERNAL_DATA, entry('location', t.payload.location));
    w.message(TENSOR_EXTERNAL_DATA, entry('offset', String(t.payload.offset)));
    w.message(TENSOR_EXTERNAL_DATA, entry('length', String(t.payload.length)));
    w.varint(TENSOR_DATA_LOCATION, DATA_LOCATION_EXTERNAL);
  }
  return w;
}

/** Little-endian bytes of a typed array (views the same memory; the platform is little-endian). */
export function typedArrayBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function encodeAttribute(name: string, a: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(ATTR_NAME, name).varint(ATTR_TYPE, ATTR_TYPE_CODE[a.type]);
  switch (a.type) {
    case 'int':
      checkInt(name, a.value);
      return w.int64(ATTR_I, a.value);
    case 'float':
      return w.float(ATTR_F, a.value);
    case 'string':
      return w.string(ATTR_S, a.value);
    case 'ints':
      for (const v of a.value) w.int64(ATTR_INTS, checkInt(name, v));
      return w;
    case 'floats':
      for (const v of a.value) w.float(ATTR_FLOATS, v);
      return w;
    case 'tensor':
      return w.message(
        ATTR_T,
        encodeTensor({ name: '', dtype: a.value.dtype, dims: a.value.dims, payload: { kind: 'inline', bytes: typedArrayBytes(a.value.data) } }),
      );
  }
}

function checkInt(attr: string, v: number): number {
  if (!Number.isSafeInteger(v)) throw new TinyLlamaError('E_ARGUMENT', `attribute '${attr}': ${v} is not an integer`);
  return v;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(NODE_INPUT, i);
  for (const o of n.outputs) w.string(NODE_OUTPUT, o);
  w.string(NODE_NAME, n.name).string(NODE_OP_TYPE, n.opType);
  if (n.domain) w.string(NODE_DOMAIN, n.domain);
  for (const [k, v] of Object.entries(n.attrs)) w.message(NODE_ATTRIBUTE, encodeAttribute(k, v));
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = typeof d === 'number' ? new ProtoWriter().int64(DIM_VALUE, d) : new ProtoWriter().string(DIM_PARAM, d);
    shape.message(SHAPE_DIM, dim);
  }
  const tensorType = new ProtoWriter().varint(TENSOR_TYPE_ELEM_TYPE, ONNX_DATA_TYPE[v.dtype]).message(TENSOR_TYPE_SHAPE, shape);
  const type = new ProtoWriter().message(TYPE_TENSOR, tensorType);
  return new ProtoWriter().string(VALUE_INFO_NAME, v.name).message(VALUE_INFO_TYPE, type);
}

/** Encodes a whole ModelProto. Inline tensor payloads are referenced, not copied. */
export function encodeModel(m: ModelDef): ProtoWriter {
  const g = new ProtoWriter();
  for (const n of m.nodes) g.message(GRAPH_NODE, encodeNode(n));
  g.string(GRAPH_NAME, m.graphName);
  for (const t of m.initializers) g.message(GRAPH_INITIALIZER, encodeTensor(t));
  if (m.docString) g.string(GRAPH_DOC_STRING, m.docString);
  for (const v of m.inputs) g.message(GRAPH_INPUT, encodeValueInfo(v));
  for (const v of m.outputs) g.message(GRAPH_OUTPUT, encodeValueInfo(v));

  const w = new ProtoWriter().varint(MODEL_IR_VERSION, m.irVersion);
  w.string(MODEL_PRODUCER_NAME, m.producerName).string(MODEL_PRODUCER_VERSION, m.producerVersion);
  if (m.docString) w.string(MODEL_DOC_STRING, m.docString);
  w.message(MODEL_GRAPH, g);
  for (const [domain, version] of m.opsets) {
    w.message(MODEL_OPSET_IMPORT, new ProtoWriter().string(OPSET_DOMAIN, domain).varint(OPSET_VERSION, version));
  }
  for (const [k, v] of Object.entries(m.metadata)) w.message(MODEL_METADATA_PROPS, entry(k, v));
  return w;
}
