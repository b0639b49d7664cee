import {
  DTYPE_BYTES,
  TinyLlamaError,
  numel,
  shapeToString,
  type AttrValue,
  type DType,
  type GraphOps,
  type HostTensor,
  type LazyTensor,
  type NodeOptions,
} from '@tinyllama/core';
import type { Dim, NodeDef, ValueInfo } from './onnx-proto.js';
import { OnnxModel, type InitializerEntry, type OnnxModelOptions } from './onnx-model.js';

/** Default opset of the ONNX default domain (ONNX 1.12; no RMSNormalization yet). */
export const DEFAULT_OPSET = 17;

/** Options of {@link GraphBuilder}. */
export interface GraphBuilderOptions {
  /** Graph name (default `main`). */
  readonly name?: string;
  /** Opset of the default domain (default {@link DEFAULT_OPSET}). */
  readonly opset?: number;
}

/** Options of {@link GraphBuilder.initializer}. */
export interface InitializerOptions {
  /**
   * Whether the tensor counts as a model parameter in {@link OnnxModel.parameterCount} (default true;
   * false for derived caches such as RoPE tables).
   */
  readonly parameter?: boolean;
}

function isLazy(t: HostTensor | LazyTensor): t is LazyTensor {
  return typeof (t as LazyTensor).load === 'function';
}

/**
 * Builds an ONNX graph (implements core's {@link GraphOps}): typed inputs/outputs with symbolic dims,
 * nodes in topological order, initializers (host tensors, or lazy tensors read only at write time),
 * deduplicated small constants and opset imports. Every value name is unique and every node input
 * must already exist when the node is added, so mistakes are reported where they are made.
 */
export class GraphBuilder implements GraphOps {
  readonly name: string;
  readonly #opsets = new Map<string, number>();
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #nodes: NodeDef[] = [];
  readonly #initializers: InitializerEntry[] = [];
  /** Every value name in the graph (inputs, initializers, node outputs), plus reserved output names. */
  readonly #values = new Set<string>();
  /** Names produced so far (inputs, initializers and node outputs). */
  readonly #produced = new Set<string>();
  /** Names handed out by {@link fresh} and not produced yet (usable as explicit output names). */
  readonly #reserved = new Set<string>();
  readonly #nodeNames = new Set<string>();
  readonly #counters = new Map<string, number>();
  readonly #constants = new Map<string, string>();

  constructor(options: GraphBuilderOptions = {}) {
    this.name = options.name ?? 'main';
    this.#opsets.set('', options.opset ?? DEFAULT_OPSET);
  }

  /** Opset version of the default domain. */
  get opset(): number {
    return this.#opsets.get('') as number;
  }

  /** Number of elements over the initializers marked as parameters. */
  get parameterCount(): number {
    let n = 0;
    for (const i of this.#initializers) if (i.parameter) n += numel(i.dims);
    return n;
  }

  /** Declares a graph input; returns its name. */
  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.#claim(name, 'graph input');
    this.#produced.add(name);
    this.#inputs.push({ name, dtype, dims: [...dims] });
    return name;
  }

