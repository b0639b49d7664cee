/**
 * Shape and data-movement operators: Shape, Reshape, Squeeze, Unsqueeze, Flatten, Identity, Concat,
 * Split, Slice, Gather, Transpose, Range and Expand. They work on any element type.
 */
import { numel, shapeToString, type HostTensor } from '@tinyllama/core';
import type { OpKernel } from './types.js';
import {
  alloc,
  broadcastOffsets,
  broadcastShapes,
  copyElems,
  dtypeError,
  input,
  intAttr,
  intsAttr,
  intValues,
  normAxis,
  shapeError,
  stridesOf,
  tensor,
  unsupported,
  type Indexable,
} from './util.js';

/** `Shape` with the opset-15 `start`/`end` attributes (clamped, negative from the end): int64 `[n]`. */
export const shape: OpKernel = (inputs, attrs) => {
  const x = input('Shape', inputs, 0, 'data');
  const r = x.dims.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(intAttr(attrs, 'start', 0));
  const end = clamp(intAttr(attrs, 'end', r));
  const dims = x.dims.slice(start, Math.max(start, end));
  return [tensor('int64', [dims.length], BigInt64Array.from(dims, (d) => BigInt(d)))];
};

/** `Reshape`: 0 copies the input dim (unless `allowzero=1`), -1 is inferred. Aliases the input data. */
export const reshape: OpKernel = (inputs, attrs) => {
  const op = 'Reshape';
  const x = input(op, inputs, 0, 'data');
  const spec = intValues(op, input(op, inputs, 1, 'shape'), 'shape');
  const allowZero = intAttr(attrs, 'allowzero', 0) === 1;
  const dims = spec.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= x.dims.length) shapeError(op, `shape ${shapeToString(spec)} copies dim ${i} of input ${shapeToString(x.dims)}`);
      return x.dims[i];
    }
    return d;
  });
  const infer = dims.indexOf(-1);
  if (infer !== dims.lastIndexOf(-1)) shapeError(op, `shape ${shapeToString(spec)} has more than one -1`);
  const n = x.data.length;
  if (infer >= 0) {
    let known = 1;
    for (let i = 0; i < dims.length; i++) if (i !== infer) known *= dims[i];
    if (known === 0 || n % known !== 0) shapeError(op, `cannot reshape ${shapeToString(x.dims)} to ${shapeToString(spec)}`);
    dims[infer] = n / known;
  }
  if (dims.some((d) => d < 0) || numel(dims) !== n) shapeError(op, `cannot reshape ${shapeToString(x.dims)} to ${shapeToString(spec)}`);
  return [tensor(x.dtype, dims, x.data)];
};

/** Axes from the optional second input (opset 13+) or the `axes` attribute (older opsets). */
function axesOf(op: string, inputs: readonly (HostTensor | undefined)[], attrs: Parameters<OpKernel>[1]): number[] | undefined {
  const t = inputs[1];
  if (t !== undefined) return intValues(op, t, 'axes');
  const a = intsAttr(attrs, 'axes');
  return a === undefined ? undefined : [...a];
}

/** `Squeeze`: removes the given size-1 axes (input tensor `axes`), or every size-1 axis when absent. */
export const squeeze: OpKernel = (inputs, attrs) => {
  const op = 'Squeeze';
  const x = input(op, inputs, 0, 'data');
  const r = x.dims.length;
  const axes = axesOf(op, inputs, attrs);
  let drop: Set<number>;
  if (axes === undefined) drop = new Set(x.dims.flatMap((d, i) => (d === 1 ? [i] : [])));
  else {
    drop = new Set(axes.map((a) => normAxis(op, a, r)));
    for (const a of drop) if (x.dims[a] !== 1) shapeError(op, `axis ${a} of ${shapeToString(x.dims)} is not 1`);
  }
  return [tensor(x.dtype, x.dims.filter((_, i) => !drop.has(i)), x.data)];
};

