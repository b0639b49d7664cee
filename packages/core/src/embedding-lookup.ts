/**
 * An embedding graph run as a table lookup that reads only the rows it needs from a file: the table
 * (32000 × 2048 at 4 bits, ~35 MB for TinyLlama) stays on disk (a cached bundle file, a local file)
 * instead of in memory, as llama.cpp's memory-mapped embedding does. One row per generated token.
 */
import type { InferenceSession } from './backend.js';
import { TinyLlamaError } from './errors.js';
import type { HostTensor } from './tensor.js';

/** Random access to the bytes of one file. */
export interface ByteRangeReader {
  /** Size of the file in bytes. */
  readonly size: number;
  /** Where the bytes come from, for diagnostics (e.g. `file`, `opfs`, `cache`). */
  readonly kind?: string;
  /** `length` bytes from `offset` (fewer only past the end, which callers treat as corruption). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Frees the handle. Idempotent. */
  close(): Promise<void>;
}

/**
 * Where a row-lookup table lives in its file:
 * - `float32`: rows of `cols` float32 values at `dataOffset`;
 * - `block-quantized` (`com.microsoft.GatherBlockQuantized`, uint8 container, quantised along the row):
 *   row `r`'s codes at `dataOffset + r * ceil(cols * bits / 8)`, its `ceil(cols / blockSize)` float32
 *   scales at `scalesOffset`, optional packed zero points (`ceil(blocks * bits / 8)` bytes per row) at
 *   `zeroPointsOffset`; a {@link RowDequantizer} turns them into values.
 */
export interface EmbeddingTableLayout {
  readonly rows: number;
  readonly cols: number;
  readonly encoding: 'float32' | 'block-quantized';
  readonly bits?: 4 | 8;
  readonly blockSize?: number;
  readonly dataOffset: number;
  readonly scalesOffset?: number;
  readonly zeroPointsOffset?: number;
  /** Graph input holding the ids (int64 or int32, any shape). */
  readonly inputName: string;
  /** Graph output: float32 `[...ids.dims, cols]`. */
  readonly outputName: string;
}

/**
 * One block-quantised row's float32 values from its codes, block scales and packed zero points
 * (undefined: the format's default). The quantisation format's own code supplies it (for Llama
 * bundles, `@tinyllama/quantize`'s `dequantizeGatherBlock`), so the packing is known in one place.
 */
export type RowDequantizer = (codes: Uint8Array, scales: Float32Array, zeroPoints: Uint8Array | undefined) => Float32Array;

/**
 * A framework {@link InferenceSession} computing an embedding lookup from a {@link ByteRangeReader}:
 * the same values as the graph it replaces, given the format's {@link RowDequantizer}. The reader is
 * closed with the session.
 */