  /**
   * Declares a graph output. The value may be produced before or after this call (e.g. pass the name
   * as an explicit node output); {@link build} checks that it is produced.
   */
  output(name: string, dtype: DType, dims: readonly Dim[]): string {
    if (this.#outputs.some((o) => o.name === name)) {
      throw new TinyLlamaError('E_ARGUMENT', `graph output '${name}' is declared twice`);
    }
    if (!this.#produced.has(name)) this.#claim(name, 'graph output');
    this.#outputs.push({ name, dtype, dims: [...dims] });
    return name;
  }

  /**
   * Adds a node (inputs must already exist; '' marks an omitted optional input, trailing ones are
   * dropped) and returns its output names: auto-named `<node>/out`, or the explicit names given.
   */
  node(opType: string, inputs: readonly string[], options: NodeOptions = {}): string[] {
    const domain = options.domain ?? '';
    if (domain !== '' && !this.#opsets.has(domain)) {
      throw new TinyLlamaError('E_ARGUMENT', `node ${opType}: domain '${domain}' is not imported (call useOpset first)`);
    }
    const name = options.name ?? this.#uniqueNodeName(opType);
    if (this.#nodeNames.has(name)) throw new TinyLlamaError('E_ARGUMENT', `node name '${name}' is used twice`);
    for (const i of inputs) {
      if (i !== '' && !this.#produced.has(i)) {
        throw new TinyLlamaError('E_ARGUMENT', `node '${name}' (${opType}): input '${i}' is not defined yet`);
      }
    }
    let last = inputs.length;
    while (last > 0 && inputs[last - 1] === '') last--;
    const spec = options.outputs ?? 1;
    let outputs: string[];
    if (typeof spec === 'number') {
      outputs = [];
      for (let k = 0; k < spec; k++) outputs.push(this.fresh(spec === 1 ? `${name}/out` : `${name}/out${k}`));
    } else {
      outputs = spec.map((o) => {
        if (o !== '') this.#claimOutput(o, name);
        return o;
      });
    }
    for (const o of outputs) {
      if (o === '') continue;
      this.#produced.add(o);
      this.#reserved.delete(o);
    }
    this.#nodeNames.add(name);
    this.#nodes.push({ opType, domain, name, inputs: inputs.slice(0, last), outputs, attrs: { ...(options.attrs ?? {}) } });
    return outputs;
  }

  /** Adds a one-output node and returns its output name. */
  op(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, AttrValue>>, domain?: string): string {
    return this.node(opType, inputs, { attrs, domain })[0];
  }

  /**
   * Adds a named initializer: a host tensor (its data is referenced, not copied) or a lazy tensor whose
   * bytes are produced when the model is written. Returns the name.
   */
  initializer(name: string, tensor: HostTensor | LazyTensor, options: InitializerOptions = {}): string {
    const dims = [...tensor.dims];
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new TinyLlamaError('E_SHAPE', `initializer '${name}': invalid dims ${shapeToString(dims)}`);
    }
    const byteLength = numel(dims) * DTYPE_BYTES[tensor.dtype];
    if (!isLazy(tensor) && tensor.data.byteLength !== byteLength) {
      throw new TinyLlamaError(
        'E_SHAPE',
        `initializer '${name}': ${tensor.data.byteLength} bytes of data for ${tensor.dtype} ${shapeToString(dims)} (expected ${byteLength})`,
      );
    }
    this.#claim(name, 'initializer');
    this.#produced.add(name);
    this.#initializers.push({ name, dtype: tensor.dtype, dims, byteLength, source: tensor, parameter: options.parameter ?? true });
    return name;
  }

  /** Adds a constant initializer with a generated name (not counted as a parameter). */
  constant(tensor: HostTensor): string {
    return this.initializer(this.fresh('const'), tensor, { parameter: false });
  }

  /** An int64 constant (1-D, or a scalar); identical constants are shared. */
  int64(values: readonly number[], scalar = false): string {
    return this.#cachedConstant('int64', values, scalar, () => BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /** A float32 constant (1-D, or a scalar); identical constants are shared. */
  float32(values: readonly number[], scalar = false): string {
    return this.#cachedConstant('float32', values, scalar, () => Float32Array.from(values));
  }

  /** Imports `domain` at `version` (idempotent; a conflicting version throws `E_ARGUMENT`). */
  useOpset(domain: string, version: number): void {
    const current = this.#opsets.get(domain);
    if (current !== undefined && current !== version) {
      throw new TinyLlamaError('E_ARGUMENT', `opset for domain '${domain || 'ai.onnx'}' is already ${current}, not ${version}`);
    }
    this.#opsets.set(domain, version);
  }

  /**
   * A new unique value name based on `hint` (`hint`, `hint_1`, ...), reserved for the caller, e.g. as
   * an explicit node output.
   */
  fresh(hint: string): string {
    const base = hint || 'v';
    let k = this.#counters.get(base) ?? 0;
    let name = k === 0 ? base : `${base}_${k}`;
    while (this.#values.has(name)) name = `${base}_${++k}`;
    this.#counters.set(base, k + 1);
    this.#values.add(name);
    this.#reserved.add(name);
    return name;
  }

  /**
   * Freezes the graph into a serializable model. Throws `E_ARGUMENT` when a declared output is never
   * produced.
   */
  build(options: OnnxModelOptions = {}): OnnxModel {
    for (const o of this.#outputs) {
      if (!this.#produced.has(o.name)) throw new TinyLlamaError('E_ARGUMENT', `graph output '${o.name}' is never produced`);
    }
    return new OnnxModel(
      {
        graphName: this.name,
        opsets: new Map(this.#opsets),
        nodes: [...this.#nodes],
        inputs: [...this.#inputs],
        outputs: [...this.#outputs],
        initializers: [...this.#initializers],
      },
      options,
    );
  }

  #cachedConstant(dtype: 'int64' | 'float32', values: readonly number[], scalar: boolean, data: () => BigInt64Array | Float32Array): string {
    if (scalar && values.length !== 1) {
      throw new TinyLlamaError('E_ARGUMENT', `a scalar ${dtype} constant needs exactly one value, got ${values.length}`);
    }
    const key = `${dtype}:${scalar ? 's' : 'v'}:${values.join(',')}`;
    const cached = this.#constants.get(key);
    if (cached) return cached;
    const name = this.constant({ dtype, dims: scalar ? [] : [values.length], data: data() });
    this.#constants.set(key, name);
    return name;
  }

  #claim(name: string, what: string): void {
    if (!name) throw new TinyLlamaError('E_ARGUMENT', `${what} name must not be empty`);
    if (this.#reserved.delete(name)) return; // handed out by fresh() for this use
    if (this.#values.has(name)) throw new TinyLlamaError('E_ARGUMENT', `${what} '${name}': the name is already used`);
    this.#values.add(name);
  }

  #claimOutput(name: string, node: string): void {
    if (this.#produced.has(name)) throw new TinyLlamaError('E_ARGUMENT', `node '${node}': output '${name}' is already produced`);
    const declaredOutput = this.#outputs.some((o) => o.name === name);
    if (!declaredOutput) this.#claim(name, `node '${node}' output`);
  }

  #uniqueNodeName(opType: string): string {
    let k = this.#counters.get(`node:${opType}`) ?? 0;
    let name = `${opType}_${k}`;
    while (this.#nodeNames.has(name)) name = `${opType}_${++k}`;
    this.#counters.set(`node:${opType}`, k + 1);
    return name;
  }
}
