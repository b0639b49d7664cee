/**
 * Decoder of ONNX ModelProto bytes into the {@link ModelDef} that `encodeModel` writes: the inverse of
 * onnx-proto.ts, also reading what other writers (the python `onnx` library) emit. Field numbers from
 * onnx/onnx.proto.
 *
 * Representation choices:
 * - The default operator domain is `''` (`ai.onnx` is normalized to `''`, in opset imports and nodes).
 * - Omitted optional node inputs/outputs stay as `''` in place.
 * - Graph input/output dims: `dim_value` -> number, `dim_param` -> string, neither -> `'?'`
 *   ({@link UNKNOWN_DIM}); a tensor type without a shape (unknown rank) -> `dims: []` and
 *   `unknownRank: true` ({@link DecodedValueInfo}).
 * - Initializers: `inline` payload with the little-endian bytes (`raw_data` as a view into the input,
 *   typed `float_data`/`int32_data`/`int64_data`/`double_data` converted into a new buffer), or
 *   `external` (`data_location = EXTERNAL`): `location`, `offset` (default 0), `length`
 *   ({@link EXTERNAL_LENGTH_TO_END} = -1 when absent: the data runs to the end of the file).
 * - Attributes of type int, float, string, ints, floats and tensor (inline) become core `AttrValue`s.
 *   Other types (graphs, strings, tensors, sparse tensors, type protos), ints outside the safe JS
 *   integer range and external-data tensor attributes throw `E_UNSUPPORTED` naming the attribute and
 *   node by default, because dropping them would silently change the graph; pass
 *   `{ unsupportedAttributes: 'skip' }` to drop them instead (e.g. to inspect foreign models).
 * - Ignored: graph `value_info`, `doc_string`s other than the model's, model-local functions,
 *   training info, quantization annotations. Sparse initializers throw `E_UNSUPPORTED`.
 * - Malformed protobuf and inconsistent tensors throw `E_CORRUPT`; unknown data types `E_UNSUPPORTED`.
 */
import { DTYPE_BYTES, TinyLlamaError, numel, shapeToString, type AttrValue, type DType, type HostTensor } from '@tinyllama/core';
import {
  ATTR_F,
  ATTR_FLOATS,
  ATTR_I,
  ATTR_INTS,
  ATTR_NAME,
  ATTR_S,
  ATTR_T,
  ATTR_TYPE,
  ATTR_TYPE_CODE,
  DATA_LOCATION_EXTERNAL,
  DIM_PARAM,
  DIM_VALUE,
  ENTRY_KEY,
  ENTRY_VALUE,
  GRAPH_DOC_STRING,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NAME,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  MODEL_DOC_STRING,
  MODEL_GRAPH,
  MODEL_IR_VERSION,
  MODEL_METADATA_PROPS,
  MODEL_OPSET_IMPORT,
  MODEL_PRODUCER_NAME,
  MODEL_PRODUCER_VERSION,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  NODE_INPUT,
  NODE_NAME,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  ONNX_DATA_TYPE,
  OPSET_DOMAIN,
  OPSET_VERSION,
  SHAPE_DIM,
  TENSOR_DATA_LOCATION,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_EXTERNAL_DATA,
  TENSOR_NAME,
  TENSOR_RAW_DATA,
  TENSOR_TYPE_ELEM_TYPE,
  TENSOR_TYPE_SHAPE,
  TYPE_TENSOR,
  VALUE_INFO_NAME,
  VALUE_INFO_TYPE,
  type Dim,
  type ModelDef,
  type NodeDef,
  type TensorDef,
  type TensorPayload,
  type ValueInfo,
} from './onnx-proto.js';
import { ProtoReader, WIRE } from './protobuf-reader.js';

// TensorProto fields the writer never emits.
const TENSOR_SEGMENT = 3;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_INT32_DATA = 5;
const TENSOR_STRING_DATA = 6;
const TENSOR_INT64_DATA = 7;
const TENSOR_DOUBLE_DATA = 10;
const TENSOR_UINT64_DATA = 11;
// GraphProto
const GRAPH_SPARSE_INITIALIZER = 15;

