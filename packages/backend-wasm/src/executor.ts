import { TinyLlamaError, numel, shapeToString, type AttrValue, type HostTensor } from '@tinyllama/core';
import { EXTERNAL_LENGTH_TO_END, tensorFromPayload, type DecodedModel, type NodeDef, type TensorDef } from '@tinyllama/onnx';
import { wasmGroupQueryAttention } from './gqa.js';
import { swiGluPair, type NBitsWeight, type WasmKernels } from './kernels.js';
import { REFERENCE_KERNELS } from './ops/index.js';
import { floatAttr } from './ops/util.js';
import { opKey, type OpKernel } from './ops/types.js';

/** Reads the bytes of an external-data payload (`location` relative to the model). */
export type ExternalDataReader = (location: string, offset: number, length: number) => Promise<Uint8Array>;

/** What a step may know about the current run. */
export interface RunContext {
  /** Tensors the caller passed as in-place outputs (kernels may write them instead of allocating). */
  readonly inPlace: ReadonlySet<HostTensor>;
}

/** One step of the plan: a kernel over value slots. */
interface Step {
  readonly node: NodeDef;
  readonly run: (inputs: readonly (HostTensor | undefined)[], ctx: RunContext) => HostTensor[];
  /** Value slot of each input (-1: omitted). */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** Slots whose last use is this step (freed after it). */
  readonly release: readonly number[];
  /** The input tensors of the running step (one array per step, reused by every run). */
  readonly args: (HostTensor | undefined)[];
  /** Name in profiles (default: the node's op type). */
  readonly label?: string;
}

/** Statistics of a loaded graph. */
export interface GraphStats {
  readonly nodes: number;
  /** MatMulNBits nodes running on the wasm kernels (the native engine's included). */
  readonly wasmMatmuls: number;
  /** Of those, the ones whose weights the native engine took (`WasmKernelsOptions.nbitsEngine`). */
  readonly nativeMatmuls: number;
  /** Bytes of weights held in the kernels' linear memory. */
  readonly wasmWeightBytes: number;
  /** Bytes of other initializers held as JS tensors. */
  readonly jsWeightBytes: number;
}

const NO_TENSORS: ReadonlySet<HostTensor> = new Set();

/**
 * External data files in the kernels' memory that the executor takes over (staged bundle files): in a
 * shared memory, whose views stay valid, weights are kept and re-laid out where they are and other
 * initializers stay views, with no copies; `release` frees the files with the executor (it is not
 * called when `load` fails: the caller frees them then).
 */
export interface OwnedRegions {
  readonly regions: readonly Uint8Array[];
  readonly release: () => void;
}

const NO_REGIONS: OwnedRegions = { regions: [], release: () => {} };
const MATMUL_NBITS = opKey('com.microsoft', 'MatMulNBits');
const GQA = opKey('com.microsoft', 'GroupQueryAttention');

function intAttr(node: NodeDef, name: string, fallback?: number): number {
  const a: AttrValue | undefined = node.attrs[name];
  if (a === undefined) {
    if (fallback === undefined) throw new TinyLlamaError('E_CORRUPT', `node '${node.name}' (${node.opType}): attribute '${name}' is missing`);
    return fallback;
  }
  if (a.type !== 'int') throw new TinyLlamaError('E_CORRUPT', `node '${node.name}' (${node.opType}): attribute '${name}' is not an int`);
  return a.value;
}

/**
 * Runs a decoded ONNX graph: nodes in order over a table of values, each op by its reference
 * TypeScript kernel, except block-quantised matmuls with constant weights (`MatMulNBits`,
 * accuracy level 4: int8 activations, like onnxruntime) whose weights are uploaded once to the wasm
 * kernels' memory and run there on all threads, and GroupQueryAttention whose attention runs there
 * too (batch 1 without padding; other cases use the reference kernel). Values are dropped after
 * their last use.
 *
 * The wasm steps leave their results in the kernels' memory as resident tensors, which the next wasm
 * step reads in place: between two kernels no activation crosses into JavaScript (copies out of a
 * shared wasm memory run at ~1 GB/s in Chromium). The run owns them and frees each after its last
 * use; reference kernels read them through their `data` views, and a reference op that returns a view
 * of one (Reshape) gets a resident view sharing its memory. Graph outputs are copied out at the end.
 */