/** `Unsqueeze`: inserts size-1 axes at the given output positions (input tensor `axes`). */
export const unsqueeze: OpKernel = (inputs, attrs) => {
  const op = 'Unsqueeze';
  const x = input(op, inputs, 0, 'data');
  const axes = axesOf(op, inputs, attrs);
  if (axes === undefined) return shapeError(op, 'missing axes');
  const r = x.dims.length + axes.length;
  const ins = new Set(axes.map((a) => normAxis(op, a, r)));
  if (ins.size !== axes.length) shapeError(op, `duplicate axes ${shapeToString(axes)}`);
  const dims: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) dims.push(ins.has(i) ? 1 : x.dims[j++]);
  return [tensor(x.dtype, dims, x.data)];
};

/** `Flatten`: 2-D `[prod(dims[:axis]), prod(dims[axis:])]` (axis attr, default 1, may be negative). */
export const flatten: OpKernel = (inputs, attrs) => {
  const op = 'Flatten';
  const x = input(op, inputs, 0, 'input');
  const r = x.dims.length;
  let axis = intAttr(attrs, 'axis', 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) shapeError(op, `axis ${intAttr(attrs, 'axis', 1)} out of range for rank ${r}`);
  return [tensor(x.dtype, [numel(x.dims.slice(0, axis)), numel(x.dims.slice(axis))], x.data)];
};

/** `Identity`: the input itself (a pure view). */
export const identity: OpKernel = (inputs) => {
  const x = input('Identity', inputs, 0, 'input');
  return [tensor(x.dtype, x.dims, x.data)];
};

/** `Concat` along `axis` (may be negative); inputs of one type and equal dims elsewhere. */
export const concat: OpKernel = (inputs, attrs) => {
  const op = 'Concat';
  const xs = inputs.filter((t): t is HostTensor => t !== undefined);
  if (xs.length === 0) shapeError(op, 'no inputs');
  const first = xs[0];
  const r = first.dims.length;
  const axis = normAxis(op, intAttr(attrs, 'axis', 0), r);
  let total = 0;
  for (const t of xs) {
    if (t.dtype !== first.dtype) dtypeError(op, `input types differ: ${first.dtype} and ${t.dtype}`);
    if (t.dims.length !== r || t.dims.some((d, i) => i !== axis && d !== first.dims[i])) {
      shapeError(op, `input ${shapeToString(t.dims)} does not match ${shapeToString(first.dims)} outside axis ${axis}`);
    }
    total += t.dims[axis];
  }
  const dims = [...first.dims];
  dims[axis] = total;
  const outer = numel(dims.slice(0, axis));
  const inner = numel(dims.slice(axis + 1));
  const out = alloc(first.dtype, numel(dims));
  const rowOut = total * inner;
  let off = 0;
  for (const t of xs) {
    const chunk = t.dims[axis] * inner;
    for (let o = 0; o < outer; o++) copyElems(out, o * rowOut + off, t.data, o * chunk, chunk);
    off += chunk;
  }
  return [tensor(first.dtype, dims, out)];
};

/**
 * `Split` along `axis`: sizes from the optional `split` input, else `num_outputs` equal chunks (the
 * last one smaller, opset 18). Without either the output count is unknown here: `E_UNSUPPORTED`.
 */
export const split: OpKernel = (inputs, attrs) => {
  const op = 'Split';
  const x = input(op, inputs, 0, 'input');
  const axis = normAxis(op, intAttr(attrs, 'axis', 0), x.dims.length);
  const len = x.dims[axis];
  let sizes: number[];
  const s = inputs[1];
  if (s !== undefined) sizes = intValues(op, s, 'split');
  else if (intsAttr(attrs, 'split') !== undefined) sizes = [...(intsAttr(attrs, 'split') as readonly number[])];
  else {
    const k = intAttr(attrs, 'num_outputs', 0);
    if (k <= 0) return unsupported(op, 'needs the split input or the num_outputs attribute');
    const c = Math.ceil(len / k);
    sizes = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(c, len - i * c)));
  }
  if (sizes.reduce((a, b) => a + b, 0) !== len || sizes.some((v) => v < 0)) {
    shapeError(op, `split ${shapeToString(sizes)} does not sum to dim ${len} of ${shapeToString(x.dims)}`);
  }
  const outer = numel(x.dims.slice(0, axis));
  const inner = numel(x.dims.slice(axis + 1));
  const outs: HostTensor[] = [];
  let off = 0;
  for (const sz of sizes) {
    const dims = [...x.dims];
    dims[axis] = sz;
    const out = alloc(x.dtype, numel(dims));
    const chunk = sz * inner;
    for (let o = 0; o < outer; o++) copyElems(out, o * chunk, x.data, o * len * inner + off, chunk);
    off += chunk;
    outs.push(tensor(x.dtype, dims, out));
  }
  return outs;
};

