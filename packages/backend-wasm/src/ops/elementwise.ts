/**
 * Element-wise operators with numpy broadcasting: arithmetic (Add, Sub, Mul, Div, Pow), unary math
 * (Sqrt, Neg, Sigmoid), comparisons and logic (Equal, LessOrEqual, And, Where) and Cast.
 */
import { f16ToF32, f32ToF16, numel, type DType, type HostTensor } from '@tinyllama/core';
import type { OpKernel } from './types.js';
import { binaryF32, type BinaryF32Op } from './binary-f32.js';
import { alloc, broadcastOffsets, broadcastShapes, dtypeError, input, intAttr, tensor, unsupported, type Indexable } from './util.js';

type NumFn = (a: number, b: number) => number;
type BigFn = (a: bigint, b: bigint) => bigint;

/** Runs `f` over broadcast pairs: `f(outIndex, aIndex, bIndex)` for every output element. */
function zip2(a: HostTensor, b: HostTensor, outDims: readonly number[], f: (o: number, i: number, j: number) => void): void {
  const n = numel(outDims);
  const oa = broadcastOffsets(a.dims, outDims);
  const ob = broadcastOffsets(b.dims, outDims);
  const aScalar = a.data.length === 1;
  const bScalar = b.data.length === 1;
  for (let e = 0; e < n; e++) f(e, aScalar ? 0 : oa === undefined ? e : oa[e], bScalar ? 0 : ob === undefined ? e : ob[e]);
}

function arithmetic(op: string, fnum: NumFn, fint: NumFn, fbig: BigFn, fast?: BinaryF32Op): OpKernel {
  return (inputs) => {
    const a = input(op, inputs, 0, 'A');
    const b = input(op, inputs, 1, 'B');
    if (a.dtype !== b.dtype) dtypeError(op, `input types differ: ${a.dtype} and ${b.dtype}`);
    const dims = broadcastShapes(op, [a.dims, b.dims]);
    const dt = a.dtype;
    if (fast !== undefined && dt === 'float32') {
      // same shape, scalar, row or column broadcast: tight loops (binary-f32.ts)
      const out = binaryF32(fast, a.data as Float32Array, a.dims, b.data as Float32Array, b.dims, dims);
      if (out !== undefined) return [tensor(dt, dims, out)];
    }
    const n = numel(dims);
    if (dt === 'float32' || dt === 'float64') {
      const out = dt === 'float32' ? new Float32Array(n) : new Float64Array(n);
      const x = a.data as Float32Array;
      const y = b.data as Float32Array;
      if (x.length === n && y.length === n && a.dims.length === b.dims.length) {
        for (let i = 0; i < n; i++) out[i] = fnum(x[i], y[i]);
      } else {
        zip2(a, b, dims, (o, i, j) => {
          out[o] = fnum(x[i], y[j]);
        });
      }
      return [tensor(dt, dims, out)];
    }
    if (dt === 'int64') {
      const out = new BigInt64Array(n);
      const x = a.data as BigInt64Array;
      const y = b.data as BigInt64Array;
      zip2(a, b, dims, (o, i, j) => {
        out[o] = BigInt.asIntN(64, fbig(x[i], y[j]));
      });
      return [tensor(dt, dims, out)];
    }
    if (dt === 'int32' || dt === 'int16' || dt === 'int8' || dt === 'uint8') {
      const out = alloc(dt, n) as Int32Array;
      const x = a.data as Int32Array;
      const y = b.data as Int32Array;
      zip2(a, b, dims, (o, i, j) => {
        out[o] = fint(x[i], y[j]);
      });
      return [tensor(dt, dims, out)];
    }
    return dtypeError(op, `unsupported element type ${dt}`);
  };
}

function bigPow(a: bigint, b: bigint): bigint {
  if (b < 0n) return a === 1n ? 1n : a === -1n ? (b % 2n === 0n ? 1n : -1n) : 0n;
  return a ** b;
}