export class GraphExecutor {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly stats: GraphStats;
  readonly #steps: readonly Step[];
  readonly #slots: number;
  readonly #constants: ReadonlyMap<number, HostTensor>;
  readonly #inputSlots: ReadonlyMap<string, number>;
  readonly #outputSlots: readonly number[];
  readonly #weights: NBitsWeight[];
  /** Resident copies of constants (see `load`), freed with the weights. */
  readonly #uploads: Map<HostTensor, HostTensor>;
  /** Files taken over at load (weights and constants kept in them), freed on release. */
  readonly #owned: OwnedRegions;
  readonly #kernels: WasmKernels;
  /** Per set of wanted outputs (names joined): which steps a run can skip. */
  readonly #skips = new Map<string, Uint8Array>();
  #released = false;
  /** When set, milliseconds spent per operator type are added here (see {@link GraphExecutor.profile}). */
  profile: Map<string, number> | undefined;

  private constructor(init: {
    inputNames: string[];
    outputNames: string[];
    steps: Step[];
    slots: number;
    constants: Map<number, HostTensor>;
    inputSlots: Map<string, number>;
    outputSlots: number[];
    weights: NBitsWeight[];
    uploads: Map<HostTensor, HostTensor>;
    owned: OwnedRegions;
    kernels: WasmKernels;
    stats: GraphStats;
  }) {
    this.#uploads = init.uploads;
    this.#owned = init.owned;
    this.inputNames = init.inputNames;
    this.outputNames = init.outputNames;
    this.#steps = init.steps;
    this.#slots = init.slots;
    this.#constants = init.constants;
    this.#inputSlots = init.inputSlots;
    this.#outputSlots = init.outputSlots;
    this.#weights = init.weights;
    this.#kernels = init.kernels;
    this.stats = init.stats;
  }

  /**
   * Prepares a graph: checks every op has a kernel, loads initializers (external ones through
   * `readExternal`), uploads quantised matmul weights to the kernels, or keeps them where they are in
   * files it takes over (`owned`, see {@link OwnedRegions}).
   */
  static async load(model: DecodedModel, readExternal: ExternalDataReader, kernels: WasmKernels, owned: OwnedRegions = NO_REGIONS): Promise<GraphExecutor> {
    const missing = [...new Set(model.nodes.map((n) => opKey(n.domain, n.opType)).filter((k) => !REFERENCE_KERNELS[k]))];
    if (missing.length > 0) throw new TinyLlamaError('E_UNSUPPORTED', `wasm-kernels backend: unsupported operators ${missing.join(', ')}`);

    const slotOf = new Map<string, number>();
    const slot = (name: string): number => {
      let s = slotOf.get(name);
      if (s === undefined) {
        s = slotOf.size;
        slotOf.set(name, s);
      }
      return s;
    };
    const initializers = new Map<string, TensorDef>(model.initializers.map((t) => [t.name, t]));
    const uses = new Map<string, number>();
    for (const n of model.nodes) for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);

    /**
     * An initializer as a tensor. External data may be a view into shared memory (a file staged in
     * the kernels' memory, reused for the next file): `keep` copies such bytes for tensors that
     * outlive loading; weights uploaded to the kernels are copied there anyway.
     */
    const loadTensor = async (def: TensorDef, keep = false): Promise<HostTensor> => {
      const p = def.payload;
      if (p.kind === 'inline') return tensorFromPayload(def, p.bytes);
      const length = p.length === EXTERNAL_LENGTH_TO_END ? -1 : p.length;
      let bytes = await readExternal(p.location, p.offset, length);
      if (keep && kernels.mem.owns(bytes) && !kept(bytes)) bytes = bytes.slice();
      return tensorFromPayload(def, bytes);
    };
    /** True for bytes inside a file the executor owns, in a shared memory (their views stay valid). */
    const kept = (v: ArrayBufferView): boolean =>
      kernels.mem.shared && kernels.mem.owns(v) && owned.regions.some((r) => v.byteOffset >= r.byteOffset && v.byteOffset + v.byteLength <= r.byteOffset + r.byteLength);

