/**
 * The block-wise quantisation kernel shared by MatMulNBits and GatherBlockQuantized.
 *
 * A row-major float32 matrix `[rows, cols]` is cut along `cols` into blocks of `blockSize` values (the
 * last block of a row is ragged when `cols % blockSize != 0`). Each block gets one float32 `scale` and
 * one unsigned integer zero point `zp` in `[0, 2^bits - 1]`, and each value one unsigned code `q`:
 *
 *     w ≈ scale * (q - zp)
 *
 * The arithmetic mirrors ONNX Runtime's own blockwise quantiser (MLAS `BlockwiseQuantizer`,
 * `range2scale` / `range2scalezp`, used by `matmul_nbits_quantizer.py`) in float32, so the codes are
 * the ones ORT itself would produce:
 * - symmetric: `m` = the block value of largest magnitude, sign kept; `scale = -m / 2^(bits-1)`, `zp =
 *   2^(bits-1)` (8 or 128, also the operators' default zero point when none is given). The largest
 *   magnitude lands exactly on code 0 (= -8 or -128 after the zero point), so the full `[-8, 7]` range
 *   is used on that side; values of the opposite sign beyond `7 * |scale|` are clamped to code 15 (255).
 * - asymmetric: the range is widened to include 0, `scale = (max - min) / (2^bits - 1)`,
 *   `zp = round(-min / scale)`, so 0.0 is exactly representable.
 * - `q = clamp(round(w * (1 / scale) + zp), 0, 2^bits - 1)`, ties away from zero (scale, zero point and
 *   `1 / scale` are computed in float32 exactly as MLAS does; see the row kernels for the one nuance).
 *
 * Packing: codes of one block are stored in order along `cols`; 8-bit codes one per byte, 4-bit codes
 * two per byte, **low nibble first** (element `2j` in bits 0-3, element `2j+1` in bits 4-7). Zero points
 * are packed the same way, one padded row of `ceil(blocksPerRow * bits / 8)` bytes per matrix row.
 */
import { TinyLlamaError } from '@tinyllama/core';
import { where, type QuantBits } from './validate.js';

/** Geometry of a block-quantised row-major matrix `[rows, cols]` with blocks along `cols`. */
export interface BlockGeometry {
  readonly rows: number;
  readonly cols: number;
  readonly bits: QuantBits;
  readonly blockSize: number;
  /** `ceil(cols / blockSize)`. */
  readonly blocksPerRow: number;
  /** Bytes of one full block: `blockSize * bits / 8`. */
  readonly blobSize: number;
  /**
   * Bytes per row of packed codes: `blocksPerRow * blobSize` when the ragged last block is padded to a
   * full blob (MatMulNBits), `cols * bits / 8` when rows are tight (GatherBlockQuantized).
   */
  readonly rowBytes: number;
  /** Bytes per row of packed zero points: `ceil(blocksPerRow * bits / 8)`. */
  readonly zeroPointRowBytes: number;
}

/** Packed codes, scales and (asymmetric only) zero points of a block-quantised matrix. */
export interface BlockQuantized {
  /** `[rows, rowBytes]` packed codes. */
  readonly data: Uint8Array;
  /** `[rows, blocksPerRow]` float32 scales. */
  readonly scales: Float32Array;
  /** `[rows, zeroPointRowBytes]` packed zero points; absent when symmetric (default zero point). */
  readonly zeroPoints?: Uint8Array;
}

/** Computes the geometry; `padded` pads the last block of each row to a full blob. */
export function blockGeometry(rows: number, cols: number, bits: QuantBits, blockSize: number, padded: boolean): BlockGeometry {
  const blocksPerRow = Math.ceil(cols / blockSize);
  const blobSize = (blockSize * bits) / 8;
  return {
    rows,
    cols,
    bits,
    blockSize,
    blocksPerRow,
    blobSize,
    rowBytes: padded ? blocksPerRow * blobSize : Math.ceil((cols * bits) / 8),
    zeroPointRowBytes: Math.ceil((blocksPerRow * bits) / 8),
  };
}

/** The default zero point of the operators: 2^(bits-1). */
export function defaultZeroPoint(bits: QuantBits): number {
  return bits === 4 ? 8 : 128;
}

/**
 * Quantises `src` ([rows, cols] row-major float32). With `padTail`, the unused tail of each row's last
 * blob is filled with the block's zero point, so padding dequantises to exactly 0. Throws `E_ARGUMENT`
 * on a NaN or infinite weight, naming the row and block.
 */