/** `Add`: A + B with broadcasting (float32, float64, int64, int32). */
export const add: OpKernel = arithmetic('Add', (a, b) => a + b, (a, b) => a + b, (a, b) => a + b, 'Add');
/** `Sub`: A - B with broadcasting. */
export const sub: OpKernel = arithmetic('Sub', (a, b) => a - b, (a, b) => a - b, (a, b) => a - b, 'Sub');
/** `Mul`: A * B with broadcasting. */
export const mul: OpKernel = arithmetic('Mul', (a, b) => a * b, (a, b) => Math.imul(a, b), (a, b) => a * b, 'Mul');
/** `Div`: A / B with broadcasting (integer division truncates toward zero, as onnxruntime does). */
export const div: OpKernel = arithmetic(
  'Div',
  (a, b) => a / b,
  (a, b) => Math.trunc(a / b),
  (a, b) => a / b,
  'Div',
);

const powSameType: OpKernel = arithmetic('Pow', powF, (x, y) => Math.trunc(x ** y), bigPow);

/**
 * `Pow`: X ^ Y with broadcasting. Same-typed operands (float32, int64, int32), or a float32 X with an
 * exponent of another numeric type (converted to float32); the output has X's type.
 */
export const pow: OpKernel = (inputs) => {
  const op = 'Pow';
  const a = input(op, inputs, 0, 'X');
  const b = input(op, inputs, 1, 'Y');
  if (a.dtype === b.dtype) return powSameType(inputs, {});
  if (a.dtype !== 'float32') dtypeError(op, `unsupported types ${a.dtype} ^ ${b.dtype}`);
  return powSameType([a, tensor('float32', b.dims, toFloat32(b))], {});
};

function powF(a: number, b: number): number {
  // Exponent 2 exactly as a product (what onnxruntime's float kernel special-cases).
  return b === 2 ? a * a : b === 0.5 ? Math.sqrt(a) : Math.pow(a, b);
}

function unaryFloat(op: string, f: (x: number) => number): OpKernel {
  return (inputs) => {
    const x = input(op, inputs, 0, 'X');
    if (x.dtype !== 'float32') {
      if (op === 'Neg' && x.dtype === 'int64') {
        const d = x.data as BigInt64Array;
        const out = new BigInt64Array(d.length);
        for (let i = 0; i < d.length; i++) out[i] = BigInt.asIntN(64, -d[i]);
        return [tensor('int64', x.dims, out)];
      }
      if (op === 'Neg' && x.dtype === 'int32') {
        const d = x.data as Int32Array;
        const out = new Int32Array(d.length);
        for (let i = 0; i < d.length; i++) out[i] = -d[i] | 0;
        return [tensor('int32', x.dims, out)];
      }
      dtypeError(op, `unsupported element type ${x.dtype}`);
    }
    const d = x.data as Float32Array;
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = f(d[i]);
    return [tensor('float32', x.dims, out)];
  };
}

/** `Sqrt` (float32). */
export const sqrt: OpKernel = unaryFloat('Sqrt', Math.sqrt);
/** `Neg` (float32, int64, int32). */
export const neg: OpKernel = unaryFloat('Neg', (x) => -x);
/** 2^(m - 160) for m in [0, 160] and 2^(j / 32) for j in [0, 32): the scale of exp in {@link sigmoid}. */
const POW2_NEG = Float64Array.from({ length: 161 }, (_, m) => 2 ** (m - 160));
const POW2_FRAC = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));
const INV_LN2_32 = 32 / Math.LN2;
const LN2_32_HI = 0.6931471803691238 / 32; // ln2 / 32 split in two (Cody-Waite): k * LN2_32_HI is exact
const LN2_32_LO = 1.9082149292705877e-10 / 32;

/**
 * `Sigmoid` (float32): with `t = exp(-|x|)`, `1 / (1 + t)` for x >= 0 and `t / (1 + t)` below, so it is
 * stable for large |x|. One tight loop with an inline exp: `-|x| = k ln2 / 32 + r`, |r| <= ln2 / 64,
 * `exp = 2^(k >> 5) * 2^((k & 31) / 32) * p(r)` with a degree-5 Taylor polynomial (~1e-15 relative,
 * far below float32's rounding: results match `Math.exp`'s except for rare 1-ulp ties); about 1.5x
 * faster than calling `Math.exp`.
 */