    const weights: NBitsWeight[] = [];
    // constants some kernels read in place (rotary tables), uploaded once on first use
    const uploads = new Map<HostTensor, HostTensor>();
    const resident = (t: HostTensor): HostTensor => {
      let r = uploads.get(t);
      if (!r) {
        if (t.dtype !== 'float32') throw new TinyLlamaError('E_DTYPE', `constant ${shapeToString(t.dims)} for the kernels must be float32, got ${t.dtype}`);
        // a constant kept in a file the executor owns is used where it is, else copied in
        r = kept(t.data) ? kernels.wrapTensor(t.data as Float32Array, t.dims) : kernels.uploadTensor(t.data as Float32Array, t.dims);
        uploads.set(t, r);
      }
      return r;
    };
    const constants = new Map<number, HostTensor>();
    const onlyForWasm = new Set<string>();
    const steps: Omit<Step, 'args'>[] = [];
    let jsWeightBytes = 0;
    try {
      // quantised matmuls whose weights are initializers go to the wasm kernels
      const wasmNodes = new Map<NodeDef, NBitsWeight>();
      for (const n of model.nodes) {
        if (opKey(n.domain, n.opType) !== MATMUL_NBITS || intAttr(n, 'accuracy_level', 0) !== 4) continue;
        const [, bName, sName, zName, gName, biasName] = n.inputs;
        const constant = (name: string | undefined) => !name || initializers.has(name);
        if (!bName || !sName || gName || !constant(bName) || !constant(sName) || !constant(zName) || !constant(biasName)) continue;
        const zDef = zName ? initializers.get(zName) : undefined;
        if (zDef && zDef.dtype !== 'uint8') continue; // float zero points: reference kernel
        const q = await loadTensor(initializers.get(bName)!);
        const s = await loadTensor(initializers.get(sName)!);
        const z = zDef ? await loadTensor(zDef) : undefined;
        const bias = biasName ? await loadTensor(initializers.get(biasName)!) : undefined;
        if (q.dtype !== 'uint8' || s.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) continue;
        const w = kernels.uploadNBits(
          {
            K: intAttr(n, 'K'),
            N: intAttr(n, 'N'),
            bits: intAttr(n, 'bits', 4),
            blockSize: intAttr(n, 'block_size'),
            q: q.data as Uint8Array,
            scales: s.data as Float32Array,
            zeroPoints: z?.data as Uint8Array | undefined,
            bias: bias?.data as Float32Array | undefined,
          },
          n.name || n.outputs[0] || 'MatMulNBits',
          { inPlace: kept(q.data) }, // scales not 4-byte aligned in the file are copied
        );
        weights.push(w);
        wasmNodes.set(n, w);
        for (const name of [bName, sName, zName, biasName]) if (name && uses.get(name) === 1) onlyForWasm.add(name);
      }

      for (const name of model.inputs.map((i) => i.name)) slot(name);
      for (const def of model.initializers) {
        if (onlyForWasm.has(def.name) || !uses.has(def.name)) continue;
        const t = await loadTensor(def, true);
        jsWeightBytes += t.data.byteLength;
        constants.set(slot(def.name), t);
      }

      const graphOutputs = new Set(model.outputs.map((o) => o.name));
      const swiglu = findSwiGlu(model.nodes, uses, graphOutputs);
      const addNorm = findAddRmsNorm(model.nodes, uses, graphOutputs, new Set(model.initializers.map((d) => d.name)));
      const mlp = findGateUpSwiGlu(model.nodes, swiglu, wasmNodes, uses, graphOutputs);
      for (const node of model.nodes) {
        const fused = swiglu.get(node);
        const norm = addNorm.get(node);
        const gateUp = mlp.get(node);
        if (fused === 'skip' || norm === 'skip' || gateUp === 'skip') continue;
        if (gateUp) {
          steps.push({
            node,
            run: wasmGateUpSwiGlu(kernels, gateUp.gate, gateUp.up, node),
            inputs: [slot(gateUp.input)],
            outputs: [slot(node.outputs[0]!)],
            release: [],
            label: 'MatMulNBits+SwiGLU',
          });
          continue;
        }
        if (norm) {
          steps.push({
            node,
            run: wasmAddRmsNorm(kernels, node, norm),
            inputs: [slot(node.inputs[0]!), slot(node.inputs[1]!), slot(norm.inputs[1]!)],
            outputs: [slot(node.outputs[0]!), slot(norm.outputs[0]!)],
            release: [],
          });
          continue;
        }
        if (fused) {
          steps.push({ node, run: wasmSwiGlu(kernels), inputs: [slot(fused.gate), slot(fused.up)], outputs: [slot(node.outputs[0]!)], release: [] });
          continue;
        }
        const w = wasmNodes.get(node);
        const kernel: OpKernel = REFERENCE_KERNELS[opKey(node.domain, node.opType)]!;
        const key = opKey(node.domain, node.opType);
        const run = w
          ? wasmMatmul(kernels, w, node)
          : key === GQA
            ? wasmGroupQueryAttention(kernels, node, kernel, resident)
            : (inputs: readonly (HostTensor | undefined)[]) => kernel(inputs, node.attrs);
        const inputs = node.inputs.map((i, k) => (!i || (w && k > 0) ? -1 : slot(i)));
        steps.push({ node, run, inputs, outputs: node.outputs.map((o) => (o ? slot(o) : -1)), release: [] });
      }
    } catch (e) {
      for (const w of weights) kernels.releaseNBits(w);
      throw e;
    }