export function quantizeBlocks(
  src: Float32Array,
  geo: BlockGeometry,
  symmetric: boolean,
  padTail: boolean,
  fn: string,
  name: string | undefined,
  scaleSearch = false,
): BlockQuantized {
  const { rows, bits, blocksPerRow, rowBytes, zeroPointRowBytes } = geo;
  if (scaleSearch && !symmetric) throw new TinyLlamaError('E_UNSUPPORTED', `${where(fn, name)}: the scale search is for symmetric quantisation only`);
  const out: MutableBlockQuantized = {
    data: new Uint8Array(rows * rowBytes),
    scales: new Float32Array(rows * blocksPerRow),
    zeroPoints: symmetric ? undefined : new Uint8Array(rows * zeroPointRowBytes),
  };
  const bad = scaleSearch ? quantizeRowsSearched(src, geo, padTail, out) : bits === 4 ? quantizeRows4(src, geo, padTail, out) : quantizeRows8(src, geo, padTail, out);
  if (bad >= 0) {
    const r = Math.floor(bad / blocksPerRow);
    const k0 = (bad % blocksPerRow) * geo.blockSize;
    const k1 = Math.min(k0 + geo.blockSize, geo.cols) - 1;
    throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: non-finite weight (NaN or Infinity) in row ${r}, elements ${k0}..${k1}`);
  }
  return out.zeroPoints === undefined ? { data: out.data, scales: out.scales } : (out as BlockQuantized);
}

interface MutableBlockQuantized {
  readonly data: Uint8Array;
  readonly scales: Float32Array;
  readonly zeroPoints: Uint8Array | undefined;
}

/** float32's smallest normal number: blocks whose scale would fall below it are quantised to zero. */
const FLT_MIN = 1.1754943508222875e-38;

/** Magnitude bits of float32 Infinity; NaNs are above. */
const NON_FINITE = 0x7f800000;

// The two row kernels below are deliberately monomorphic and branch-light: they run over every weight
// of the model.
// Pass 1 finds a block's range from the float32 bit patterns: for the asymmetric range [min(w, 0),
// max(w, 0)] and MLAS's symmetric pick only the largest positive and the largest negative magnitude
// matter, and magnitude bits compare like the magnitudes (a NaN or an Infinity shows as bits >= 0x7f800000).
// Pass 2 writes t = trunc(w * inv + zp + 0.5). By construction of scale and zero point,
// w * inv + zp lies in [-0.5 - tiny, qmax + 1.5 + tiny] (the top only for the clamped opposite side
// of a symmetric block), so t is in [0, qmax + 1] and `t - (t >> bits)` is the clamp to qmax:
// round-half-up of a non-negative value, i.e. C's roundf, then clamp -- MLAS's formula. (MLAS rounds
// `w * inv` to float32 before adding the zero point; the code can differ by one only where `w / scale`
// lies within float32 rounding of a .5 tie, keeping the error within scale/2 + 1 ulp.)
// Both return the index (row * blocksPerRow + block) of the first block with a non-finite value, or -1.

/** One block's quantisation parameters (a reused scratch object: no allocation per block). */
interface BlockParams {
  scale: number;
  inv: number;
  zp: number;
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Int32Array(scratchFloat.buffer);

/**
 * Pass 1 of a block `srcBits[start, end)` (float32 bit patterns) and its parameters for codes 0..qmax
 * (15 or 255), written to `p` in float32 as MLAS computes them. Returns false on a NaN or Infinity.
 */
function blockParams(srcBits: Int32Array, start: number, end: number, qmax: number, symmetric: boolean, p: BlockParams): boolean {
  const fround = Math.fround;
  // The largest magnitude among positive and among negative values, as float32 bit patterns (|w| bits
  // are monotonic in |w|): branch-free integer max, no mispredictions.
  let pos = 0;
  let neg = 0;
  for (let i = start; i < end; i++) {
    const bitsI = srcBits[i];
    const mag = bitsI & 0x7fffffff;
    const sign = bitsI >> 31; // -1 for a negative value, else 0
    const dp = (mag & ~sign) - pos;
    pos += dp & ~(dp >> 31);
    const dn = (mag & sign) - neg;
    neg += dn & ~(dn >> 31);
  }
  if (pos >= NON_FINITE || neg >= NON_FINITE) return false;
  scratchBits[0] = pos;
  const hi = scratchFloat[0]; // largest value, or 0 when none is positive
  scratchBits[0] = neg;
  const lo = -scratchFloat[0]; // smallest value, or -0 when none is negative
  const half = (qmax + 1) / 2; // 8 or 128: the symmetric zero point
  let scale: number;
  let zp: number;
  if (symmetric) {
    // MLAS: max = |max| > |min| ? max : min -- the negative one on a tie.
    scale = fround(-(neg >= pos ? lo : hi) / half);
    zp = half;
  } else {
    scale = fround(fround(hi - lo) / qmax);
    const z = scale !== 0 ? -fround(lo / scale) : 0;
    zp = z <= 0 ? 0 : z >= qmax ? qmax : Math.floor(z + 0.5);
  }
  let inv = fround(1 / scale);
  if (!(Math.abs(scale) >= FLT_MIN)) {
    // All-zero block, or one so tiny (< 1e-37) that 1 / scale would overflow: every code = zp.
    scale = 0;
    inv = 0;
    zp = symmetric ? half : 0;
  }
  p.scale = scale;
  p.inv = inv;
  p.zp = zp;
  return true;
}

function quantizeRows4(src: Float32Array, geo: BlockGeometry, padTail: boolean, out: MutableBlockQuantized): number {
  const { rows, cols, blockSize, blocksPerRow: nb, blobSize, rowBytes, zeroPointRowBytes: zpRow } = geo;
  const { data, scales, zeroPoints } = out;
  const symmetric = zeroPoints === undefined;
  const srcBits = new Int32Array(src.buffer, src.byteOffset, src.length);
  const p: BlockParams = { scale: 0, inv: 0, zp: 0 };
  for (let r = 0; r < rows; r++) {
    const rowIn = r * cols;
    const rowEnd = rowIn + cols;
    const rowOut = r * rowBytes;
    for (let b = 0; b < nb; b++) {
      const start = rowIn + b * blockSize;
      const end = start + blockSize < rowEnd ? start + blockSize : rowEnd;
      if (!blockParams(srcBits, start, end, 15, symmetric, p)) return r * nb + b;
      const { scale, inv, zp } = p;
      const bias = zp + 0.5;
      scales[r * nb + b] = scale;
      if (!symmetric) zeroPoints[r * zpRow + (b >> 1)] |= zp << ((b & 1) << 2);
      // Pass 2: codes, four per step, then the pairs left.
      let o = rowOut + b * blobSize;
      let i = start;
      for (; i + 3 < end; i += 4) {
        const t0 = (src[i] * inv + bias) | 0;
        const t1 = (src[i + 1] * inv + bias) | 0;
        const t2 = (src[i + 2] * inv + bias) | 0;
        const t3 = (src[i + 3] * inv + bias) | 0;
        data[o] = (t0 - (t0 >> 4)) | ((t1 - (t1 >> 4)) << 4);
        data[o + 1] = (t2 - (t2 >> 4)) | ((t3 - (t3 >> 4)) << 4);
        o += 2;
      }
      for (; i + 1 < end; i += 2) {
        const t0 = (src[i] * inv + bias) | 0;
        const t1 = (src[i + 1] * inv + bias) | 0;
        data[o++] = (t0 - (t0 >> 4)) | ((t1 - (t1 >> 4)) << 4);
      }
      if (i < end) {
        // Odd-length block: the high nibble is padding and holds the zero point (dequantises to 0).
        const t0 = (src[i] * inv + bias) | 0;
        data[o++] = (t0 - (t0 >> 4)) | (zp << 4);
      }
      if (padTail) {
        const fill = zp | (zp << 4);
        for (const stop = rowOut + (b + 1) * blobSize; o < stop; o++) data[o] = fill;
      }
    }
  }
  return -1;
}

function quantizeRows8(src: Float32Array, geo: BlockGeometry, padTail: boolean, out: MutableBlockQuantized): number {
  const { rows, cols, blockSize, blocksPerRow: nb, blobSize, rowBytes, zeroPointRowBytes: zpRow } = geo;
  const { data, scales, zeroPoints } = out;
  const symmetric = zeroPoints === undefined;
  const srcBits = new Int32Array(src.buffer, src.byteOffset, src.length);
  const p: BlockParams = { scale: 0, inv: 0, zp: 0 };
  for (let r = 0; r < rows; r++) {
    const rowIn = r * cols;
    const rowEnd = rowIn + cols;
    const rowOut = r * rowBytes;
    for (let b = 0; b < nb; b++) {
      const start = rowIn + b * blockSize;
      const end = start + blockSize < rowEnd ? start + blockSize : rowEnd;
      if (!blockParams(srcBits, start, end, 255, symmetric, p)) return r * nb + b;
      const { scale, inv, zp } = p;
      const bias = zp + 0.5;
      scales[r * nb + b] = scale;
      if (!symmetric) zeroPoints[r * zpRow + b] = zp;
      // Pass 2: codes, four per step, then the rest.
      let o = rowOut + b * blobSize;
      let i = start;
      for (; i + 3 < end; i += 4) {
        const t0 = (src[i] * inv + bias) | 0;
        const t1 = (src[i + 1] * inv + bias) | 0;
        const t2 = (src[i + 2] * inv + bias) | 0;
        const t3 = (src[i + 3] * inv + bias) | 0;
        data[o] = t0 - (t0 >> 8);
        data[o + 1] = t1 - (t1 >> 8);
        data[o + 2] = t2 - (t2 >> 8);
        data[o + 3] = t3 - (t3 >> 8);
        o += 4;
      }
      for (; i < end; i++) {
        const t = (src[i] * inv + bias) | 0;
        data[o++] = t - (t >> 8);
      }
      if (padTail) for (const stop = rowOut + (b + 1) * blobSize; o < stop; o++) data[o] = zp;
    }
  }
  return -1;
}

/**
 * The search's candidate scales, as factors of the round-to-nearest scale: a coarse pass over 0.75 ..
 * 0.95 (1 is round to nearest itself), then the two neighbours 0.025 either side of the best. Below 1
 * the largest values clip to the end code and the rest of the block gets finer steps.
 */
const SEARCH_COARSE = [0.75, 0.8, 0.85, 0.9, 0.95];
const SEARCH_FINE = 0.025;

/**
 * Symmetric quantisation with a searched scale (`scaleSearch`): per block, the scale among
 * {@link SEARCH_COARSE} (and then {@link SEARCH_FINE}) × the round-to-nearest scale with the least
 * squared error, then refitted by least squares on its codes (kept when that lowers the error). Codes are `clamp(round(w / scale) + zp,
 * 0, qmax)`, the layout is the round-to-nearest kernels'. Returns the first non-finite block, or -1.
 */
function quantizeRowsSearched(src: Float32Array, geo: BlockGeometry, padTail: boolean, out: MutableBlockQuantized): number {
  const { rows, cols, bits, blockSize, blocksPerRow: nb, blobSize, rowBytes } = geo;
  const { data, scales } = out;
  const qmax = bits === 4 ? 15 : 255;
  const zp = (qmax + 1) / 2;
  const srcBits = new Int32Array(src.buffer, src.byteOffset, src.length);
  const p: BlockParams = { scale: 0, inv: 0, zp: 0 };
  const fround = Math.fround;
  for (let r = 0; r < rows; r++) {
    const rowIn = r * cols;
    const rowEnd = rowIn + cols;
    for (let b = 0; b < nb; b++) {
      const start = rowIn + b * blockSize;
      const end = start + blockSize < rowEnd ? start + blockSize : rowEnd;
      if (!blockParams(srcBits, start, end, qmax, true, p)) return r * nb + b;
      let best = p.scale;
      if (best !== 0) {
        let bestErr = blockError(src, start, end, best, zp, qmax);
        let bestF = 1;
        for (let k = 0; k < SEARCH_COARSE.length; k++) {
          const sc = fround(p.scale * SEARCH_COARSE[k]!);
          const e = blockError(src, start, end, sc, zp, qmax);
          if (e < bestErr) {
            bestErr = e;
            best = sc;
            bestF = SEARCH_COARSE[k]!;
          }
        }
        for (const f of [bestF - SEARCH_FINE, bestF + SEARCH_FINE]) {
          const sc = fround(p.scale * f);
          const e = blockError(src, start, end, sc, zp, qmax);
          if (e < bestErr) {
            bestErr = e;
            best = sc;
          }
        }
        const fit = leastSquaresScale(src, start, end, best, zp, qmax);
        if (Math.abs(fit) >= FLT_MIN && blockError(src, start, end, fit, zp, qmax) < bestErr) best = fit;
      }
      scales[r * nb + b] = best;
      const inv = best === 0 ? 0 : fround(1 / best);
      const o = r * rowBytes + b * blobSize;
      if (bits === 8) {
        for (let i = start; i < end; i++) data[o + i - start] = searchedCode(src[i]!, inv, zp, qmax);
        if (padTail) data.fill(zp, o + end - start, o + blobSize);
      } else {
        for (let i = start; i < end; i++) {
          const c = searchedCode(src[i]!, inv, zp, qmax);
          const j = i - start;
          data[o + (j >> 1)] |= (j & 1) === 0 ? c : c << 4;
        }
        const n = end - start;
        if ((n & 1) === 1) data[o + (n >> 1)] |= zp << 4; // odd block: the high nibble is padding
        if (padTail) data.fill(zp | (zp << 4), o + ((n + 1) >> 1), o + blobSize);
      }
    }
  }
  return -1;
}

/** `clamp(round(w / scale) + zp, 0, qmax)` with `inv = 1 / scale` (0 for an all-zero block: code zp). */
function searchedCode(w: number, inv: number, zp: number, qmax: number): number {
  const t = (w * inv + zp + 0.5) | 0; // truncation = floor here: anything below 0 clamps to 0 anyway
  return t < 0 ? 0 : t > qmax ? qmax : t;
}

/** Squared error of the block [start, end) quantised with `scale` (float32 dequantisation, as the ops). */
function blockError(src: Float32Array, start: number, end: number, scale: number, zp: number, qmax: number): number {
  const fround = Math.fround;
  const inv = fround(1 / scale);
  let e = 0;
  for (let i = start; i < end; i++) {
    const w = src[i]!;
    const d = w - fround(scale * (searchedCode(w, inv, zp, qmax) - zp));
    e += d * d;
  }
  return e;
}

/** The least-squares scale for the codes `scale` gives: sum(w q') / sum(q'^2), q' = q - zp. */
function leastSquaresScale(src: Float32Array, start: number, end: number, scale: number, zp: number, qmax: number): number {
  const inv = Math.fround(1 / scale);
  let wq = 0;
  let qq = 0;
  for (let i = start; i < end; i++) {
    const w = src[i]!;
    const q = searchedCode(w, inv, zp, qmax) - zp;
    wq += w * q;
    qq += q * q;
  }
  return qq > 0 ? Math.fround(wq / qq) : 0;
}

/**
 * Dequantises row `r` (`cols` values) into `out` from `outOff`: `(q - zp) * scale` in float32. The
 * row's codes start at byte `rowStart` of `data`, block `b`'s at `rowStart + b * blobSize`; its scales
 * at `scales[scaleOff + b]`; zero points (absent: the default 2^(bits-1)) are packed with
 * `zeroPointRowBytes` bytes per row. Shared by this package's dequantisers and the reference kernels of
 * the operators (`@tinyllama/backend-wasm`).
 */
export function dequantizeBlockRow(
  data: Uint8Array,
  rowStart: number,
  scales: Float32Array,
  scaleOff: number,
  zeroPoints: Uint8Array | undefined,
  r: number,
  geo: Pick<BlockGeometry, 'cols' | 'bits' | 'blockSize' | 'blobSize' | 'zeroPointRowBytes'>,
  out: Float32Array,
  outOff = 0,
): void {
  const { cols, bits, blockSize, blobSize, zeroPointRowBytes: zpRow } = geo;
  const nb = Math.ceil(cols / blockSize);
  const mid = defaultZeroPoint(bits);
  for (let b = 0; b < nb; b++) {
    const scale = scales[scaleOff + b]!;
    let zp = mid;
    if (zeroPoints !== undefined) {
      zp = bits === 8 ? zeroPoints[r * zpRow + b]! : (zeroPoints[r * zpRow + (b >> 1)]! >> ((b & 1) << 2)) & 15;
    }
    const k0 = b * blockSize;
    const len = Math.min(blockSize, cols - k0);
    const dst = outOff + k0;
    const src = rowStart + b * blobSize;
    if (bits === 8) {
      for (let j = 0; j < len; j++) out[dst + j] = (data[src + j]! - zp) * scale;
    } else {
      for (let j = 0; j < len; j++) {
        const byte = data[src + (j >> 1)]!;
        out[dst + j] = (((j & 1) === 0 ? byte & 15 : byte >> 4) - zp) * scale;
      }
    }
  }
}

/** Dequantises packed codes back to a row-major float32 `[rows, cols]` (padding is skipped). */
export function dequantizeBlocks(q: BlockQuantized, geo: BlockGeometry): Float32Array {
  const { rows, cols, blocksPerRow: nb, rowBytes } = geo;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) dequantizeBlockRow(q.data, r * rowBytes, q.scales, r * nb, q.zeroPoints, r, geo, out, r * cols);
  return out;
}