export const sigmoid: OpKernel = (inputs) => {
  const x = input('Sigmoid', inputs, 0, 'X');
  if (x.dtype !== 'float32') dtypeError('Sigmoid', `unsupported element type ${x.dtype}`);
  const d = x.data as Float32Array;
  const n = d.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = d[i];
    let a = -Math.abs(v);
    if (!(a > -110)) {
      if (a !== a) {
        out[i] = NaN;
        continue;
      }
      a = -110; // exp(-110) < 2^-158: sigmoid is 0 or 1 in float32 from here on
    }
    const k = (a * INV_LN2_32 - 0.5) | 0; // round to nearest (a <= 0), in [-5080, 0]
    const r = a - k * LN2_32_HI - k * LN2_32_LO;
    const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
    const t = p * POW2_FRAC[k & 31] * POW2_NEG[(k >> 5) + 160]; // exp(-|v|)
    const s = 1 / (1 + t);
    out[i] = v >= 0 ? s : t * s;
  }
  return [tensor('float32', x.dims, out)];
};

/** Reads any tensor's elements as a JS-number Float64Array-like (float16 decoded, int64 converted). */
function toNumbers(t: HostTensor): Float64Array {
  const n = t.data.length;
  const out = new Float64Array(n);
  if (t.dtype === 'float16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < n; i++) out[i] = f16ToF32(d[i]);
  } else if (t.dtype === 'bfloat16') {
    const d = t.data as Uint16Array;
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      u[0] = d[i] << 16;
      out[i] = f[0];
    }
  } else {
    const d = t.data as Indexable;
    for (let i = 0; i < n; i++) out[i] = Number(d[i]);
  }
  return out;
}

function toFloat32(t: HostTensor): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  return Float32Array.from(toNumbers(t));
}

function compare(op: string, f: (a: number, b: number) => boolean, fb: (a: bigint, b: bigint) => boolean): OpKernel {
  return (inputs) => {
    const a = input(op, inputs, 0, 'A');
    const b = input(op, inputs, 1, 'B');
    if (a.dtype !== b.dtype) dtypeError(op, `input types differ: ${a.dtype} and ${b.dtype}`);
    const dims = broadcastShapes(op, [a.dims, b.dims]);
    const out = new Uint8Array(numel(dims));
    if (a.dtype === 'int64') {
      const x = a.data as BigInt64Array;
      const y = b.data as BigInt64Array;
      zip2(a, b, dims, (o, i, j) => {
        out[o] = fb(x[i], y[j]) ? 1 : 0;
      });
    } else {
      const x = a.dtype === 'float16' || a.dtype === 'bfloat16' ? toNumbers(a) : (a.data as Float32Array);
      const y = b.dtype === 'float16' || b.dtype === 'bfloat16' ? toNumbers(b) : (b.data as Float32Array);
      zip2(a, b, dims, (o, i, j) => {
        out[o] = f(x[i], y[j]) ? 1 : 0;
      });
    }
    return [tensor('bool', dims, out)];
  };
}

/** `Equal`: elementwise A == B with broadcasting, bool output. */
export const equal: OpKernel = compare('Equal', (a, b) => a === b, (a, b) => a === b);
/** `LessOrEqual`: elementwise A <= B with broadcasting, bool output. */
export const lessOrEqual: OpKernel = compare('LessOrEqual', (a, b) => a <= b, (a, b) => a <= b);

/** `And`: logical and of two bool tensors with broadcasting. */
export const and: OpKernel = (inputs) => {
  const op = 'And';
  const a = input(op, inputs, 0, 'A');
  const b = input(op, inputs, 1, 'B');
  if (a.dtype !== 'bool' || b.dtype !== 'bool') dtypeError(op, `inputs must be bool, got ${a.dtype} and ${b.dtype}`);
  const dims = broadcastShapes(op, [a.dims, b.dims]);
  const out = new Uint8Array(numel(dims));
  const x = a.data as Uint8Array;
  const y = b.data as Uint8Array;
  zip2(a, b, dims, (o, i, j) => {
    out[o] = x[i] !== 0 && y[j] !== 0 ? 1 : 0;
  });
  return [tensor('bool', dims, out)];
};

