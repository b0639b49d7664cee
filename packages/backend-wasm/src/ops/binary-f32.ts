/**
 * Fast paths of the float32 arithmetic operators (Add, Sub, Mul, Div) for the broadcasts decoder
 * graphs use: identical shapes, a scalar, a row vector along the trailing axes (`[.., L] op [L]`) and
 * a column along the leading axes (`[R, L] op [R, 1]`). Each is a tight loop over rows of the output
 * with one monomorphic loop function per operator: no per-element index arithmetic or closure calls.
 * Results are bit-identical to the generic path (one float64 operation rounded to float32).
 */
import { numel } from '@tinyllama/core';

/** The float32 binary operators with a fast path. */
export type BinaryF32Op = 'Add' | 'Sub' | 'Mul' | 'Div';

/**
 * `out[o + i] = x[xo + i * xs] OP y[yo + i * ys]` for `i < len`; `xs`, `ys` are 0 (broadcast) or 1.
 */
type RowLoop = (out: Float32Array, o: number, x: Float32Array, xo: number, xs: number, y: Float32Array, yo: number, ys: number, len: number) => void;

function addRow(out: Float32Array, o: number, x: Float32Array, xo: number, xs: number, y: Float32Array, yo: number, ys: number, len: number): void {
  if (xs === 1 && ys === 1) {
    for (let i = 0; i < len; i++) out[o + i] = x[xo + i] + y[yo + i];
  } else if (ys === 0) {
    const c = y[yo];
    for (let i = 0, j = xo; i < len; i++, j += xs) out[o + i] = x[j] + c;
  } else {
    const c = x[xo];
    for (let i = 0, j = yo; i < len; i++, j += ys) out[o + i] = c + y[j];
  }
}

function subRow(out: Float32Array, o: number, x: Float32Array, xo: number, xs: number, y: Float32Array, yo: number, ys: number, len: number): void {
  if (xs === 1 && ys === 1) {
    for (let i = 0; i < len; i++) out[o + i] = x[xo + i] - y[yo + i];
  } else if (ys === 0) {
    const c = y[yo];
    for (let i = 0, j = xo; i < len; i++, j += xs) out[o + i] = x[j] - c;
  } else {
    const c = x[xo];
    for (let i = 0, j = yo; i < len; i++, j += ys) out[o + i] = c - y[j];
  }
}

function mulRow(out: Float32Array, o: number, x: Float32Array, xo: number, xs: number, y: Float32Array, yo: number, ys: number, len: number): void {
  if (xs === 1 && ys === 1) {
    for (let i = 0; i < len; i++) out[o + i] = x[xo + i] * y[yo + i];
  } else if (ys === 0) {
    const c = y[yo];
    for (let i = 0, j = xo; i < len; i++, j += xs) out[o + i] = x[j] * c;
  } else {
    const c = x[xo];
    for (let i = 0, j = yo; i < len; i++, j += ys) out[o + i] = c * y[j];
  }
}

function divRow(out: Float32Array, o: number, x: Float32Array, xo: number, xs: number, y: Float32Array, yo: number, ys: number, len: number): void {
  if (xs === 1 && ys === 1) {
    for (let i = 0; i < len; i++) out[o + i] = x[xo + i] / y[yo + i];
  } else if (ys === 0) {
    const c = y[yo];
    for (let i = 0, j = xo; i < len; i++, j += xs) out[o + i] = x[j] / c;
  } else {
    const c = x[xo];
    for (let i = 0, j = yo; i < len; i++, j += ys) out[o + i] = c / y[j];
  }
}

const ROW_LOOPS: Readonly<Record<BinaryF32Op, RowLoop>> = { Add: addRow, Sub: subRow, Mul: mulRow, Div: divRow };

/**
 * How an operand maps onto the output viewed as `[R, L]`: `full` (its own `[R, L]`), `scalar`, `row`
 * (an `[L]` vector repeated over rows; `L` = its element count) or `col` (an `[R]` vector repeated
 * along each row; `R` = its element count).
 */
type Kind = 'full' | 'scalar' | 'row' | 'col';

/** The operand's {@link Kind} for output dims `out` (already broadcast-checked), or undefined. */
function kindOf(dims: readonly number[], count: number, out: readonly number[], n: number): Kind | undefined {
  if (count === n) return 'full';
  if (count === 1) return 'scalar';
  const R = out.length;
  const off = R - dims.length;
  // padded dims: 1 on axes [0, off)
  let first = -1;
  let last = -1;
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] !== 1) {
      if (first < 0) first = off + i;
      last = off + i;
    }
  }
  const at = (a: number) => (a < off ? 1 : dims[a - off]);
  let row = true;
  for (let a = first; a < R; a++) if (at(a) !== out[a]) row = false;
  if (row) return 'row';
  let col = true;
  for (let a = 0; a <= last; a++) if (at(a) !== out[a]) col = false;
  return col ? 'col' : undefined;
}

/** Offset per output row and per element of an operand of a kind, for rows of length `L`. */
function strides(kind: Kind, L: number): [rowStride: number, elemStride: number] {
  switch (kind) {
    case 'full':
      return [L, 1];
    case 'scalar':
      return [0, 0];
    case 'row':
      return [0, 1];
    case 'col':
      return [1, 0];
  }
}

/**
 * `a OP b` for float32 operands when their broadcast is a fast-path case (see the module comment);
 * `dims` is the already-checked broadcast shape. Returns undefined for any other broadcast.
 */
export function binaryF32(op: BinaryF32Op, a: Float32Array, aDims: readonly number[], b: Float32Array, bDims: readonly number[], dims: readonly number[]): Float32Array | undefined {
  const n = numel(dims);
  if (n === 0) return new Float32Array(0);
  const ka = kindOf(aDims, a.length, dims, n);
  const kb = kindOf(bDims, b.length, dims, n);
  if (ka === undefined || kb === undefined) return undefined;
  // row length L: from a row operand, else from a column operand, else the whole tensor
  let L = 0;
  for (const [k, count] of [[ka, a.length], [kb, b.length]] as const) {
    if (k === 'row') {
      if (L !== 0 && L !== count) return undefined;
      L = count;
    }
  }
  for (const [k, count] of [[ka, a.length], [kb, b.length]] as const) {
    if (k === 'col') {
      const inner = n / count;
      if (L !== 0 && L !== inner) return undefined;
      L = inner;
    }
  }
  if (L === 0) L = n;
  const rows = n / L;
  const [ar, as] = strides(ka, L);
  const [br, bs] = strides(kb, L);
  const out = new Float32Array(n);
  const loop = ROW_LOOPS[op];
  for (let r = 0; r < rows; r++) loop(out, r * L, a, r * ar, as, b, r * br, bs, L);
  return out;
}