    const outputNames = model.outputs.map((o) => o.name);
    const outputSlots = outputNames.map((o) => {
      const s = slotOf.get(o);
      if (s === undefined) throw new TinyLlamaError('E_CORRUPT', `graph output '${o}' is produced by no node`);
      return s;
    });
    // free each intermediate after its last use
    const keep = new Set([...outputSlots, ...constants.keys()]);
    const last = new Map<number, number>();
    steps.forEach((st, i) => {
      for (const s of st.inputs) if (s >= 0) last.set(s, i);
      for (const s of st.outputs) if (s >= 0 && !last.has(s)) last.set(s, i);
    });
    const release: number[][] = steps.map(() => []);
    for (const [s, i] of last) if (!keep.has(s)) release[i]!.push(s);
    const finalSteps: Step[] = steps.map((st, i) => ({ ...st, release: release[i]!, args: new Array<HostTensor | undefined>(st.inputs.length).fill(undefined) }));

    return new GraphExecutor({
      inputNames: model.inputs.map((i) => i.name).filter((n) => !initializers.has(n)),
      outputNames,
      steps: finalSteps,
      slots: slotOf.size,
      constants,
      inputSlots: new Map(model.inputs.map((i) => [i.name, slotOf.get(i.name)!])),
      outputSlots,
      weights,
      uploads,
      owned,
      kernels,
      stats: {
        nodes: steps.length,
        wasmMatmuls: weights.length,
        nativeMatmuls: weights.filter((w) => w.native).length,
        wasmWeightBytes: weights.reduce((a, w) => a + w.bytes, 0),
        jsWeightBytes,
      },
    });
  }

  /**
   * Runs the graph on `feeds` (every graph input), returning the graph outputs by name. Each output
   * named in `targets` (the caller's in-place outputs) ends in that tensor: kernels that know how write
   * it in place (the KV cache of GroupQueryAttention), any other result is copied into it (straight from
   * the kernels' memory: a decode step then allocates no JS buffer for it).
   * @throws `E_SHAPE` when a result does not fit its target's dtype and size.
   */
  run(
    feeds: Readonly<Record<string, HostTensor>>,
    targets?: Readonly<Record<string, HostTensor>>,
    /** Outputs wanted besides `targets` (default: all); steps that feed none of them are skipped. */
    fetch?: readonly string[],
  ): Record<string, HostTensor> {
    const skip = fetch ? this.#skipFor(fetch, targets) : undefined;
    const inPlace: ReadonlySet<HostTensor> = targets ? new Set(Object.values(targets)) : NO_TENSORS;
    const ctx: RunContext = { inPlace };
    if (this.#released) throw new TinyLlamaError('E_BACKEND', 'session was released');
    const values: (HostTensor | undefined)[] = new Array(this.#slots);
    for (const [s, t] of this.#constants) values[s] = t;
    const foreign = new Set<HostTensor>(inPlace);
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new TinyLlamaError('E_ARGUMENT', `missing input '${name}'`);
      if (t.data.length !== numel(t.dims)) throw new TinyLlamaError('E_SHAPE', `input '${name}': ${t.data.length} values for shape ${shapeToString(t.dims)}`);
      values[this.#inputSlots.get(name)!] = t;
      foreign.add(t);
    }
    // resident tensors (in the kernels' memory) this run made and still holds: freed after their last use
    const owned = new Set<HostTensor>();
    try {
      const steps = this.#steps;
      for (let si = 0; si < steps.length; si++) {
        const st = steps[si]!;
        if (skip?.[si]) {
          this.#release(st, values, owned); // its inputs' last use may be here
          continue;
        }
        // the step's own input array, refilled each run (runs are synchronous and never nested)
        const inputs = st.args;
        for (let i = 0; i < st.inputs.length; i++) {
          const slot = st.inputs[i]!;
          inputs[i] = slot < 0 ? undefined : values[slot];
        }
        let outs: HostTensor[];
        const t0 = this.profile ? performance.now() : 0;
        try {
          outs = st.run(inputs, ctx);
        } catch (e) {
          const n = st.node;
          if (e instanceof TinyLlamaError) throw new TinyLlamaError(e.code, `node '${n.name}' (${n.opType}): ${e.message}`, { cause: e });
          throw new TinyLlamaError('E_BACKEND', `node '${n.name}' (${n.opType}) failed: ${(e as Error).message}`, { cause: e });
        }
        if (this.profile) {
          const label = st.label ?? st.node.opType;
          this.profile.set(label, (this.profile.get(label) ?? 0) + performance.now() - t0);
        }
        for (let k = 0; k < st.outputs.length; k++) {
          const s = st.outputs[k]!;
          const t = this.#adopt(outs[k], inputs, owned, foreign);
          if (s >= 0) values[s] = t;
          else if (t && owned.delete(t)) this.#kernels.freeTensor(t);
        }
        this.#release(st, values, owned);
        inputs.fill(undefined); // hold no tensor past its step
      }
      const out: Record<string, HostTensor> = {};
      this.outputNames.forEach((name, k) => {
        const t = values[this.#outputSlots[k]!];
        if (!t) return; // not wanted (skipped)
        // graph outputs leave the kernels' memory (the caller's in-place tensors stay where they are)
        const target = targets?.[name];
        if (target && t !== target) {
          if (t.dtype !== target.dtype || t.data.length !== target.data.length) {
            throw new TinyLlamaError('E_SHAPE', `in-place output '${name}': the graph produced ${t.dtype} ${shapeToString(t.dims)}, the caller's tensor is ${target.dtype} ${shapeToString(target.dims)}`);
          }
          (target.data as Float32Array).set(t.data as Float32Array);
          out[name] = target;
        } else out[name] = owned.has(t) ? { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() } : t;
      });
      return out;
    } finally {
      for (const t of owned) this.#kernels.freeTensor(t);
    }
  }

  /** Frees the values whose last use is `st`. */
  #release(st: Step, values: (HostTensor | undefined)[], owned: Set<HostTensor>): void {
    for (let i = 0; i < st.release.length; i++) {
      const s = st.release[i]!;
      const t = values[s];
      values[s] = undefined;
      if (t && owned.delete(t)) this.#kernels.freeTensor(t);
    }
  }

  /**
   * The steps that feed none of the outputs in `fetch` or `targets` (cached per list of names, in the
   * order given: runs repeat theirs); `E_ARGUMENT` for an unknown name.
   */
  #skipFor(fetch: readonly string[], targets: Readonly<Record<string, HostTensor>> | undefined): Uint8Array {
    let key = fetch.join('\u0000');
    if (targets) for (const name in targets) key += `\u0001${name}`;
    let skip = this.#skips.get(key);
    if (skip) return skip;
    const needed = new Set<number>();
    for (const name of targets ? [...fetch, ...Object.keys(targets)] : fetch) {
      const k = this.outputNames.indexOf(name);
      if (k < 0) throw new TinyLlamaError('E_ARGUMENT', `no output named '${name}'`);
      needed.add(this.#outputSlots[k]!);
    }
    const steps = this.#steps;
    skip = new Uint8Array(steps.length);
    for (let i = steps.length - 1; i >= 0; i--) {
      const st = steps[i]!;
      if (!st.outputs.some((o) => needed.has(o))) {
        skip[i] = 1;
        continue;
      }
      for (const slot of st.inputs) if (slot >= 0) needed.add(slot);
    }
    this.#skips.set(key, skip);
    return skip;
  }

  /**
   * Takes a step's output into the run: a resident tensor the step made is owned (freed after its last
   * use); one already held (an op returning its input) becomes a view of its own; a plain view into the
   * kernels' memory (a Reshape of a resident input) becomes a resident view of that input, or a copy
   * when it views nothing the step was given. Other tensors pass unchanged.
   */
  #adopt(t: HostTensor | undefined, inputs: readonly (HostTensor | undefined)[], owned: Set<HostTensor>, foreign: ReadonlySet<HostTensor>): HostTensor | undefined {
    if (!t) return t;
    const kernels = this.#kernels;
    if (kernels.tensorOffset(t) !== undefined) {
      if (foreign.has(t)) return t;
      const own = owned.has(t) ? kernels.viewTensor(t, t.dims) : t;
      owned.add(own);
      return own;
    }
    const data = t.data;
    if (!kernels.mem.owns(data)) return t;
    for (const x of inputs) {
      const off = x && kernels.tensorOffset(x);
      if (off === undefined || !x || x.dtype !== t.dtype) continue;
      const at = data.byteOffset - off;
      if (at >= 0 && at % 4 === 0 && at + data.byteLength <= numel(x.dims) * 4) {
        const view = kernels.viewTensor(x, t.dims, at / 4);
        owned.add(view);
        return view;
      }
    }
    return { dtype: t.dtype, dims: [...t.dims], data: data.slice() as HostTensor['data'] };
  }

  /** Frees the uploaded weights and the files taken over. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const w of this.#weights) this.#kernels.releaseNBits(w);
    for (const t of this.#uploads.values()) this.#kernels.freeTensor(t);
    this.#uploads.clear();
    this.#owned.release();
  }
}

/** A MatMulNBits step on the wasm kernels: `A [..., K] -> [..., N]`. */
function wasmMatmul(kernels: WasmKernels, w: NBitsWeight, node: NodeDef) {
  const what = `MatMulNBits '${node.name}'`;
  return (inputs: readonly (HostTensor | undefined)[]): HostTensor[] => {
    const { a, M } = matmulInput(inputs[0], w.K, what);
    return [kernels.matmulNBitsTensor(a.data as Float32Array, M, w, [...a.dims.slice(0, -1), w.N])]; // [..., N], resident
  };
}

/** Checks a quantised matmul's input A (float32, last axis K) for the step `what`; M is its row count. */
function matmulInput(a: HostTensor | undefined, K: number, what: string): { a: HostTensor; M: number } {
  if (!a || a.dtype !== 'float32') throw new TinyLlamaError('E_DTYPE', `${what}: input A must be float32`);
  if (a.dims[a.dims.length - 1] !== K) throw new TinyLlamaError('E_SHAPE', `${what}: A ${shapeToString(a.dims)} does not end in K=${K}`);
  return { a, M: a.data.length / K };
}

/**
 * SwiGLU as the graph spells it, `Mul(Mul(x, Sigmoid(x)), up)` (operands in either order), where the
 * Sigmoid and the first Mul feed nothing else: the last Mul maps to `{ gate: x, up }` and the other two
 * nodes to `'skip'`.
 */
function findSwiGlu(nodes: readonly NodeDef[], uses: ReadonlyMap<string, number>, outputs: ReadonlySet<string>): Map<NodeDef, { gate: string; up: string } | 'skip'> {
  const byInput = new Map<string, NodeDef[]>();
  for (const n of nodes) for (const i of n.inputs) if (i) byInput.set(i, [...(byInput.get(i) ?? []), n]);
  const single = (name: string) => uses.get(name) === 1 && !outputs.has(name);
  const found = new Map<NodeDef, { gate: string; up: string } | 'skip'>();
  for (const sig of nodes) {
    if (sig.opType !== 'Sigmoid' || sig.domain !== '' || !sig.outputs[0] || !single(sig.outputs[0])) continue;
    const x = sig.inputs[0]!;
    const mul1 = byInput.get(sig.outputs[0])![0]!;
    if (mul1.opType !== 'Mul' || mul1.inputs.length !== 2 || !mul1.inputs.includes(x) || !mul1.outputs[0] || !single(mul1.outputs[0])) continue;
    const mul2 = byInput.get(mul1.outputs[0])![0]!;
    if (mul2.opType !== 'Mul' || mul2.inputs.length !== 2) continue;
    const up = mul2.inputs[0] === mul1.outputs[0] ? mul2.inputs[1] : mul2.inputs[0];
    if (!up || up === mul1.outputs[0]) continue;
    found.set(sig, 'skip');
    found.set(mul1, 'skip');
    found.set(mul2, { gate: x, up });
  }
  return found;
}

/**
 * An MLP's gate and up projections and their SwiGLU as one step: the SwiGLU's last Mul (from
 * {@link findSwiGlu}) whose gate and up operands are each the only output of a MatMulNBits on the wasm
 * kernels, both reading the same input, with weights {@link swiGluPair} accepts and outputs nothing
 * else reads. The Mul maps to the fused step, the two matmuls to `'skip'`.
 */
function findGateUpSwiGlu(
  nodes: readonly NodeDef[],
  swiglu: ReadonlyMap<NodeDef, { gate: string; up: string } | 'skip'>,
  wasmNodes: ReadonlyMap<NodeDef, NBitsWeight>,
  uses: ReadonlyMap<string, number>,
  outputs: ReadonlySet<string>,
): Map<NodeDef, { input: string; gate: NBitsWeight; up: NBitsWeight } | 'skip'> {
  const producer = new Map<string, NodeDef>();
  for (const n of nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const found = new Map<NodeDef, { input: string; gate: NBitsWeight; up: NBitsWeight } | 'skip'>();
  for (const [mul, f] of swiglu) {
    if (f === 'skip') continue;
    const g = producer.get(f.gate);
    const u = producer.get(f.up);
    const wg = g && wasmNodes.get(g);
    const wu = u && wasmNodes.get(u);
    if (!g || !u || !wg || !wu || g === u || !g.inputs[0] || g.inputs[0] !== u.inputs[0]) continue;
    // the gate feeds the Sigmoid and the first Mul, the up projection the last Mul, and nothing else
    if (outputs.has(f.gate) || outputs.has(f.up) || uses.get(f.gate) !== 2 || uses.get(f.up) !== 1 || !swiGluPair(wg, wu)) continue;
    found.set(g, 'skip');
    found.set(u, 'skip');
    found.set(mul, { input: g.inputs[0], gate: wg, up: wu });
  }
  return found;
}

/** The fused gate + up + SwiGLU step: `X [..., K] -> [..., N]`. */
function wasmGateUpSwiGlu(kernels: WasmKernels, gate: NBitsWeight, up: NBitsWeight, node: NodeDef) {
  const what = `MatMulNBits + SwiGLU at '${node.name}'`;
  return (inputs: readonly (HostTensor | undefined)[]): HostTensor[] => {
    const { a, M } = matmulInput(inputs[0], gate.K, what);
    return [kernels.matmulSwiGluTensor(a.data as Float32Array, M, gate, up, [...a.dims.slice(0, -1), gate.N])]; // [..., N], resident
  };
}

/** True when two tensors have the same dims. */
function sameDims(a: HostTensor, b: HostTensor): boolean {
  return a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
}

/**
 * A residual `Add` whose sum feeds a `SimplifiedLayerNormalization` over the last axis with a constant
 * scale and no used inv_std_var output: the Add maps to its norm (one fused step at the Add's place,
 * producing the sum and the normalised rows) and the norm to `'skip'`.
 */
function findAddRmsNorm(nodes: readonly NodeDef[], uses: ReadonlyMap<string, number>, outputs: ReadonlySet<string>, initializers: ReadonlySet<string>): Map<NodeDef, NodeDef | 'skip'> {
  const normOf = new Map<string, NodeDef>();
  for (const n of nodes) {
    if (n.opType !== 'SimplifiedLayerNormalization' || n.domain !== '' || n.inputs.length !== 2 || !n.inputs[0] || !n.outputs[0]) continue;
    if (!initializers.has(n.inputs[1]!) || intAttr(n, 'axis', -1) !== -1) continue;
    const inv = n.outputs[1];
    if (inv && (uses.has(inv) || outputs.has(inv))) continue;
    if (!normOf.has(n.inputs[0])) normOf.set(n.inputs[0], n);
  }
  const found = new Map<NodeDef, NodeDef | 'skip'>();
  for (const add of nodes) {
    if (add.opType !== 'Add' || add.domain !== '' || add.inputs.length !== 2 || !add.inputs[0] || !add.inputs[1] || !add.outputs[0]) continue;
    const norm = normOf.get(add.outputs[0]);
    if (!norm || found.has(norm)) continue;
    found.set(add, norm);
    found.set(norm, 'skip');
  }
  return found;
}

/** The fused residual Add + RMSNorm step: the wasm kernel for equal float32 shapes, else the two reference ops. */
function wasmAddRmsNorm(kernels: WasmKernels, add: NodeDef, norm: NodeDef) {
  const addKernel = REFERENCE_KERNELS[opKey('', 'Add')]!;
  const normKernel = REFERENCE_KERNELS[opKey('', 'SimplifiedLayerNormalization')]!;
  const eps = floatAttr(norm.attrs, 'epsilon', 1e-5);
  return (inputs: readonly (HostTensor | undefined)[]): HostTensor[] => {
    const [a, b, w] = inputs as [HostTensor, HostTensor, HostTensor];
    const len = a.dims[a.dims.length - 1];
    if (
      a.dtype === 'float32' && b.dtype === 'float32' && w.dtype === 'float32' && sameDims(a, b) && w.dims.length === 1 && w.dims[0] === len && len > 0 && a.data.length > 0
    ) {
      return kernels.addRmsNormTensors(a.data as Float32Array, b.data as Float32Array, w.data as Float32Array, eps, a.dims); // sum, y: resident
    }
    const [s] = addKernel([a, b], add.attrs);
    const [y] = normKernel([s!, w], norm.attrs);
    return [s!, y!];
  };
}

/** The fused SwiGLU step: the wasm kernel for equal float32 shapes, else the three reference ops. */
function wasmSwiGlu(kernels: WasmKernels) {
  const sigmoid = REFERENCE_KERNELS['Sigmoid']!;
  const mul = REFERENCE_KERNELS['Mul']!;
  return (inputs: readonly (HostTensor | undefined)[]): HostTensor[] => {
    const [x, up] = inputs as [HostTensor, HostTensor];
    if (x.dtype === 'float32' && up.dtype === 'float32' && sameDims(x, up)) {
      return [kernels.siluMulTensor(x.data as Float32Array, up.data as Float32Array, x.dims)]; // resident
    }
    const [s] = sigmoid([x], {});
    const [g] = mul([x, s], {});
    return mul([g, up], {});
  };
}
