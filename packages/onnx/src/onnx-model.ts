import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  TinyLlamaError,
  concatBytes,
  isTinyLlamaError,
  numel,
  type BuiltModel,
  type DType,
  type HostTensor,
  type LazyTensor,
  type ProgressCallback,
} from '@tinyllama/core';
import { encodeModel, typedArrayBytes, type NodeDef, type TensorDef, type TensorPayload, type ValueInfo } from './onnx-proto.js';

/** Protobuf's hard limit for one serialized message (2 GiB - 1). */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Options of the serialized model. */
export interface OnnxModelOptions {
  /** ModelProto `ir_version` (default 8: ONNX 1.12 / opset 17, loadable by onnxruntime 1.30). */
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  /** `metadata_props` key/value pairs. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Tensors of at least this many bytes go to the external data file in `writeTo` (default 1024). */
  readonly externalDataThreshold?: number;
  /** Alignment of each tensor's offset in the external data file (default 4096: page size, mmap-able). */
  readonly externalDataAlignment?: number;
}

/** One initializer as recorded by the graph builder. */
export interface InitializerEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly byteLength: number;
  readonly source: HostTensor | LazyTensor;
  /** Counted in `parameterCount`. */
  readonly parameter: boolean;
}

/** The frozen graph handed over by the builder. */
export interface GraphSnapshot {
  readonly graphName: string;
  readonly opsets: ReadonlyMap<string, number>;
  readonly nodes: readonly NodeDef[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly InitializerEntry[];
}

/** Where one initializer lands in a `writeTo` layout. */
interface Placement {
  readonly entry: InitializerEntry;
  /** Offset in the external data file, or -1 when stored inline. */
  readonly offset: number;
}

/**
 * A serializable ONNX model (core's {@link BuiltModel}). Lazy initializers are loaded only while
 * writing, one at a time, so `writeTo` handles models far larger than memory: the protobuf holds the
 * graph and small tensors, and every tensor of at least `externalDataThreshold` bytes is streamed to
 * `<fileName>.data` at an aligned offset.
 */
export class OnnxModel implements BuiltModel {
  readonly #graph: GraphSnapshot;
  readonly #options: OnnxModelOptions;

  constructor(graph: GraphSnapshot, options: OnnxModelOptions = {}) {
    this.#graph = graph;
    this.#options = options;
  }