/** Dimension placeholder for a dim with neither `dim_value` nor `dim_param`. */
export const UNKNOWN_DIM = '?';

/** `length` of an external payload whose `length` entry is absent: the data runs to the end of the file. */
export const EXTERNAL_LENGTH_TO_END = -1;

/** A decoded graph input/output; `unknownRank` is set when the type carries no shape at all. */
export interface DecodedValueInfo extends ValueInfo {
  readonly unknownRank?: true;
}

/** A decoded model: a {@link ModelDef} whose inputs/outputs may flag an unknown rank. */
export interface DecodedModel extends ModelDef {
  readonly inputs: readonly DecodedValueInfo[];
  readonly outputs: readonly DecodedValueInfo[];
}

/** Options of {@link decodeModel}. */
export interface DecodeModelOptions {
  /** What to do with attributes `AttrValue` cannot represent: throw `E_UNSUPPORTED` (default) or drop them. */
  readonly unsupportedAttributes?: 'throw' | 'skip';
}

const DTYPE_OF_CODE = new Map<number, DType>(Object.entries(ONNX_DATA_TYPE).map(([d, c]) => [c, d as DType]));
const ATTR_TYPE_NAMES: Record<number, string> = {
  1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 5: 'GRAPH', 6: 'FLOATS', 7: 'INTS', 8: 'STRINGS',
  9: 'TENSORS', 10: 'GRAPHS', 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS',
};

/**
 * Decodes a serialized ONNX ModelProto (e.g. the contents of `model.onnx`). Weights stored as external
 * data are described, not read: resolve `external` payloads against the model's directory and turn
 * the bytes into tensors with {@link tensorFromPayload}. Inline `raw_data` payloads are views into
 * `bytes` (keep it alive and unmodified). See the module comment for the representation of optional
 * and unknown values.
 */
export function decodeModel(bytes: Uint8Array, options: DecodeModelOptions = {}): DecodedModel {
  const r = new ProtoReader(bytes, 'ModelProto');
  let irVersion = 0;
  const opsets = new Map<string, number>();
  let producerName = '';
  let producerVersion = '';
  let docString: string | undefined;
  const metadata: Record<string, string> = {};
  let graph: GraphParts | undefined;
  while (r.next()) {
    switch (r.field) {
      case MODEL_IR_VERSION:
        irVersion = r.int64Number();
        break;
      case MODEL_PRODUCER_NAME:
        producerName = r.string();
        break;
      case MODEL_PRODUCER_VERSION:
        producerVersion = r.string();
        break;
      case MODEL_DOC_STRING:
        docString = r.string();
        break;
      case MODEL_GRAPH:
        graph = decodeGraph(r.message('graph'), options);
        break;
      case MODEL_OPSET_IMPORT: {
        const [domain, version] = decodeOpset(r.message('opset_import', opsets.size));
        opsets.set(domain, version);
        break;
      }
      case MODEL_METADATA_PROPS: {
        const [k, v] = decodeEntry(r.message('metadata_props'));
        metadata[k] = v;
        break;
      }
      default:
        r.skip();
    }
  }
  if (graph === undefined) throw new TinyLlamaError('E_CORRUPT', 'ONNX protobuf: ModelProto has no graph');
  const model: DecodedModel = {
    irVersion,
    opsets,
    producerName,
    producerVersion,
    metadata,
    ...graph,
    ...(docString === undefined ? {} : { docString }),
  };
  return model;
}

interface GraphParts {
  readonly graphName: string;
  readonly nodes: NodeDef[];
  readonly inputs: DecodedValueInfo[];
  readonly outputs: DecodedValueInfo[];
  readonly initializers: TensorDef[];
}

