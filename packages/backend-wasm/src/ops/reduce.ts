/** Reductions (ReduceSum, ReduceMean) and Softmax. */
import { numel, type HostTensor } from '@tinyllama/core';
import type { Attrs, OpKernel } from './types.js';
import { broadcastOffsets, dtypeError, input, intAttr, intsAttr, intValues, normAxis, requireFloat32, tensor } from './util.js';

function reduce(op: string, mean: boolean): OpKernel {
  return (inputs: readonly (HostTensor | undefined)[], attrs: Attrs) => {
    const x = input(op, inputs, 0, 'data');
    const r = x.dims.length;
    const keepdims = intAttr(attrs, 'keepdims', 1) === 1;
    const noop = intAttr(attrs, 'noop_with_empty_axes', 0) === 1;
    // Axes: the optional input (ReduceSum opset 13+, ReduceMean opset 18+), else the attribute.
    const axesT = inputs[1];
    let axes = axesT !== undefined ? intValues(op, axesT, 'axes') : [...(intsAttr(attrs, 'axes') ?? [])];
    if (axes.length === 0) {
      if (noop) return [tensor(x.dtype, x.dims, x.data)];
      axes = x.dims.map((_, i) => i);
    }
    const red = new Set(axes.map((a) => normAxis(op, a, r)));
    const kept = x.dims.map((d, i) => (red.has(i) ? 1 : d)); // [.., 1, ..] keepdims shape
    const dims = keepdims ? kept : x.dims.filter((_, i) => !red.has(i));
    const no = numel(kept);
    const count = numel(x.dims) / Math.max(no, 1);
    const offs = broadcastOffsets(kept, x.dims);
    const n = x.data.length;
    if (x.dtype === 'int64') {
      const acc = new BigInt64Array(no);
      const d = x.data as BigInt64Array;
      for (let i = 0; i < n; i++) acc[offs === undefined ? i : offs[i]] += d[i];
      if (mean) for (let i = 0; i < no; i++) acc[i] /= BigInt(count);
      return [tensor('int64', dims, acc)];
    }
    if (x.dtype !== 'float32' && x.dtype !== 'int32') dtypeError(op, `unsupported element type ${x.dtype}`);
    const acc = new Float64Array(no);
    const d = x.data as Float32Array;
    for (let i = 0; i < n; i++) acc[offs === undefined ? i : offs[i]] += d[i];
    if (mean) for (let i = 0; i < no; i++) acc[i] /= count;
    const out = x.dtype === 'float32' ? Float32Array.from(acc) : Int32Array.from(acc, (v) => Math.trunc(v));
    return [tensor(x.dtype, dims, out)];
  };
}

/** `ReduceSum` (axes input or attribute, `keepdims`, `noop_with_empty_axes`); float32, int64, int32. */
export const reduceSum: OpKernel = reduce('ReduceSum', false);
/** `ReduceMean` (axes input from opset 18, attribute before; `keepdims`, `noop_with_empty_axes`). */
export const reduceMean: OpKernel = reduce('ReduceMean', true);

/** `Softmax` over one `axis` (opset 13+ semantics, default -1), float32, max-subtracted. */
export const softmax: OpKernel = (inputs, attrs) => {
  const op = 'Softmax';
  const x = input(op, inputs, 0, 'input');
  const d = requireFloat32(op, x, 'input');
  const axis = normAxis(op, intAttr(attrs, 'axis', -1), x.dims.length);
  const len = x.dims[axis];
  const inner = numel(x.dims.slice(axis + 1));
  const outer = numel(x.dims.slice(0, axis));
  const out = new Float32Array(d.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let max = -Infinity;
      for (let k = 0; k < len; k++) max = Math.max(max, d[base + k * inner]);
      let sum = 0;
      for (let k = 0; k < len; k++) {
        const e = Math.exp(d[base + k * inner] - max);
        out[base + k * inner] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let k = 0; k < len; k++) out[base + k * inner] *= inv;
    }
  }
  return [tensor('float32', x.dims, out)];
};