/** `Where`: condition ? X : Y with three-way broadcasting; X and Y of any (same) type. */
export const where: OpKernel = (inputs) => {
  const op = 'Where';
  const c = input(op, inputs, 0, 'condition');
  const x = input(op, inputs, 1, 'X');
  const y = input(op, inputs, 2, 'Y');
  if (c.dtype !== 'bool') dtypeError(op, `condition must be bool, got ${c.dtype}`);
  if (x.dtype !== y.dtype) dtypeError(op, `X and Y types differ: ${x.dtype} and ${y.dtype}`);
  const dims = broadcastShapes(op, [c.dims, x.dims, y.dims]);
  const n = numel(dims);
  const oc = broadcastOffsets(c.dims, dims);
  const ox = broadcastOffsets(x.dims, dims);
  const oy = broadcastOffsets(y.dims, dims);
  const out = alloc(x.dtype, n) as Indexable;
  const cd = c.data as Uint8Array;
  const xd = x.data as Indexable;
  const yd = y.data as Indexable;
  for (let e = 0; e < n; e++) {
    const ci = oc === undefined ? e : oc[e];
    out[e] = cd[ci] !== 0 ? xd[ox === undefined ? e : ox[e]] : yd[oy === undefined ? e : oy[e]];
  }
  return [tensor(x.dtype, dims, out as never)];
};

/** ONNX `TensorProto.DataType` codes accepted by Cast's `to`. */
const CAST_TARGETS: Readonly<Record<number, DType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

/**
 * `Cast` (attribute `to`): between float32, float16 (raw bits, round to nearest even), float64, int64,
 * int32, int16, int8, uint8 and bool. Float to integer truncates toward zero; anything to bool is `x != 0`.
 */
export const cast: OpKernel = (inputs, attrs) => {
  const op = 'Cast';
  const x = input(op, inputs, 0, 'input');
  const toCode = intAttr(attrs, 'to', -1);
  const to = CAST_TARGETS[toCode];
  if (to === undefined) unsupported(op, `attribute to=${toCode} is not a supported type`);
  const n = x.data.length;
  if (x.dtype === to) return [tensor(to, x.dims, x.data.slice())];
  if (to === 'int64' && x.dtype !== 'float32' && x.dtype !== 'float16' && x.dtype !== 'float64' && x.dtype !== 'bfloat16') {
    const d = x.data as Indexable;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(d[i]);
    return [tensor(to, x.dims, out)];
  }
  const v = x.dtype === 'float32' || x.dtype === 'float64' ? (x.data as Float32Array) : toNumbers(x);
  const out = alloc(to, n);
  switch (to) {
    case 'float32':
    case 'float64': {
      const o = out as Float32Array;
      for (let i = 0; i < n; i++) o[i] = v[i];
      break;
    }
    case 'float16': {
      const o = out as Uint16Array;
      for (let i = 0; i < n; i++) o[i] = f32ToF16(Math.fround(v[i]));
      break;
    }
    case 'bfloat16': {
      const o = out as Uint16Array;
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) {
        f[0] = v[i];
        const bits = u[0];
        // Round to nearest even on the dropped 16 bits; NaN stays NaN.
        o[i] = Number.isNaN(v[i]) ? 0x7fc0 : (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
      }
      break;
    }
    case 'bool': {
      const o = out as Uint8Array;
      for (let i = 0; i < n; i++) o[i] = v[i] !== 0 ? 1 : 0;
      break;
    }
    case 'int64': {
      const o = out as BigInt64Array;
      for (let i = 0; i < n; i++) {
        const t = Math.trunc(v[i]);
        o[i] = Number.isFinite(t) ? BigInt(t) : 0n;
      }
      break;
    }
    default: {
      const o = out as Int32Array;
      for (let i = 0; i < n; i++) o[i] = Math.trunc(v[i]);
    }
  }
  return [tensor(to, x.dims, out)];
};