function decodeGraph(r: ProtoReader, options: DecodeModelOptions): GraphParts {
  const g: GraphParts = { graphName: '', nodes: [], inputs: [], outputs: [], initializers: [] };
  let graphName = '';
  while (r.next()) {
    switch (r.field) {
      case GRAPH_NODE:
        g.nodes.push(decodeNode(r.message('node', g.nodes.length), options));
        break;
      case GRAPH_NAME:
        graphName = r.string();
        break;
      case GRAPH_INITIALIZER:
        g.initializers.push(decodeTensor(r.message('initializer', g.initializers.length)));
        break;
      case GRAPH_INPUT:
        g.inputs.push(decodeValueInfo(r.message('input', g.inputs.length)));
        break;
      case GRAPH_OUTPUT:
        g.outputs.push(decodeValueInfo(r.message('output', g.outputs.length)));
        break;
      case GRAPH_SPARSE_INITIALIZER:
        throw new TinyLlamaError('E_UNSUPPORTED', `ONNX graph '${graphName}': sparse initializers are not supported`);
      case GRAPH_DOC_STRING: // the model doc string is kept; the graph's copy is ignored
      default:
        r.skip();
    }
  }
  return { ...g, graphName };
}

function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

function decodeOpset(r: ProtoReader): [string, number] {
  let domain = '';
  let version = 0;
  while (r.next()) {
    if (r.field === OPSET_DOMAIN) domain = r.string();
    else if (r.field === OPSET_VERSION) version = r.int64Number();
    else r.skip();
  }
  return [normalizeDomain(domain), version];
}

function decodeEntry(r: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  while (r.next()) {
    if (r.field === ENTRY_KEY) key = r.string();
    else if (r.field === ENTRY_VALUE) value = r.string();
    else r.skip();
  }
  return [key, value];
}

function decodeNode(r: ProtoReader, options: DecodeModelOptions): NodeDef {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let name = '';
  let opType = '';
  let domain = '';
  const attrReaders: ProtoReader[] = [];
  while (r.next()) {
    switch (r.field) {
      case NODE_INPUT:
        inputs.push(r.string());
        break;
      case NODE_OUTPUT:
        outputs.push(r.string());
        break;
      case NODE_NAME:
        name = r.string();
        break;
      case NODE_OP_TYPE:
        opType = r.string();
        break;
      case NODE_DOMAIN:
        domain = normalizeDomain(r.string());
        break;
      case NODE_ATTRIBUTE:
        // Decoded after the loop, once the node's name and op type (for error messages) are known.
        attrReaders.push(r.message('attribute', attrReaders.length));
        break;
      default:
        r.skip();
    }
  }
  const attrs: Record<string, AttrValue> = {};
  for (const ar of attrReaders) {
    const decoded = decodeAttribute(ar, `${opType} node '${name}'`, options);
    if (decoded !== undefined) attrs[decoded[0]] = decoded[1];
  }
  return { opType, domain, name, inputs, outputs, attrs };
}