/** `Gather` along `axis`; indices int64/int32 of any shape, negative counted from the end. */
export const gather: OpKernel = (inputs, attrs) => {
  const op = 'Gather';
  const x = input(op, inputs, 0, 'data');
  const idxT = input(op, inputs, 1, 'indices');
  const axis = normAxis(op, intAttr(attrs, 'axis', 0), x.dims.length);
  const idx = intValues(op, idxT, 'indices');
  const len = x.dims[axis];
  const outer = numel(x.dims.slice(0, axis));
  const inner = numel(x.dims.slice(axis + 1));
  const dims = [...x.dims.slice(0, axis), ...idxT.dims, ...x.dims.slice(axis + 1)];
  const out = alloc(x.dtype, numel(dims));
  const ni = idx.length;
  for (let k = 0; k < ni; k++) {
    const i = idx[k] < 0 ? idx[k] + len : idx[k];
    if (i < 0 || i >= len) shapeError(op, `index ${idx[k]} out of range for axis ${axis} of ${shapeToString(x.dims)}`);
    idx[k] = i;
  }
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < ni; k++) copyElems(out, (o * ni + k) * inner, x.data, (o * len + idx[k]) * inner, inner);
  }
  return [tensor(x.dtype, dims, out)];
};

/**
 * `Slice` (opset 13): `starts`, `ends` and the optional `axes` (default 0..n-1, may be negative) and
 * `steps` (default 1, nonzero) inputs, with ONNX's clamping (negative indices count from the end).
 */