  /** Elements over the initializers marked as parameters (weights; not caches or constants). */
  get parameterCount(): number {
    let n = 0;
    for (const i of this.#graph.initializers) if (i.parameter) n += numel(i.dims);
    return n;
  }

  /** Total bytes of all initializers. */
  get weightBytes(): number {
    let n = 0;
    for (const i of this.#graph.initializers) n += i.byteLength;
    return n;
  }

  /** Graph inputs and outputs (names, dtypes, dims). */
  get signature(): { readonly inputs: readonly ValueInfo[]; readonly outputs: readonly ValueInfo[] } {
    return { inputs: this.#graph.inputs, outputs: this.#graph.outputs };
  }

  /** Number of nodes per `domain:opType` (for tests and inspection). */
  opCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const n of this.#graph.nodes) {
      const k = n.domain ? `${n.domain}:${n.opType}` : n.opType;
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  }

  /**
   * Writes `<dir>/<fileName>` (default `model.onnx`) and, when some tensor reaches the threshold,
   * `<fileName>.data`, streaming lazy tensors one at a time. Files are written under temporary names
   * and renamed at the end (data first), so a failed write leaves nothing behind. Reports
   * `write-weights` progress in bytes. Returns the model file path.
   */
  async writeTo(dir: string, options: { fileName?: string; onProgress?: ProgressCallback } = {}): Promise<string> {
    const fileName = options.fileName ?? 'model.onnx';
    if (fileName !== path.basename(fileName) || fileName === '' || fileName === '.' || fileName === '..') {
      throw new TinyLlamaError('E_ARGUMENT', `writeTo: fileName '${fileName}' must be a plain file name`);
    }
    const dataName = `${fileName}.data`;
    const modelPath = path.join(dir, fileName);
    const dataPath = path.join(dir, dataName);
    const tag = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const modelTmp = modelPath + tag;
    const dataTmp = dataPath + tag;

    const threshold = this.#options.externalDataThreshold ?? 1024;
    const align = this.#options.externalDataAlignment ?? 4096;
    if (!(Number.isSafeInteger(align) && align >= 1)) {
      throw new TinyLlamaError('E_ARGUMENT', `externalDataAlignment must be a positive integer, got ${align}`);
    }
    const placements: Placement[] = [];
    let dataSize = 0;
    for (const entry of this.#graph.initializers) {
      if (entry.byteLength >= threshold && entry.byteLength > 0) {
        const offset = Math.ceil(dataSize / align) * align;
        placements.push({ entry, offset });
        dataSize = offset + entry.byteLength;
      } else {
        placements.push({ entry, offset: -1 });
      }
    }
    const external = placements.filter((p) => p.offset >= 0);
    const totalBytes = external.reduce((s, p) => s + p.entry.byteLength, 0);

    try {
      await mkdir(dir, { recursive: true });
      if (external.length > 0) {
        const fh = await openForWrite(dataTmp);
        try {
          let done = 0;
          options.onProgress?.({ phase: 'write-weights', done, total: totalBytes, unit: 'bytes' });
          for (const p of external) {
            const bytes = await loadBytes(p.entry);
            await writeFully(fh, bytes, p.offset, dataTmp);
            done += bytes.byteLength;
            options.onProgress?.({ phase: 'write-weights', done, total: totalBytes, unit: 'bytes', item: p.entry.name });
          }
          await fh.truncate(dataSize);
        } finally {
          await fh.close();
        }
      }
      const tensors: TensorDef[] = [];
      for (const p of placements) {
        const payload: TensorPayload =
          p.offset >= 0
            ? { kind: 'external', location: dataName, offset: p.offset, length: p.entry.byteLength }
            : { kind: 'inline', bytes: await loadBytes(p.entry) };
        tensors.push({ name: p.entry.name, dtype: p.entry.dtype, dims: p.entry.dims, payload });
      }
      const proto = this.#encode(tensors);
      if (proto.byteLength > PROTOBUF_LIMIT) {
        throw new TinyLlamaError('E_UNSUPPORTED', `model protobuf '${modelPath}' would be ${proto.byteLength} bytes, over the 2 GB protobuf limit`);
      }
      await writeFile(modelTmp, concatBytes(proto.chunks, proto.byteLength));
      if (external.length > 0) await rename(dataTmp, dataPath);
      await rename(modelTmp, modelPath);
      return modelPath;
    } catch (e) {
      await rm(modelTmp, { force: true }).catch(() => undefined);
      await rm(dataTmp, { force: true }).catch(() => undefined);
      if (isTinyLlamaError(e)) throw e;
      throw new TinyLlamaError('E_IO', `failed to write model '${modelPath}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /**
   * Serializes everything into one buffer (all tensors inline). Throws `E_UNSUPPORTED` before reading
   * any weight when the result would exceed the 2 GB protobuf limit: use `writeTo` for such models.
   */
  async toBytes(): Promise<Uint8Array> {
    // Graph bytes plus payloads plus up to 8 more bytes per tensor for the longer length prefix.
    const inits = this.#graph.initializers;
    const estimate = this.weightBytes + this.#encode(inits.map(emptyTensor)).byteLength + 8 * inits.length;
    if (estimate > PROTOBUF_LIMIT) {
      throw new TinyLlamaError(
        'E_UNSUPPORTED',
        `model is ${estimate} bytes, over the 2 GB protobuf limit of a single buffer; write it to a directory with external data instead`,
      );
    }
    const tensors: TensorDef[] = [];
    for (const entry of this.#graph.initializers) {
      tensors.push({ name: entry.name, dtype: entry.dtype, dims: entry.dims, payload: { kind: 'inline', bytes: await loadBytes(entry) } });
    }
    const proto = this.#encode(tensors);
    return concatBytes(proto.chunks, proto.byteLength);
  }

  #encode(initializers: readonly TensorDef[]) {
    const o = this.#options;
    return encodeModel({
      irVersion: o.irVersion ?? 8,
      opsets: this.#graph.opsets,
      producerName: o.producerName ?? 'tinyllama-ts',
      producerVersion: o.producerVersion ?? '0.1.0',
      docString: o.docString,
      metadata: o.metadata ?? {},
      graphName: this.#graph.graphName,
      nodes: this.#graph.nodes,
      inputs: this.#graph.inputs,
      outputs: this.#graph.outputs,
      initializers,
    });
  }
}

function emptyTensor(e: InitializerEntry): TensorDef {
  return { name: e.name, dtype: e.dtype, dims: e.dims, payload: { kind: 'inline', bytes: new Uint8Array(0) } };
}

/** Bytes of an initializer: a view of a host tensor, or the result of a lazy tensor's `load()` (checked). */
async function loadBytes(entry: InitializerEntry): Promise<Uint8Array> {
  const src = entry.source;
  if (!('load' in src)) return typedArrayBytes(src.data);
  let bytes: Uint8Array;
  try {
    bytes = await src.load();
  } catch (e) {
    if (isTinyLlamaError(e)) throw e;
    throw new TinyLlamaError('E_IO', `failed to load tensor '${entry.name}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (bytes.byteLength !== entry.byteLength) {
    throw new TinyLlamaError(
      'E_SHAPE',
      `tensor '${entry.name}': load() returned ${bytes.byteLength} bytes, expected ${entry.byteLength} (${entry.dtype} [${entry.dims.join(', ')}])`,
    );
  }
  return bytes;
}

async function openForWrite(file: string): Promise<FileHandle> {
  return open(file, 'w');
}

async function writeFully(fh: FileHandle, bytes: Uint8Array, position: number, file: string): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, written, bytes.byteLength - written, position + written);
    if (bytesWritten <= 0) throw new TinyLlamaError('E_IO', `short write to '${file}'`);
    written += bytesWritten;
  }
}
