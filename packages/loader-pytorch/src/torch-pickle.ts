import { TinyLlamaError, type DType } from '@tinyllama/core';
import { PyDict, PyGlobal, describePyValue, unpickle } from './pickle.js';

/** A storage named by a torch persistent id: the bytes of zip record `data/<key>`. */
export class TorchStorage {
  constructor(
    /** Record key (`data/<key>` in the archive). */
    readonly key: string,
    /** Element type the storage was saved as. */
    readonly dtype: DType,
    /** Size in bytes (elements × item size). */
    readonly byteLength: number,
  ) {}
}

/** A tensor view on a {@link TorchStorage}; offset and strides are in elements of `dtype`. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly dtype: DType,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** A `torch.<X>Storage` class reference. */
class StorageType extends PyGlobal {
  constructor(
    name: string,
    readonly dtype: DType,
    readonly itemSize: number,
  ) {
    super('torch', name);
  }
}

/** A `torch.<dtype>` object reference. */
class DTypeRef extends PyGlobal {
  constructor(
    name: string,
    readonly dtype: DType,
  ) {
    super('torch', name);
  }
}

const STORAGES: Readonly<Record<string, [DType, number]>> = {
  FloatStorage: ['float32', 4],
  HalfStorage: ['float16', 2],
  BFloat16Storage: ['bfloat16', 2],
  DoubleStorage: ['float64', 8],
  LongStorage: ['int64', 8],
  IntStorage: ['int32', 4],
  ShortStorage: ['int16', 2],
  CharStorage: ['int8', 1],
  ByteStorage: ['uint8', 1],
  BoolStorage: ['bool', 1],
  UntypedStorage: ['uint8', 1], // torch >= 2 raw bytes; a tensor's own dtype comes from _rebuild_tensor_v3
};

/** Harmless torch storages of dtypes the framework cannot represent. */
const UNSUPPORTED_STORAGES = new Set([
  'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'QUInt8Storage', 'QInt32Storage', 'QUInt4x2Storage', 'QUInt2x4Storage',
]);

const DTYPES: Readonly<Record<string, DType>> = {
  float32: 'float32', float: 'float32', float16: 'float16', half: 'float16', bfloat16: 'bfloat16', float64: 'float64',
  double: 'float64', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** Marker classes that may appear as arguments (never called). */
const MARKERS = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter']);

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The allow-list of globals a torch state dict needs, with JS implementations of the callable ones.
 * `fail` raises a corrupt-data error naming the pickle.
 */
function makeGlobal(module: string, name: string, fail: (msg: string) => never): PyGlobal | undefined {
  const q = `${module}.${name}`;
  const args = (a: readonly unknown[], min: number, max: number): void => {
    if (a.length < min || a.length > max) fail(`${q} takes ${min}-${max} arguments, got ${a.length}`);
  };
  const tensorOf = (v: unknown): TorchTensor => (v instanceof TorchTensor ? v : fail(`${q} expects a tensor, got a ${describePyValue(v)}`));
  const rebuild = (a: readonly unknown[], dtypeArg?: unknown): TorchTensor => {
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof TorchStorage)) fail(`${q}: first argument is a ${describePyValue(storage)}, not a storage`);
    if (!isSize(offset)) fail(`${q}: invalid storage offset ${String(offset)}`);
    if (!Array.isArray(size) || !size.every(isSize)) fail(`${q}: invalid size`);
    if (!Array.isArray(stride) || stride.length !== size.length || !stride.every(isSize)) fail(`${q}: invalid stride`);
    let dtype = storage.dtype;
    if (dtypeArg !== undefined) {
      if (!(dtypeArg instanceof DTypeRef)) fail(`${q}: dtype argument is a ${describePyValue(dtypeArg)}`);
      dtype = dtypeArg.dtype;
    }
    return new TorchTensor(storage, dtype, offset, [...size] as number[], [...stride] as number[]);
  };

  if (module === 'collections' && name === 'OrderedDict') {
    const make = (a: readonly unknown[]): PyDict => {
      if (a.length > 0 && !(Array.isArray(a[0]) && a[0].length === 0)) fail(`${q} with initial items is not supported`);
      return new PyDict();
    };
    return new PyGlobal(module, name, make, make);
  }
  if (module === 'torch._utils') {
    switch (name) {
      case '_rebuild_tensor': // (storage, storage_offset, size, stride)
        return new PyGlobal(module, name, (a) => (args(a, 4, 4), rebuild(a)));
      case '_rebuild_tensor_v2': // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        return new PyGlobal(module, name, (a) => (args(a, 4, 7), rebuild(a)));
      case '_rebuild_tensor_v3': // (..., requires_grad, backward_hooks, dtype[, metadata])
        return new PyGlobal(module, name, (a) => (args(a, 7, 8), rebuild(a, a[6])));
      case '_rebuild_parameter': // (data, requires_grad, backward_hooks)
        return new PyGlobal(module, name, (a) => (args(a, 3, 3), tensorOf(a[0])));
      case '_rebuild_parameter_with_state': // (data, requires_grad, backward_hooks, state)
        return new PyGlobal(module, name, (a) => (args(a, 4, 4), tensorOf(a[0])));
      default:
        return undefined;
    }
  }
  if (module === 'torch._tensor' && name === '_rebuild_from_type_v2') {
    // (func, new_type, args, state): only plain tensors / parameters rebuilt by an allowed func.
    return new PyGlobal(module, name, (a) => {
      args(a, 4, 4);
      const [fn, type, inner] = a;
      if (!(type instanceof PyGlobal) || !MARKERS.has(type.qualifiedName)) fail(`${q}: tensor subclass ${describePyValue(type)} is not supported`);
      if (!(fn instanceof PyGlobal) || !fn.call || !Array.isArray(inner)) fail(`${q}: invalid arguments`);
      return tensorOf(fn.call(inner));
    });
  }
  if (module === 'torch') {
    const st = STORAGES[name];
    if (st) return new StorageType(name, st[0], st[1]);
    const dt = DTYPES[name];
    if (dt) return new DTypeRef(name, dt);
    if (UNSUPPORTED_STORAGES.has(name)) {
      throw new TinyLlamaError('E_DTYPE', `torch storage type '${q}' is not supported`);
    }
  }
  if (MARKERS.has(q)) return new PyGlobal(module, name);
  if (module === '_codecs' && name === 'encode') {
    // How protocol-2 pickles store `bytes`: _codecs.encode(str, 'latin1').
    return new PyGlobal(module, name, (a) => {
      args(a, 1, 2);
      const [s, enc] = a;
      if (typeof s !== 'string') fail(`${q}: expects a string`);
      if (enc === undefined || enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(s);
      if (enc !== 'latin1' && enc !== 'latin-1') fail(`${q}: encoding ${String(enc)} is not supported`);
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) fail(`${q}: character outside latin-1`);
        out[i] = c;
      }
      return out;
    });
  }
  return undefined;
}