export const slice: OpKernel = (inputs) => {
  const op = 'Slice';
  const x = input(op, inputs, 0, 'data');
  const r = x.dims.length;
  const starts = intValues(op, input(op, inputs, 1, 'starts'), 'starts');
  const ends = intValues(op, input(op, inputs, 2, 'ends'), 'ends');
  const axesT = inputs[3];
  const stepsT = inputs[4];
  const axes = axesT ? intValues(op, axesT, 'axes') : starts.map((_, i) => i);
  const steps = stepsT ? intValues(op, stepsT, 'steps') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    shapeError(op, `starts, ends, axes and steps differ in length (${starts.length}, ${ends.length}, ${axes.length}, ${steps.length})`);
  }
  const first = x.dims.map(() => 0); // per axis: first index, step, count
  const step = x.dims.map(() => 1);
  const dims = [...x.dims];
  const seen = new Set<number>();
  for (let i = 0; i < axes.length; i++) {
    const a = normAxis(op, axes[i], r);
    if (seen.has(a)) shapeError(op, `axis ${axes[i]} given twice`);
    seen.add(a);
    const len = x.dims[a];
    const st = steps[i];
    if (st === 0) shapeError(op, `step 0 on axis ${axes[i]}`);
    const norm = (v: number): number => (v < 0 ? v + len : v);
    // ONNX clamping: [0, len] for positive steps, [-1, len - 1] for negative ones
    const lo = st > 0 ? 0 : -1;
    const hi = st > 0 ? len : len - 1;
    const b = Math.min(Math.max(norm(starts[i]), lo), hi);
    const e = Math.min(Math.max(norm(ends[i]), lo), hi);
    first[a] = b;
    step[a] = st;
    dims[a] = st > 0 ? Math.max(0, Math.ceil((e - b) / st)) : Math.max(0, Math.ceil((b - e) / -st));
  }
  const n = numel(dims);
  const out = alloc(x.dtype, n);
  if (n === 0) return [tensor(x.dtype, dims, out)];
  const strides = stridesOf(x.dims);
  // Copy runs along the last axis when it is contiguous (step 1); walk the other axes with a counter.
  const last = r - 1;
  const run = r > 0 && step[last] === 1 ? dims[last] : 1;
  const outer = r > 0 && step[last] === 1 ? r - 1 : r;
  const idx = new Array<number>(outer).fill(0);
  for (let o = 0; o < n; o += run) {
    let src = 0;
    for (let a = 0; a < outer; a++) src += (first[a] + idx[a] * step[a]) * strides[a];
    if (outer < r) src += first[last];
    copyElems(out, o, x.data, src, run);
    for (let a = outer - 1; a >= 0; a--) {
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
  return [tensor(x.dtype, dims, out)];
};

/** `Transpose` by `perm` (default: reverse the axes). */
export const transpose: OpKernel = (inputs, attrs) => {
  const op = 'Transpose';
  const x = input(op, inputs, 0, 'data');
  const r = x.dims.length;
  const perm = intsAttr(attrs, 'perm') ?? x.dims.map((_, i) => r - 1 - i);
  if (perm.length !== r || new Set(perm.map((p) => normAxis(op, p, r))).size !== r) {
    shapeError(op, `perm ${shapeToString(perm)} is not a permutation of rank ${r}`);
  }
  const inStrides = stridesOf(x.dims);
  const dims = perm.map((p) => x.dims[p]);
  const st = perm.map((p) => inStrides[p]); // input stride of each output axis
  const n = numel(dims);
  const out = alloc(x.dtype, n) as Indexable;
  const src = x.data as Indexable;
  if (n === 0) return [tensor(x.dtype, dims, out as never)];
  // Innermost output axis in a tight loop, the rest by odometer.
  const last = r - 1;
  const lastLen = r === 0 ? 1 : dims[last];
  const lastStride = r === 0 ? 0 : st[last];
  const idx = new Array<number>(Math.max(r - 1, 0)).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += lastLen) {
    for (let j = 0, s = base; j < lastLen; j++, s += lastStride) out[o + j] = src[s];
    for (let a = last - 1; a >= 0; a--) {
      idx[a]++;
      base += st[a];
      if (idx[a] < dims[a]) break;
      base -= st[a] * idx[a];
      idx[a] = 0;
    }
  }
  return [tensor(x.dtype, dims, out as never)];
};

/** `Range(start, limit, delta)`: scalars of one type; `max(ceil((limit - start) / delta), 0)` elements. */
export const range: OpKernel = (inputs) => {
  const op = 'Range';
  const s = input(op, inputs, 0, 'start');
  const l = input(op, inputs, 1, 'limit');
  const d = input(op, inputs, 2, 'delta');
  const start = Number((s.data as Indexable)[0]);
  const limit = Number((l.data as Indexable)[0]);
  const delta = Number((d.data as Indexable)[0]);
  if (delta === 0) shapeError(op, 'delta is 0');
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const out = alloc(s.dtype, n) as Indexable;
  if (s.dtype === 'int64') for (let i = 0; i < n; i++) out[i] = BigInt(start + i * delta);
  else if (s.dtype === 'float32' || s.dtype === 'float64' || s.dtype === 'int32' || s.dtype === 'int16') {
    for (let i = 0; i < n; i++) out[i] = start + i * delta;
  } else dtypeError(op, `unsupported element type ${s.dtype}`);
  return [tensor(s.dtype, [n], out as never)];
};

/** `Expand`: broadcasts the input to `shape` (numpy rules, both ways). */
export const expand: OpKernel = (inputs) => {
  const op = 'Expand';
  const x = input(op, inputs, 0, 'input');
  const target = intValues(op, input(op, inputs, 1, 'shape'), 'shape');
  const dims = broadcastShapes(op, [x.dims, target]);
  const n = numel(dims);
  const offs = broadcastOffsets(x.dims, dims);
  if (offs === undefined) return [tensor(x.dtype, dims, x.data.slice())];
  const out = alloc(x.dtype, n) as Indexable;
  const src = x.data as Indexable;
  for (let e = 0; e < n; e++) out[e] = src[offs[e]];
  return [tensor(x.dtype, dims, out as never)];
};