function decodeAttribute(r: ProtoReader, node: string, options: DecodeModelOptions): [string, AttrValue] | undefined {
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | bigint | undefined;
  let s: string | undefined;
  let t: TensorDef | undefined;
  const floats: number[] = [];
  const ints: (number | bigint)[] = [];
  const others = new Set<number>();
  while (r.next()) {
    switch (r.field) {
      case ATTR_NAME:
        name = r.string();
        break;
      case ATTR_TYPE:
        type = r.int64Number();
        break;
      case ATTR_F:
        f = r.float();
        break;
      case ATTR_I:
        i = r.int64();
        break;
      case ATTR_S:
        s = r.string();
        break;
      case ATTR_T:
        t = decodeTensor(r.message('t'));
        break;
      case ATTR_FLOATS:
        r.repeated(floats, WIRE.fixed32, () => r.float());
        break;
      case ATTR_INTS:
        r.repeated(ints, WIRE.varint, () => r.int64());
        break;
      default:
        others.add(r.field);
        r.skip();
    }
  }
  if (type === 0) {
    // IR < 0.0.2 writers may omit the type: infer it from the field that is set.
    if (f !== undefined) type = ATTR_TYPE_CODE.float;
    else if (i !== undefined) type = ATTR_TYPE_CODE.int;
    else if (s !== undefined) type = ATTR_TYPE_CODE.string;
    else if (t !== undefined) type = ATTR_TYPE_CODE.tensor;
    else if (floats.length > 0) type = ATTR_TYPE_CODE.floats;
    else if (ints.length > 0) type = ATTR_TYPE_CODE.ints;
  }
  const unsupported = (why: string): undefined => {
    if (options.unsupportedAttributes === 'skip') return undefined;
    throw new TinyLlamaError('E_UNSUPPORTED', `ONNX ${node}: attribute '${name}' ${why}`);
  };
  const safeInt = (v: number | bigint): number | undefined => (typeof v === 'number' ? v : undefined);
  switch (type) {
    case ATTR_TYPE_CODE.float:
      return [name, { type: 'float', value: f ?? 0 }];
    case ATTR_TYPE_CODE.int: {
      const v = safeInt(i ?? 0);
      if (v === undefined) return unsupported(`has int value ${i} outside the safe JS integer range`);
      return [name, { type: 'int', value: v }];
    }
    case ATTR_TYPE_CODE.string:
      return [name, { type: 'string', value: s ?? '' }];
    case ATTR_TYPE_CODE.floats:
      return [name, { type: 'floats', value: floats }];
    case ATTR_TYPE_CODE.ints: {
      const values: number[] = [];
      for (const v of ints) {
        const n = safeInt(v);
        if (n === undefined) return unsupported(`has int value ${v} outside the safe JS integer range`);
        values.push(n);
      }
      return [name, { type: 'ints', value: values }];
    }
    case ATTR_TYPE_CODE.tensor: {
      if (t === undefined) throw new TinyLlamaError('E_CORRUPT', `ONNX ${node}: TENSOR attribute '${name}' has no tensor`);
      if (t.payload.kind !== 'inline') return unsupported('is a tensor with external data');
      return [name, { type: 'tensor', value: tensorFromPayload(t, t.payload.bytes) }];
    }
    default:
      return unsupported(`has unsupported type ${ATTR_TYPE_NAMES[type] ?? type}${type === 0 ? ` (fields ${[...others].join(', ')})` : ''}`);
  }
}

function decodeValueInfo(r: ProtoReader): DecodedValueInfo {
  let name = '';
  let typeReader: ProtoReader | undefined;
  while (r.next()) {
    if (r.field === VALUE_INFO_NAME) name = r.string();
    else if (r.field === VALUE_INFO_TYPE) typeReader = r.message('type');
    else r.skip();
  }
  if (typeReader === undefined) throw new TinyLlamaError('E_UNSUPPORTED', `ONNX graph value '${name}' has no type`);
  let tensorType: ProtoReader | undefined;
  while (typeReader.next()) {
    if (typeReader.field === TYPE_TENSOR) tensorType = typeReader.message('tensor_type');
    else typeReader.skip();
  }
  if (tensorType === undefined) throw new TinyLlamaError('E_UNSUPPORTED', `ONNX graph value '${name}' is not a tensor (sequence, map, optional and sparse types are not supported)`);
  let elemType = 0;
  let dims: Dim[] | undefined;
  while (tensorType.next()) {
    if (tensorType.field === TENSOR_TYPE_ELEM_TYPE) elemType = tensorType.int64Number();
    else if (tensorType.field === TENSOR_TYPE_SHAPE) dims = decodeShape(tensorType.message('shape'));
    else tensorType.skip();
  }
  const dtype = dtypeOf(elemType, `graph value '${name}'`);
  return dims === undefined ? { name, dtype, dims: [], unknownRank: true } : { name, dtype, dims };
}

function decodeShape(r: ProtoReader): Dim[] {
  const dims: Dim[] = [];
  while (r.next()) {
    if (r.field !== SHAPE_DIM) {
      r.skip();
      continue;
    }
    const d = r.message('dim', dims.length);
    let dim: Dim = UNKNOWN_DIM;
    while (d.next()) {
      if (d.field === DIM_VALUE) dim = d.int64Number();
      else if (d.field === DIM_PARAM) dim = d.string();
      else d.skip();
    }
    dims.push(dim);
  }
  return dims;
}