/** Result of {@link unpickleTorch}: the object tree and every storage its tensors use. */
export interface TorchPickle {
  readonly root: unknown;
  /** Storages by record key. */
  readonly storages: ReadonlyMap<string, TorchStorage>;
}

/**
 * Unpickles a torch `data.pkl` with the state-dict allow-list. Any other global raises `E_UNSAFE_PICKLE`
 * naming `module.name`; nothing is executed. Persistent ids `('storage', torch.<X>Storage, key, location,
 * numel)` become {@link TorchStorage}s (one per key, so tensors sharing a storage share the object).
 */
export function unpickleTorch(data: Uint8Array, source: string): TorchPickle {
  const fail = (msg: string): never => {
    throw new TinyLlamaError('E_CORRUPT', `pickle '${source}': ${msg}`);
  };
  const storages = new Map<string, TorchStorage>();
  const root = unpickle(data, {
    source,
    resolveGlobal(module, name) {
      const g = makeGlobal(module, name, fail);
      if (!g) {
        throw new TinyLlamaError(
          'E_UNSAFE_PICKLE',
          `pickle '${source}' references global '${module}.${name}', which is not on the allow-list of PyTorch state-dict globals; refusing to load it (nothing was executed)`,
        );
      }
      return g;
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') fail(`unsupported persistent id (${describePyValue(pid)})`);
      const [, type, key, , count] = pid as unknown[];
      if (!(type instanceof StorageType)) return fail(`persistent id names ${describePyValue(type)}, not a torch storage type`);
      if (typeof key !== 'string' || key === '' || !isSize(count)) return fail('persistent id has an invalid key or size');
      const byteLength = count * type.itemSize;
      const seen = storages.get(key);
      if (seen) {
        if (seen.byteLength !== byteLength) fail(`storage '${key}' is declared with two different sizes`);
        return seen;
      }
      const s = new TorchStorage(key, type.dtype, byteLength);
      storages.set(key, s);
      return s;
    },
    build(obj) {
      // An OrderedDict's `_metadata` or a tensor's Python attributes: irrelevant to the data, ignored.
      return obj instanceof PyDict || obj instanceof TorchTensor;
    },
  });
  return { root, storages };
}

/**
 * Collects the tensors of a state dict: string keys → tensors, nested dicts flattened with `.`
 * (e.g. `{'model': {...}}` → `model.<key>`); other values (numbers, strings, lists) are ignored.
 */
export function stateDictTensors(root: unknown, source: string, maxDepth = 16): Map<string, TorchTensor> {
  if (!(root instanceof PyDict)) {
    throw new TinyLlamaError('E_UNSUPPORTED', `pickle '${source}' holds a ${describePyValue(root)}, not a state dict`);
  }
  const out = new Map<string, TorchTensor>();
  const seen = new Set<PyDict>();
  const walk = (dict: PyDict, prefix: string, depth: number): void => {
    if (seen.has(dict)) return;
    if (depth > maxDepth) throw new TinyLlamaError('E_UNSUPPORTED', `pickle '${source}': state dict nests deeper than ${maxDepth} levels`);
    seen.add(dict);
    for (const [k, v] of dict.map) {
      if (typeof k !== 'string' && typeof k !== 'number') continue;
      const name = prefix + String(k);
      if (v instanceof TorchTensor) out.set(name, v);
      else if (v instanceof PyDict) walk(v, `${name}.`, depth + 1);
    }
  };
  walk(root, '', 0);
  return out;
}