export class EmbeddingLookupSession implements InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly supportsInPlaceOutputs = false;
  /**
   * Byte-range reads so far: one per distinct id of each run, plus, on the first run of a quantised
   * table, one for all its scales and one for all its zero points (kept in memory: 2 MB for
   * TinyLlama's 32000 × 16 float32 scales).
   */
  reads = 0;
  #scales: Promise<{ scales: Float32Array; zeroPoints?: Uint8Array }> | undefined;
  readonly #rowBytes: number;
  readonly #blocks: number;
  readonly #zpRow: number;
  #released = false;

  /**
   * @param name Names the table in error messages (e.g. the file).
   * @param dequantize Decodes a row of a `block-quantized` table (required for one).
   * @throws `E_CONFIG` when the layout is inconsistent or does not fit the file.
   */
  constructor(
    readonly layout: EmbeddingTableLayout,
    private readonly reader: ByteRangeReader,
    private readonly name: string,
    private readonly dequantize?: RowDequantizer,
  ) {
    const { rows, cols, encoding, bits, blockSize } = layout;
    const bad = (why: string): never => {
      throw new TinyLlamaError('E_CONFIG', `embedding table '${name}': ${why}`);
    };
    if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0)) bad(`invalid shape [${rows}, ${cols}]`);
    if (encoding === 'float32') {
      this.#rowBytes = cols * 4;
      this.#blocks = 0;
      this.#zpRow = 0;
    } else {
      if (bits !== 4 && bits !== 8) bad(`bits ${bits} (only 4 and 8)`);
      if (!blockSize || !Number.isInteger(blockSize) || blockSize < 1) bad(`block size ${blockSize}`);
      if (layout.scalesOffset === undefined) bad('no scales');
      if (!dequantize) bad('no row dequantizer for a block-quantized table');
      this.#rowBytes = Math.ceil((cols * bits!) / 8);
      this.#blocks = Math.ceil(cols / blockSize!);
      this.#zpRow = Math.ceil((this.#blocks * bits!) / 8);
      if (layout.scalesOffset! + rows * this.#blocks * 4 > reader.size) bad(`scales end past the file (${reader.size} bytes)`);
      if (layout.zeroPointsOffset !== undefined && layout.zeroPointsOffset + rows * this.#zpRow > reader.size) bad(`zero points end past the file (${reader.size} bytes)`);
    }
    if (layout.dataOffset + rows * this.#rowBytes > reader.size) bad(`rows end past the file (${reader.size} bytes)`);
    this.inputNames = [layout.inputName];
    this.outputNames = [layout.outputName];
  }

  /** The reader's {@link ByteRangeReader.kind}. */
  get source(): string | undefined {
    return this.reader.kind;
  }

  async run(feeds: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    if (this.#released) throw new TinyLlamaError('E_BACKEND', 'session was released');
    const { inputName, outputName, rows, cols } = this.layout;
    const ids = feeds[inputName];
    if (!ids) throw new TinyLlamaError('E_ARGUMENT', `missing input '${inputName}'`);
    if (ids.dtype !== 'int64' && ids.dtype !== 'int32') throw new TinyLlamaError('E_DTYPE', `input '${inputName}': expected int64 or int32 ids, got ${ids.dtype}`);
    const n = ids.data.length;
    const rowOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(ids.data[i]);
      const r = v < 0 ? v + rows : v;
      if (!(r >= 0 && r < rows)) throw new TinyLlamaError('E_ARGUMENT', `input '${inputName}': id ${v} out of range for ${rows} rows`);
      rowOf[i] = r;
    }
    // one read per distinct row, all in flight together
    const distinct = [...new Set(rowOf)];
    const values = new Map<number, Float32Array>();
    await Promise.all(distinct.map(async (r) => values.set(r, await this.#row(r))));
    const out = new Float32Array(n * cols); // [...ids.dims, cols]
    for (let i = 0; i < n; i++) out.set(values.get(rowOf[i]!)!, i * cols);
    return { [outputName]: { dtype: 'float32', dims: [...ids.dims, cols], data: out } };
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.reader.close();
  }

  /** Row `r` as float32 values. */
  async #row(r: number): Promise<Float32Array> {
    const { cols, encoding, dataOffset } = this.layout;
    const rb = this.#rowBytes;
    if (encoding === 'float32') {
      const bytes = await this.#read(dataOffset + r * rb, rb);
      const out = new Float32Array(cols);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    const nb = this.#blocks;
    const zpRow = this.#zpRow;
    this.#scales ??= this.#readScales().catch((e: unknown) => {
      this.#scales = undefined; // a failed read is tried again by the next run
      throw e;
    });
    const [codes, { scales, zeroPoints }] = await Promise.all([this.#read(dataOffset + r * rb, rb), this.#scales]);
    return this.dequantize!(codes, scales.subarray(r * nb, (r + 1) * nb), zeroPoints?.subarray(r * zpRow, (r + 1) * zpRow));
  }

  /** Every row's scales (and zero points), read once. */
  async #readScales(): Promise<{ scales: Float32Array; zeroPoints?: Uint8Array }> {
    const { rows, scalesOffset, zeroPointsOffset } = this.layout;
    const n = rows * this.#blocks;
    const [bytes, zeroPoints] = await Promise.all([
      this.#read(scalesOffset!, n * 4),
      zeroPointsOffset === undefined ? undefined : this.#read(zeroPointsOffset, rows * this.#zpRow),
    ]);
    const scales = new Float32Array(n);
    new Uint8Array(scales.buffer).set(bytes);
    return { scales, zeroPoints };
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.reader.read(offset, length);
    } catch (e) {
      throw new TinyLlamaError('E_IO', `embedding table '${this.name}': reading ${length} bytes at ${offset} failed: ${(e as Error).message}`, { cause: e });
    }
    if (bytes.length !== length) throw new TinyLlamaError('E_CORRUPT', `embedding table '${this.name}': ${bytes.length} of ${length} bytes at ${offset}`);
    this.reads += 1;
    return bytes;
  }
}