function dtypeOf(code: number, what: string): DType {
  const dtype = DTYPE_OF_CODE.get(code);
  if (dtype === undefined) throw new TinyLlamaError('E_UNSUPPORTED', `ONNX ${what}: unsupported data type ${code}`);
  return dtype;
}

/** Decodes a TensorProto into a {@link TensorDef} (see the module comment for payload rules). */
function decodeTensor(r: ProtoReader): TensorDef {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let external = false;
  const externalEntries: [string, string][] = [];
  const floatData: number[] = [];
  const doubleData: number[] = [];
  const intData: (number | bigint)[] = [];
  let typedField = 0;
  while (r.next()) {
    switch (r.field) {
      case TENSOR_DIMS:
        r.repeated(dims, WIRE.varint, () => r.int64Number());
        break;
      case TENSOR_DATA_TYPE:
        dataType = r.int64Number();
        break;
      case TENSOR_NAME:
        name = r.string();
        break;
      case TENSOR_RAW_DATA:
        raw = r.bytes();
        break;
      case TENSOR_FLOAT_DATA:
        typedField = r.field;
        r.repeated(floatData, WIRE.fixed32, () => r.float());
        break;
      case TENSOR_DOUBLE_DATA:
        typedField = r.field;
        r.repeated(doubleData, WIRE.fixed64, () => r.double());
        break;
      case TENSOR_INT32_DATA:
      case TENSOR_INT64_DATA:
        typedField = r.field;
        r.repeated(intData, WIRE.varint, () => r.int64());
        break;
      case TENSOR_EXTERNAL_DATA:
        externalEntries.push(decodeEntry(r.message('external_data')));
        break;
      case TENSOR_DATA_LOCATION:
        external = r.int64Number() === DATA_LOCATION_EXTERNAL;
        break;
      case TENSOR_SEGMENT:
        throw new TinyLlamaError('E_UNSUPPORTED', `ONNX tensor '${name}': segmented tensors are not supported`);
      case TENSOR_STRING_DATA:
      case TENSOR_UINT64_DATA:
        typedField = r.field;
        r.skip();
        break;
      default:
        r.skip();
    }
  }
  const what = `tensor '${name}'`;
  const dtype = dtypeOf(dataType, what);
  for (const d of dims) {
    if (d < 0) throw new TinyLlamaError('E_CORRUPT', `ONNX ${what}: negative dimension in ${shapeToString(dims)}`);
  }
  const expected = numel(dims) * DTYPE_BYTES[dtype];
  let payload: TensorPayload;
  if (external) {
    const ext = externalPayload(externalEntries, what);
    if (ext.length !== EXTERNAL_LENGTH_TO_END && ext.length !== expected) {
      throw new TinyLlamaError('E_CORRUPT', `ONNX ${what}: external length ${ext.length} != ${expected} bytes for ${dtype} ${shapeToString(dims)}`);
    }
    payload = ext;
  } else {
    const bytes = raw ?? typedPayload(dtype, typedField, floatData, doubleData, intData, what);
    if (bytes.byteLength !== expected) {
      throw new TinyLlamaError('E_CORRUPT', `ONNX ${what}: ${bytes.byteLength} data bytes, expected ${expected} for ${dtype} ${shapeToString(dims)}`);
    }
    payload = { kind: 'inline', bytes };
  }
  return { name, dtype, dims, payload };
}

function externalPayload(entries: readonly [string, string][], what: string): Extract<TensorPayload, { kind: 'external' }> {
  let location: string | undefined;
  let offset = 0;
  let length = EXTERNAL_LENGTH_TO_END;
  for (const [k, v] of entries) {
    if (k === 'location') location = v;
    else if (k === 'offset') offset = parseDecimal(v, `${what}: external offset`);
    else if (k === 'length') length = parseDecimal(v, `${what}: external length`);
  }
  if (location === undefined) throw new TinyLlamaError('E_CORRUPT', `ONNX ${what}: external data without a location`);
  return { kind: 'external', location, offset, length };
}

