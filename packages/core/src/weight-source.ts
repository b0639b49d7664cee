import { TinyLlamaError } from './errors.js';
import { shapeToString, toFloat32 } from './tensor.js';
import type { TensorInfo, WeightExpect, WeightSource, WeightTensor } from './weights.js';

const FLOATS = ['float32', 'float16', 'bfloat16'] as const;

/** What a loader supplies to {@link TableWeightSource}: metadata for every tensor and a raw reader. */
export interface TensorTable {
  /** Full name → metadata. */
  readonly infos: ReadonlyMap<string, TensorInfo>;
  /** Reads the raw bytes of a tensor by full name (already validated to exist). */
  read(name: string): Promise<Uint8Array>;
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : name === '' ? prefix : `${prefix}.${name}`;
}

/**
 * Generic {@link WeightSource} over a {@link TensorTable}: does scoping and the shape/dtype checks so
 * every loader reports mismatches the same way.
 */
export class TableWeightSource implements WeightSource {
  constructor(
    protected readonly table: TensorTable,
    readonly prefix: string = '',
  ) {}

  names(): string[] {
    const out: string[] = [];
    const p = this.prefix === '' ? '' : `${this.prefix}.`;
    for (const k of this.table.infos.keys()) if (k.startsWith(p)) out.push(k.slice(p.length));
    return out;
  }

  has(name: string): boolean {
    return this.table.infos.has(join(this.prefix, name));
  }

  info(name: string): TensorInfo {
    const full = join(this.prefix, name);
    const info = this.table.infos.get(full);
    if (!info) throw new TinyLlamaError('E_NOT_FOUND', `tensor '${full}' is not in the checkpoint`);
    return info;
  }

  /** Validates `expect` against the metadata of `name` and returns it. */
  check(name: string, expect?: WeightExpect): TensorInfo {
    const info = this.info(name);
    if (expect?.shape) {
      const ok = expect.shape.length === info.shape.length && expect.shape.every((d, i) => d === info.shape[i]);
      if (!ok) {
        throw new TinyLlamaError(
          'E_SHAPE',
          `tensor '${info.name}' has shape ${shapeToString(info.shape)}, expected ${shapeToString(expect.shape)}`,
        );
      }
    }
    const dtypes = expect?.dtypes ?? FLOATS;
    if (!dtypes.includes(info.dtype)) {
      throw new TinyLlamaError('E_DTYPE', `tensor '${info.name}' has dtype ${info.dtype}, expected one of ${dtypes.join(', ')}`);
    }
    return info;
  }

  async get(name: string, expect?: WeightExpect): Promise<WeightTensor> {
    const info = this.check(name, expect);
    const bytes = await this.table.read(info.name);
    if (bytes.byteLength !== info.byteLength) {
      throw new TinyLlamaError('E_CORRUPT', `tensor '${info.name}': read ${bytes.byteLength} bytes, expected ${info.byteLength}`);
    }
    return { ...info, bytes };
  }

  async getFloat32(name: string, expect?: WeightExpect): Promise<{ info: TensorInfo; data: Float32Array }> {
    const t = await this.get(name, expect);
    return { info: t, data: toFloat32(t.dtype, t.bytes) };
  }

  scope(prefix: string): WeightSource {
    return new TableWeightSource(this.table, join(this.prefix, prefix));
  }
}
