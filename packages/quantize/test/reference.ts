/**
 * Plain, deliberately naive reference implementations for the tests: per-element loops with no
 * packing tricks, written independently of src/. Codes are computed first (unpacked, one number per
 * weight), then packed by an explicit nibble rule, so each step can be read and checked by eye.
 */

const f = Math.fround;

/** Deterministic pseudo-random float32 values in [-amp, amp) (LCG; same output on every run). */
export function randomWeights(n: number, seed: number, amp = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * amp;
  }
  return out;
}

/** Block parameters as documented: float32 scale, integer zero point. */
export function refBlockParams(values: number[], bits: 4 | 8, symmetric: boolean): { scale: number; zp: number } {
  const qmax = 2 ** bits - 1;
  const mid = 2 ** (bits - 1);
  const mn = Math.min(...values);
  const mx = Math.max(...values);
  if (symmetric) {
    // The value of largest magnitude, sign kept, maps to code 0 (= -mid after the zero point).
    const m = Math.abs(mx) > Math.abs(mn) ? mx : mn;
    const scale = f(-m / mid);
    return Math.abs(scale) < 1.1754943508222875e-38 ? { scale: 0, zp: mid } : { scale, zp: mid };
  }
  const lo = Math.min(mn, 0);
  const hi = Math.max(mx, 0);
  const scale = f(f(hi - lo) / qmax);
  if (Math.abs(scale) < 1.1754943508222875e-38) return { scale: 0, zp: 0 };
  const zp = Math.min(qmax, Math.max(0, Math.floor(-f(lo / scale) + 0.5)));
  return { scale, zp };
}

/** The code of one value: round-half-up of w * (1/scale) + zp, clamped to [0, qmax]. */
export function refCode(w: number, scale: number, zp: number, bits: 4 | 8): number {
  const qmax = 2 ** bits - 1;
  const inv = scale === 0 ? 0 : f(1 / scale);
  return Math.min(qmax, Math.max(0, Math.floor(w * inv + zp + 0.5)));
}

/** Unpacked block quantisation of a row-major [rows, cols] matrix along cols. */
export function refQuantize(w: Float32Array, rows: number, cols: number, bits: 4 | 8, blockSize: number, symmetric: boolean) {
  const nb = Math.ceil(cols / blockSize);
  const codes: number[][] = []; // [rows][cols]
  const scales: number[][] = []; // [rows][nb]
  const zps: number[][] = []; // [rows][nb]
  for (let r = 0; r < rows; r++) {
    const rowCodes: number[] = [];
    const rowScales: number[] = [];
    const rowZps: number[] = [];
    for (let b = 0; b < nb; b++) {
      const values: number[] = [];
      for (let c = b * blockSize; c < Math.min(cols, (b + 1) * blockSize); c++) values.push(w[r * cols + c]);
      const { scale, zp } = refBlockParams(values, bits, symmetric);
      rowScales.push(scale);
      rowZps.push(zp);
      for (const v of values) rowCodes.push(refCode(v, scale, zp, bits));
    }
    codes.push(rowCodes);
    scales.push(rowScales);
    zps.push(rowZps);
  }
  return { codes, scales, zps, nb };
}

/**
 * Packs a list of codes into bytes: 8 bits one per byte; 4 bits two per byte with element 2j in the
 * LOW nibble and element 2j+1 in the HIGH nibble (ORT's "first 4 bits in the lower 4 bits").
 */
export function refPack(codes: readonly number[], bits: 4 | 8): number[] {
  if (bits === 8) return [...codes];
  const bytes: number[] = [];
  for (let j = 0; j < codes.length; j += 2) {
    const low = codes[j];
    const high = j + 1 < codes.length ? codes[j + 1] : 0;
    bytes.push(low + 16 * high);
  }
  return bytes;
}

/** Reference MatMulNBits B: per row, per block, the block's codes padded with the zero point to blockSize. */
export function refMatMulNBitsB(q: ReturnType<typeof refQuantize>, cols: number, bits: 4 | 8, blockSize: number): number[] {
  const out: number[] = [];
  q.codes.forEach((rowCodes, r) => {
    for (let b = 0; b < q.nb; b++) {
      const block = rowCodes.slice(b * blockSize, Math.min(cols, (b + 1) * blockSize));
      while (block.length < blockSize) block.push(q.zps[r][b]);
      out.push(...refPack(block, bits));
    }
  });
  return out;
}

/** Reference packed zero points: per row, the row's zero points packed (odd count: high nibble 0). */
export function refZeroPoints(q: ReturnType<typeof refQuantize>, bits: 4 | 8): number[] {
  return q.zps.flatMap((row) => refPack(row, bits));
}

/** Dequantises unpacked codes: scale * (q - zp) in float32. */
export function refDequantize(q: ReturnType<typeof refQuantize>, rows: number, cols: number, blockSize: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const b = Math.floor(c / blockSize);
      out[r * cols + c] = (q.codes[r][c] - q.zps[r][b]) * q.scales[r][b];
    }
  }
  return out;
}

/** Y[m, n] = sum_k A[m, k] * W[n, k] in float64 (W in Hugging Face [out, in] layout). */
export function refMatMulT(A: Float32Array, W: Float32Array, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[m * K + k] * W[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

/** max |got - want| / max |want| (0 when both are all zero). */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    ref = Math.max(ref, Math.abs(want[i]));
  }
  return ref === 0 ? diff : diff / ref;
}
