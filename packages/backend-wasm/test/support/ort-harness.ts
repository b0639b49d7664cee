/**
 * Runs one-node models with our reference kernel and with onnxruntime-node, and compares outputs:
 * the harness of the ops tests.
 */
import { beforeAll, expect } from 'vitest';
import type { AttrValue, Backend, HostTensor } from '@tinyllama/core';
import { GraphBuilder } from '@tinyllama/onnx';
import { createOrtNodeBackend } from '@tinyllama/backend-ort/node';
import { REFERENCE_KERNELS, opKey } from '../../src/ops/index.js';


let backend: Backend;
beforeAll(async () => {
  backend = createOrtNodeBackend({ threads: 1 });
  await backend.init();
});

/** One node input: a graph input by default, or an initializer (`init`); `undefined` = omitted. */
export type In = HostTensor | { readonly init: HostTensor } | undefined;

export interface Case {
  readonly op: string;
  readonly inputs: readonly In[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  readonly domain?: string;
  readonly opset?: number;
  /** Which outputs to request from onnxruntime (default all); the others are left unnamed. */
  readonly outputs?: readonly number[];
}

export function plain(i: In): HostTensor | undefined {
  return i === undefined ? undefined : 'init' in i ? i.init : i;
}

/** Runs the case with our kernel and with onnxruntime; returns both output lists. */
export async function both(c: Case): Promise<{ ours: HostTensor[]; ort: HostTensor[] }> {
  const kernel = REFERENCE_KERNELS[opKey(c.domain ?? '', c.op)];
  if (kernel === undefined) throw new Error(`no kernel for ${c.op}`);
  const attrs = c.attrs ?? {};
  const ours = kernel(c.inputs.map(plain), attrs);
  const g = new GraphBuilder({ opset: c.opset ?? 17 });
  if (c.domain) g.useOpset(c.domain, 1);
  const feeds: Record<string, HostTensor> = {};
  const names = c.inputs.map((i, k) => {
    if (i === undefined) return '';
    if ('init' in i) return g.initializer(`w${k}`, i.init);
    feeds[`x${k}`] = i;
    return g.input(`x${k}`, i.dtype, i.dims);
  });
  const wanted = (k: number) => c.outputs === undefined || c.outputs.includes(k);
  const outs = ours.map((t, k) => (wanted(k) ? g.output(`y${k}`, t.dtype, t.dims.map((_, d) => `y${k}_${d}`)) : ''));
  g.node(c.op, names, { outputs: outs, attrs, domain: c.domain });
  const session = await backend.createSession({ kind: 'bytes', bytes: await g.build().toBytes() });
  try {
    const res = await session.run(feeds);
    return { ours, ort: outs.map((n) => (n === '' ? undefined : res[n]) as HostTensor) };
  } finally {
    await session.release();
  }
}

/** Float tolerance: |ours - ort| <= rtol * |ort| + atol. */
export interface Tol {
  readonly rtol: number;
  readonly atol: number;
}
export const TOL: Tol = { rtol: 1e-5, atol: 1e-7 };

/** Asserts equal dtype, dims, and values (ints exact, floats within `tol`, by default ~1e-5 relative). */
export function expectClose(ours: HostTensor, ref: HostTensor, what: string, tol: Tol = TOL): void {
  expect(ours.dtype, `${what} dtype`).toBe(ref.dtype);
  expect([...ours.dims], `${what} dims`).toEqual([...ref.dims]);
  if (ours.dtype !== 'float32' && ours.dtype !== 'float64') {
    expect(Array.from(ours.data as ArrayLike<number>), `${what} values`).toEqual(Array.from(ref.data as ArrayLike<number>));
    return;
  }
  const a = ours.data as Float32Array;
  const b = ref.data as Float32Array;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i]) && Number.isNaN(a[i])) continue;
    const err = Math.abs(a[i] - b[i]) / (tol.rtol * Math.abs(b[i]) + tol.atol);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst error (in tolerances) at ${at}: ours ${a[at]} vs ort ${b[at]}`).toBeLessThanOrEqual(1);
}

/** Runs a case and compares every output (or the first `n`). */
export async function check(c: Case, n?: number, tol?: Tol): Promise<HostTensor[]> {
  const { ours, ort } = await both(c);
  const k = n ?? ours.length;
  for (let i = 0; i < k; i++) expectClose(ours[i], ort[i], `${c.op} output ${i}`, tol);
  return ours;
}