function parseDecimal(s: string, what: string): number {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new TinyLlamaError('E_CORRUPT', `ONNX ${what} '${s}' is not a non-negative integer`);
  return n;
}

/** Little-endian bytes of the typed data fields (`float_data`, `int32_data`, `int64_data`, `double_data`). */
function typedPayload(
  dtype: DType,
  field: number,
  floats: readonly number[],
  doubles: readonly number[],
  ints: readonly (number | bigint)[],
  what: string,
): Uint8Array {
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const mismatch = () => new TinyLlamaError('E_CORRUPT', `ONNX ${what}: ${dtype} data stored in TensorProto field ${field}`);
  switch (field) {
    case 0:
      return new Uint8Array(0);
    case TENSOR_FLOAT_DATA:
      if (dtype !== 'float32') throw mismatch();
      return bytesOf(Float32Array.from(floats));
    case TENSOR_DOUBLE_DATA:
      if (dtype !== 'float64') throw mismatch();
      return bytesOf(Float64Array.from(doubles));
    case TENSOR_INT64_DATA:
      if (dtype !== 'int64') throw mismatch();
      return bytesOf(BigInt64Array.from(ints, (v) => BigInt(v)));
    case TENSOR_INT32_DATA: {
      // int32_data carries every type narrower than 32 bits (16-bit floats as their bit patterns).
      const nums = ints.map(Number);
      switch (dtype) {
        case 'int32':
          return bytesOf(Int32Array.from(nums));
        case 'int16':
          return bytesOf(Int16Array.from(nums));
        case 'int8':
          return bytesOf(Int8Array.from(nums));
        case 'uint8':
        case 'bool':
          return Uint8Array.from(nums);
        case 'float16':
        case 'bfloat16':
          return bytesOf(Uint16Array.from(nums));
        default:
          throw mismatch();
      }
    }
    default:
      throw mismatch();
  }
}

/**
 * Turns a tensor's little-endian bytes (an inline payload, or the slice of an external data file) into
 * a {@link HostTensor} of `def`'s dtype and dims: float16/bfloat16 as `Uint16Array`, int64 as
 * `BigInt64Array`, bool as `Uint8Array`. The result views `bytes` when it is aligned for the element
 * size and copies it otherwise. Throws `E_SHAPE` when the byte length does not match the dims.
 */
export function tensorFromPayload(def: Pick<TensorDef, 'name' | 'dtype' | 'dims'>, bytes: Uint8Array): HostTensor {
  const size = DTYPE_BYTES[def.dtype];
  const n = numel(def.dims);
  if (bytes.byteLength !== n * size) {
    throw new TinyLlamaError(
      'E_SHAPE',
      `tensor '${def.name}': ${bytes.byteLength} bytes, expected ${n * size} for ${def.dtype} ${shapeToString(def.dims)}`,
    );
  }
  const b = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const dims = [...def.dims];
  switch (def.dtype) {
    case 'float32':
      return { dtype: def.dtype, dims, data: new Float32Array(b.buffer, b.byteOffset, n) };
    case 'float64':
      return { dtype: def.dtype, dims, data: new Float64Array(b.buffer, b.byteOffset, n) };
    case 'float16':
    case 'bfloat16':
      return { dtype: def.dtype, dims, data: new Uint16Array(b.buffer, b.byteOffset, n) };
    case 'int64':
      return { dtype: def.dtype, dims, data: new BigInt64Array(b.buffer, b.byteOffset, n) };
    case 'int32':
      return { dtype: def.dtype, dims, data: new Int32Array(b.buffer, b.byteOffset, n) };
    case 'int16':
      return { dtype: def.dtype, dims, data: new Int16Array(b.buffer, b.byteOffset, n) };
    case 'int8':
      return { dtype: def.dtype, dims, data: new Int8Array(b.buffer, b.byteOffset, n) };
    case 'uint8':
    case 'bool':
      return { dtype: def.dtype, dims, data: new Uint8Array(b.buffer, b.byteOffset, n) };
  }
}
