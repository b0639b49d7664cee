import { open, rm, type FileHandle } from 'node:fs/promises';
import { DTYPE_BYTES, TinyLlamaError, numel, shapeToString, type DType, type ProgressCallback } from '@tinyllama/core';
import { fsError } from './file.js';
import { DTYPE_TO_SAFETENSORS, MAX_SAFETENSORS_HEADER } from './safetensors-format.js';

/** What the header needs to know about a tensor before its data is written. */
export interface SafetensorsTensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/**
 * One tensor to write: either with its data (`bytes`) or as a lazy producer (`read()`), called once,
 * in order, when the writer reaches it.
 */
export type SafetensorsInput =
  | (SafetensorsTensorSpec & { readonly bytes: Uint8Array })
  | (SafetensorsTensorSpec & { read(): Promise<Uint8Array> | Uint8Array });

/** Streaming source: the tensor list up front plus an async reader; at most one tensor is held at a time. */
export interface SafetensorsSource {
  readonly tensors: readonly SafetensorsTensorSpec[];
  read(name: string): Promise<Uint8Array>;
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** `__metadata__` (string → string), e.g. `{ format: 'pt' }`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Called after each tensor with bytes written so far (phase `write`, item = tensor name). */
  readonly onProgress?: ProgressCallback;
  /** Aborts between tensors with `E_ABORTED`. */
  readonly signal?: AbortSignal;
  /** fsync the file before closing (default true). */
  readonly fsync?: boolean;
}

/** Summary of a written file. */
export interface WriteSafetensorsResult {
  readonly path: string;
  /** Total file size. */
  readonly fileBytes: number;
  /** Sum of tensor data sizes. */
  readonly dataBytes: number;
  readonly tensors: number;
}

interface Planned {
  readonly spec: SafetensorsTensorSpec;
  readonly byteLength: number;
  readonly begin: number;
  readonly read: () => Promise<Uint8Array> | Uint8Array;
}

function isSource(v: unknown): v is SafetensorsSource {
  return typeof v === 'object' && v !== null && Array.isArray((v as SafetensorsSource).tensors) && typeof (v as SafetensorsSource).read === 'function';
}

async function collect(
  input: SafetensorsSource | Iterable<SafetensorsInput> | AsyncIterable<SafetensorsInput>,
): Promise<{ spec: SafetensorsTensorSpec; read: () => Promise<Uint8Array> | Uint8Array }[]> {
  if (isSource(input)) return input.tensors.map((spec) => ({ spec, read: () => input.read(spec.name) }));
  const out: { spec: SafetensorsTensorSpec; read: () => Promise<Uint8Array> | Uint8Array }[] = [];
  for await (const t of input as AsyncIterable<SafetensorsInput>) {
    const spec = { name: t.name, dtype: t.dtype, shape: t.shape };
    if ('bytes' in t) {
      const bytes = t.bytes;
      out.push({ spec, read: () => bytes });
    } else {
      out.push({ spec, read: () => t.read() });
    }
  }
  return out;
}

/** Builds the header JSON by hand so tensor order is preserved even for numeric-looking names. */
function headerJson(planned: readonly Planned[], metadata: Readonly<Record<string, string>> | undefined): Uint8Array {
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    const m = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') throw new TinyLlamaError('E_ARGUMENT', `safetensors metadata '${k}' must be a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  for (const p of planned) {
    const entry = { dtype: DTYPE_TO_SAFETENSORS[p.spec.dtype], shape: p.spec.shape, data_offsets: [p.begin, p.begin + p.byteLength] };
    parts.push(`${JSON.stringify(p.spec.name)}:${JSON.stringify(entry)}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20); // pad with spaces to 8-byte alignment
  padded.set(json);
  if (padded.length > MAX_SAFETENSORS_HEADER) throw new TinyLlamaError('E_ARGUMENT', `safetensors header of ${padded.length} bytes is too large`);
  return padded;
}

function plan(items: readonly { spec: SafetensorsTensorSpec; read: () => Promise<Uint8Array> | Uint8Array }[]): Planned[] {
  const seen = new Set<string>();
  let begin = 0;
  return items.map(({ spec, read }) => {
    if (!spec.name || spec.name === '__metadata__') throw new TinyLlamaError('E_ARGUMENT', `invalid tensor name '${spec.name}'`);
    if (seen.has(spec.name)) throw new TinyLlamaError('E_ARGUMENT', `tensor '${spec.name}' is given twice`);
    seen.add(spec.name);
    if (!(spec.dtype in DTYPE_TO_SAFETENSORS)) throw new TinyLlamaError('E_DTYPE', `tensor '${spec.name}': dtype ${String(spec.dtype)} cannot be written`);
    if (!spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TinyLlamaError('E_SHAPE', `tensor '${spec.name}' has an invalid shape ${shapeToString(spec.shape)}`);
    }
    const byteLength = numel(spec.shape) * DTYPE_BYTES[spec.dtype];
    const p = { spec, byteLength, begin, read };
    begin += byteLength;
    return p;
  });
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 30), position + done);
    done += bytesWritten;
  }
}

/**
 * Writes a safetensors file at `path`, streaming tensor data one tensor at a time. `tensors` is either a
 * {@link SafetensorsSource} (tensor list + async reader) or an (async) iterable of
 * {@link SafetensorsInput} (eager `bytes` or lazy `read()`); the header is written first, so the iterable
 * is drained for metadata before any producer is called. Each tensor's data must be exactly
 * `numel × itemsize` bytes (`E_CORRUPT` otherwise). On failure the partial file is removed.
 */
export async function writeSafetensors(
  path: string,
  tensors: SafetensorsSource | Iterable<SafetensorsInput> | AsyncIterable<SafetensorsInput>,
  options: WriteSafetensorsOptions = {},
): Promise<WriteSafetensorsResult> {
  const planned = plan(await collect(tensors));
  const header = headerJson(planned, options.metadata);
  const dataBytes = planned.reduce((a, p) => a + p.byteLength, 0);
  const dataStart = 8 + header.length;
  let fh: FileHandle;
  try {
    fh = await open(path, 'w');
  } catch (e) {
    throw fsError(e, path, 'create');
  }
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
    await writeAll(fh, len, 0);
    await writeAll(fh, header, 8);
    let done = 0;
    for (const p of planned) {
      if (options.signal?.aborted) throw new TinyLlamaError('E_ABORTED', `writing '${path}' was aborted`, { cause: options.signal.reason });
      const bytes = await p.read();
      if (!(bytes instanceof Uint8Array) || bytes.byteLength !== p.byteLength) {
        throw new TinyLlamaError(
          'E_CORRUPT',
          `tensor '${p.spec.name}' (${p.spec.dtype} ${shapeToString(p.spec.shape)}) supplied ${bytes?.byteLength ?? 'no'} bytes, expected ${p.byteLength}`,
        );
      }
      await writeAll(fh, bytes, dataStart + p.begin);
      done += p.byteLength;
      options.onProgress?.({ phase: 'write', done, total: dataBytes, unit: 'bytes', item: p.spec.name });
    }
    if (options.fsync ?? true) await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(path, { force: true }).catch(() => undefined);
    throw fsError(e, path, 'write');
  }
  return { path, fileBytes: dataStart + dataBytes, dataBytes, tensors: planned.length };
}
