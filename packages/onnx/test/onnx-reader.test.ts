import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attr, isTinyLlamaError, type HostTensor } from '@tinyllama/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, decodeModel, tensorFromPayload, EXTERNAL_LENGTH_TO_END, UNKNOWN_DIM, type ModelDef, type TensorDef } from '../src/index.js';
import { encodeModel } from '../src/onnx-proto.js';
import { ProtoReader, WIRE } from '../src/protobuf-reader.js';
import { ProtoWriter } from '../src/protobuf.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyllama-onnx-reader-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function expectError(fn: () => unknown, code: string, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isTinyLlamaError(caught), `expected a TinyLlamaError, got ${String(caught)}`).toBe(true);
  const err = caught as Error & { code: string };
  expect(err.code).toBe(code);
  for (const f of fragments) expect(err.message).toContain(f);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('ProtoReader', () => {
  it('reads varints up to 64 bits, as numbers when safe and bigints otherwise', () => {
    const w = new ProtoWriter()
      .varint(1, 300)
      .varint(2, Number.MAX_SAFE_INTEGER)
      .varint(3, 2n ** 63n + 5n)
      .int64(4, -1)
      .int64(5, -(2n ** 62n))
      .varint(6, 0xffff_ffff_ffff_ffffn);
    const r = new ProtoReader(w.toBytes());
    const got: unknown[] = [];
    while (r.next()) got.push(r.field === 1 || r.field === 2 ? r.uint() : r.field === 3 || r.field === 6 ? r.uint64() : r.int64());
    expect(got).toEqual([300, Number.MAX_SAFE_INTEGER, 2n ** 63n + 5n, -1, -(2n ** 62n), 0xffff_ffff_ffff_ffffn]);
    // uint() refuses what does not fit a JS number
    const big = new ProtoReader(new ProtoWriter().varint(7, 2n ** 60n).toBytes(), 'Test');
    big.next();
    expectError(() => big.uint(), 'E_CORRUPT', 'Test', 'field 7', 'too large');
  });

  it('reads fixed32/fixed64, floats, doubles, strings and byte views without copying', () => {
    const buf = new ProtoWriter().float(1, 1.5).double(2, -0.1).string(3, 'héllo').bytes(4, Uint8Array.of(9, 8, 7)).toBytes();
    const r = new ProtoReader(buf);
    r.next();
    expect(r.float()).toBe(1.5);
    r.next();
    expect(r.double()).toBe(-0.1);
    r.next();
    expect(r.string()).toBe('héllo');
    r.next();
    const b = r.bytes();
    expect([...b]).toEqual([9, 8, 7]);
    expect(b.buffer).toBe(buf.buffer);
    expect(r.next()).toBe(false);
    const f = new ProtoReader(fromHex('0d78563412' + '11' + '0100000000000080'));
    f.next();
    expect(f.fixed32()).toBe(0x12345678);
    f.next();
    expect(f.fixed64()).toBe(2n ** 63n + 1n);
  });

  it('reads packed and unpacked repeated scalars alike', () => {
    // field 1: unpacked 1, packed [2, 300, -1], unpacked 4; field 2: packed floats [1, 2]
    const buf = fromHex('0801' + '0a0d' + '02ac02' + 'ffffffffffffffffff01' + '0804' + '1208' + '0000803f' + '00000040' + '1500004040');
    const r = new ProtoReader(buf);
    const ints: (number | bigint)[] = [];
    const floats: number[] = [];
    while (r.next()) {
      if (r.field === 1) r.repeated(ints, WIRE.varint, () => r.int64());
      else r.repeated(floats, WIRE.fixed32, () => r.float());
    }
    expect(ints).toEqual([1, 2, 300, -1, 4]);
    expect(floats).toEqual([1, 2, 3]);
  });

  it('skips unknown fields of every wire type, groups included', () => {
    // 1: varint, 2: fixed64, 3: bytes, 4: group { 1: varint, 5: nested group {} }, 5: fixed32, then 9: varint 42
    const buf = fromHex('08ff01' + '110102030405060708' + '1a03616263' + '23' + '0801' + '2b' + '2c' + '24' + '2d01020304' + '482a');
    const r = new ProtoReader(buf);
    let last = -1;
    while (r.next()) {
      if (r.field === 9) last = r.uint();
      else r.skip();
    }
    expect(last).toBe(42);
  });

  it('rejects truncated and malformed input naming the message and field', () => {
    const cases: [string, string][] = [
      ['08', 'truncated varint'], // varint value missing
      ['08ffffffffffffffffffff01', 'longer than 10 bytes'],
      ['08ffffffffffffffffff7f', 'overflows 64 bits'],
      ['1205616263', 'length 5 runs past'],
      ['1500', 'truncated'],
      ['0f', 'invalid wire type'],
      ['0001', 'field number 0'],
      ['23', 'truncated group'],
      ['2308012c', 'closed by end-group tag of field 5'],
      ['24', 'unexpected end-group'],
    ];
    for (const [h, msg] of cases) {
      const r = new ProtoReader(fromHex(h), 'Test.msg');
      expectError(
        () => {
          while (r.next()) r.skip();
        },
        'E_CORRUPT',
        'Test.msg',
        msg,
      );
    }
    const r = new ProtoReader(fromHex('0801'), 'Test');
    r.next();
    expectError(() => r.string(), 'E_CORRUPT', 'field 1', 'expected length-delimited');
    const bad = new ProtoReader(fromHex('0a02c328'), 'Test');
    bad.next();
    expectError(() => bad.string(), 'E_CORRUPT', 'invalid UTF-8');
  });
});

/** A graph using every attribute type, symbolic dims, an omitted optional input and a custom domain. */
function richGraph(): GraphBuilder {
  const g = new GraphBuilder({ name: 'rich' });
  const x = g.input('x', 'float32', ['batch', 'seq', 4]);
  const ids = g.input('ids', 'int64', ['batch', 'seq']);
  const w = g.initializer('W', { dtype: 'float32', dims: [4, 256], data: Float32Array.from({ length: 1024 }, (_, i) => i / 7) });
  const h = g.initializer('H', { dtype: 'float16', dims: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff) });
  const mm = g.op('MatMul', [x, w]);
  const clipped = g.node('Clip', [mm, '', g.float32([6], true)], { name: 'clip_no_min' })[0];
  const r = g.node('ReduceMean', [clipped], { attrs: { axes: attr.ints([-1, 1]), keepdims: attr.int(1) } })[0];
  const c = g.node('Constant', [], { attrs: { value: attr.tensor({ dtype: 'int64', dims: [2], data: BigInt64Array.of(-3n, 2n ** 40n) }) } })[0];
  const c2 = g.node('Constant', [], { attrs: { value_floats: attr.floats([0.1, -2.5, 1e-5]) } })[0];
  g.useOpset('com.example', 3);
  const s = g.node('Custom', [r, ids, c, c2, h], {
    domain: 'com.example',
    attrs: { mode: attr.string('linear ✓'), eps: attr.float(1e-5), zero: attr.int(0), neg: attr.int(-7), empty: attr.ints([]) },
    outputs: ['y', 'z'],
  });
  g.output(s[0], 'float32', ['batch', 'seq', 1]);
  g.output(s[1], 'bool', []);
  return g;
}

describe('decodeModel', () => {
  it('inverts encodeModel on a hand-written ModelDef (every field)', () => {
    const tensorAttr: HostTensor = { dtype: 'float32', dims: [2, 2], data: Float32Array.of(1, 2, 3, 4) };
    const def: ModelDef = {
      irVersion: 8,
      opsets: new Map([
        ['', 17],
        ['com.microsoft', 1],
      ]),
      producerName: 'p',
      producerVersion: '9.9',
      docString: 'doc',
      metadata: { a: '1', 'ü': 'ß' },
      graphName: 'g',
      nodes: [
        {
          opType: 'Op',
          domain: 'com.microsoft',
          name: 'n0',
          inputs: ['a', '', 'b'],
          outputs: ['c', ''],
          attrs: {
            i: attr.int(-(2 ** 40)),
            f: attr.float(Math.fround(0.1)),
            s: attr.string(''),
            is: attr.ints([1, -1, 2 ** 50]),
            fs: attr.floats([Math.fround(1.1), -0]),
            t: attr.tensor(tensorAttr),
          },
        },
      ],
      inputs: [{ name: 'a', dtype: 'bfloat16', dims: ['batch', 0, 7] }],
      outputs: [{ name: 'c', dtype: 'float64', dims: [] }],
      initializers: [
        { name: 'b', dtype: 'int8', dims: [3], payload: { kind: 'inline', bytes: Uint8Array.of(255, 0, 1) } },
        { name: 'e', dtype: 'int32', dims: [2, 5], payload: { kind: 'external', location: 'w.bin', offset: 4096, length: 40 } },
        { name: 'z', dtype: 'uint8', dims: [0], payload: { kind: 'inline', bytes: new Uint8Array(0) } },
      ],
    };
    const bytes = encodeModel(def).toBytes();
    const got = decodeModel(bytes);
    expect(got).toEqual(def);
    expect(hex(encodeModel(got).toBytes())).toBe(hex(bytes));
  });

  it('round-trips a GraphBuilder model with inline data (every attribute type, symbolic dims, empty inputs)', async () => {
    const bytes = await richGraph().build({ metadata: { k: 'v' }, docString: 'rich doc' }).toBytes();
    const m = decodeModel(bytes);
    // Re-encoding the decoded model reproduces the bytes exactly.
    expect(hex(encodeModel(m).toBytes())).toBe(hex(bytes));
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('tinyllama-ts');
    expect(m.docString).toBe('rich doc');
    expect(m.metadata).toEqual({ k: 'v' });
    expect(m.graphName).toBe('rich');
    expect([...m.opsets]).toEqual([
      ['', 17],
      ['com.example', 3],
    ]);
    expect(m.inputs).toEqual([
      { name: 'x', dtype: 'float32', dims: ['batch', 'seq', 4] },
      { name: 'ids', dtype: 'int64', dims: ['batch', 'seq'] },
    ]);
    expect(m.outputs).toEqual([
      { name: 'y', dtype: 'float32', dims: ['batch', 'seq', 1] },
      { name: 'z', dtype: 'bool', dims: [] },
    ]);
    expect(m.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Clip', 'ReduceMean', 'Constant', 'Constant', 'Custom']);
    const clip = m.nodes[1];
    expect(clip.name).toBe('clip_no_min');
    expect(clip.inputs[1]).toBe('');
    expect(clip.inputs).toHaveLength(3);
    expect(m.nodes[2].attrs).toEqual({ axes: attr.ints([-1, 1]), keepdims: attr.int(1) });
    const cval = m.nodes[3].attrs.value;
    expect(cval.type).toBe('tensor');
    if (cval.type === 'tensor') {
      expect(cval.value.dtype).toBe('int64');
      expect([...(cval.value.data as BigInt64Array)]).toEqual([-3n, 2n ** 40n]);
    }
    expect(m.nodes[4].attrs.value_floats).toEqual(attr.floats([0.1, -2.5, 1e-5].map(Math.fround)));
    const custom = m.nodes[5];
    expect(custom.domain).toBe('com.example');
    expect(custom.outputs).toEqual(['y', 'z']);
    expect(custom.attrs).toEqual({
      mode: attr.string('linear ✓'),
      eps: attr.float(Math.fround(1e-5)),
      zero: attr.int(0),
      neg: attr.int(-7),
      empty: attr.ints([]),
    });
    const w = m.initializers.find((t) => t.name === 'W') as TensorDef;
    expect(w.payload.kind).toBe('inline');
    const wt = tensorFromPayload(w, (w.payload as { bytes: Uint8Array }).bytes);
    expect(wt.dims).toEqual([4, 256]);
    expect(wt.data[1023]).toBeCloseTo(1023 / 7, 4);
    const h = m.initializers.find((t) => t.name === 'H') as TensorDef;
    expect([...tensorFromPayload(h, (h.payload as { bytes: Uint8Array }).bytes).data]).toEqual([0x3c00, 0xc000, 0x7bff]);
  });

  it('round-trips a model written with external data', async () => {
    const dir = path.join(tmp, 'ext');
    const file = await richGraph().build({ externalDataThreshold: 1000, externalDataAlignment: 64 }).writeTo(dir);
    const bytes = new Uint8Array(await readFile(file));
    const m = decodeModel(bytes);
    expect(hex(encodeModel(m).toBytes())).toBe(hex(bytes));
    const w = m.initializers.find((t) => t.name === 'W') as TensorDef;
    expect(w.payload).toEqual({ kind: 'external', location: 'model.onnx.data', offset: 0, length: 4096 });
    const data = new Uint8Array(await readFile(path.join(dir, 'model.onnx.data')));
    const wt = tensorFromPayload(w, data.subarray(0, 4096));
    expect(wt.data[5]).toBeCloseTo(5 / 7, 5);
    expect(m.initializers.filter((t) => t.payload.kind === 'inline').length).toBe(m.initializers.length - 1);
  });

  it('decodes a model written by the python onnx library (fixture)', async () => {
    const bytes = new Uint8Array(await readFile(path.join(FIXTURES, 'reader-python.onnx')));
    const data = new Uint8Array(await readFile(path.join(FIXTURES, 'reader-python.onnx.data')));
    const m = decodeModel(bytes);
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('onnx-python');
    expect(m.producerVersion).toBe('1.12.0');
    expect(m.docString).toBe('reader fixture');
    expect(m.metadata).toEqual({ purpose: 'decoder test', utf8: 'héllo ✓' });
    expect([...m.opsets]).toEqual([
      ['', 17],
      ['com.microsoft', 1],
    ]);
    expect(m.graphName).toBe('reader_fixture');
    expect(m.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: ['batch', 2] }]);
    expect(m.outputs).toEqual([
      { name: 'c', dtype: 'float32', dims: ['batch', 3] },
      { name: 'm', dtype: 'float32', dims: ['batch', UNKNOWN_DIM] },
      { name: 'p', dtype: 'float32', dims: [], unknownRank: true },
      { name: 'k', dtype: 'float32', dims: [2] },
    ]);
    expect(m.nodes.map((n) => [n.opType, n.domain, n.name, n.inputs, n.outputs])).toEqual([
      ['Gemm', '', 'gemm', ['x', 'W', 'B'], ['g']],
      ['Clip', '', 'clip', ['g', '', 'maxv'], ['c']],
      ['ReduceMean', '', 'mean', ['c'], ['m']],
      ['Pad', '', 'pad', ['c', 'pads'], ['p']],
      ['Constant', '', 'const', [], ['k']],
      ['Constant', '', 'constf', [], ['kf']],
      ['FusedGemm', 'com.microsoft', 'custom', ['x', 'W'], ['y2']],
    ]);
    expect(m.nodes[0].attrs).toEqual({ alpha: attr.float(0.5), transB: attr.int(0) });
    expect(m.nodes[2].attrs).toEqual({ axes: attr.ints([-1]), keepdims: attr.int(1) });
    expect(m.nodes[3].attrs).toEqual({ mode: attr.string('constant') });
    expect(m.nodes[4].attrs).toEqual({ value: attr.tensor({ dtype: 'float32', dims: [2], data: Float32Array.of(1.5, 2.5) }) });
    expect(m.nodes[5].attrs).toEqual({ value_floats: attr.floats([0.25, -4]) });
    expect(m.nodes[6].attrs).toEqual({ alpha: attr.float(1) });

    const t = new Map(m.initializers.map((i) => [i.name, i]));
    expect([...t.keys()]).toEqual(['W', 'B', 'shape', 'big', 'half', 'dbl', 'E', 'F', 'maxv', 'pads']);
    const inline = (name: string) => {
      const d = t.get(name) as TensorDef;
      if (d.payload.kind !== 'inline') throw new Error(`${name} is not inline`);
      return tensorFromPayload(d, d.payload.bytes);
    };
    expect(inline('W')).toEqual({ dtype: 'float32', dims: [2, 3], data: Float32Array.of(0, 0.25, 0.5, 0.75, 1, 1.25) }); // raw_data
    expect(inline('B')).toEqual({ dtype: 'float32', dims: [3], data: Float32Array.of(0.5, -1.25, 3) }); // float_data
    expect(inline('shape')).toEqual({ dtype: 'int64', dims: [2], data: BigInt64Array.of(-1n, 3n) }); // int64_data
    expect(inline('big')).toEqual({ dtype: 'int64', dims: [2], data: BigInt64Array.of(2n ** 62n, -(2n ** 40n)) });
    expect(inline('half')).toEqual({ dtype: 'float16', dims: [2], data: Uint16Array.of(0x3c00, 0xc000) }); // int32_data
    expect(inline('dbl')).toEqual({ dtype: 'float64', dims: [2], data: Float64Array.of(0.1, 1e300) }); // double_data
    expect(inline('maxv')).toEqual({ dtype: 'float32', dims: [], data: Float32Array.of(6) });
    expect(inline('pads').data).toEqual(BigInt64Array.of(0n, 1n, 0n, 1n));

    const e = t.get('E') as TensorDef;
    const f = t.get('F') as TensorDef;
    expect(e.payload).toEqual({ kind: 'external', location: 'reader-python.onnx.data', offset: 0, length: 16 });
    expect(f.payload).toEqual({ kind: 'external', location: 'reader-python.onnx.data', offset: 16, length: EXTERNAL_LENGTH_TO_END });
    expect(tensorFromPayload(e, data.subarray(0, 16)).data).toEqual(Float32Array.of(1, 2, 3, 4));
    // Offset 16 in a Buffer-backed array may be unaligned for the pool: tensorFromPayload copies then.
    expect(tensorFromPayload(f, data.subarray(16)).data).toEqual(Int32Array.of(7, 8));
  });

  it('rejects truncated, malformed and unsupported models with clear errors', async () => {
    const bytes = await richGraph().build().toBytes();
    // Every truncation is either a clean error or (at a field boundary) a model without some fields.
    for (const cut of [1, 5, 20, Math.floor(bytes.byteLength / 2), bytes.byteLength - 1]) {
      expectError(() => decodeModel(bytes.subarray(0, cut)), 'E_CORRUPT', 'ModelProto');
    }
    expectError(() => decodeModel(new Uint8Array(0)), 'E_CORRUPT', 'no graph');
    // Truncated deep inside a node: the error names the path.
    const g = new ProtoWriter().message(1, new ProtoWriter().string(4, 'Add')).toBytes();
    const model = new ProtoWriter().varint(1, 8).bytes(7, g.subarray(0, g.byteLength - 1)).toBytes();
    expectError(() => decodeModel(model), 'E_CORRUPT', 'ModelProto.graph');

    const tensor = (dataType: number, extra: (w: ProtoWriter) => void = () => undefined) => {
      const t = new ProtoWriter().varint(1, 2).varint(2, dataType).string(8, 'bad_tensor');
      extra(t);
      return new ProtoWriter().message(7, new ProtoWriter().message(5, t)).toBytes();
    };
    expectError(() => decodeModel(tensor(8)), 'E_UNSUPPORTED', "tensor 'bad_tensor'", 'data type 8');
    expectError(() => decodeModel(tensor(1, (w) => w.bytes(9, new Uint8Array(7)))), 'E_CORRUPT', "tensor 'bad_tensor'", '7 data bytes, expected 8');
    expectError(() => decodeModel(tensor(7, (w) => w.float(4, 1).float(4, 2))), 'E_CORRUPT', "tensor 'bad_tensor'", 'field 4');
    expectError(
      () => decodeModel(tensor(1, (w) => w.message(13, new ProtoWriter().string(1, 'offset').string(2, '0')).varint(14, 1))),
      'E_CORRUPT',
      'without a location',
    );
    expectError(
      () =>
        decodeModel(
          tensor(1, (w) =>
            w
              .message(13, new ProtoWriter().string(1, 'location').string(2, 'x'))
              .message(13, new ProtoWriter().string(1, 'offset').string(2, '-4'))
              .varint(14, 1),
          ),
        ),
      'E_CORRUPT',
      'external offset',
    );

    // A GRAPH attribute: E_UNSUPPORTED naming attribute and node by default, dropped with 'skip'.
    const node = new ProtoWriter()
      .string(3, 'if0')
      .string(4, 'If')
      .message(5, new ProtoWriter().string(1, 'then_branch').varint(20, 5).message(6, new ProtoWriter().string(2, 'sub')))
      .message(5, new ProtoWriter().string(1, 'k').varint(20, 2).int64(3, 4));
    const withGraphAttr = new ProtoWriter().message(7, new ProtoWriter().message(1, node)).toBytes();
    expectError(() => decodeModel(withGraphAttr), 'E_UNSUPPORTED', "If node 'if0'", "attribute 'then_branch'", 'GRAPH');
    expect(decodeModel(withGraphAttr, { unsupportedAttributes: 'skip' }).nodes[0].attrs).toEqual({ k: attr.int(4) });
  });
});

describe('tensorFromPayload', () => {
  it('views aligned bytes, copies unaligned ones, and checks the length', () => {
    const buf = new Uint8Array(17);
    new DataView(buf.buffer).setFloat32(1, 2.5, true);
    new DataView(buf.buffer).setFloat32(5, -1, true);
    const unaligned = tensorFromPayload({ name: 'u', dtype: 'float32', dims: [2] }, buf.subarray(1, 9));
    expect(unaligned.data).toEqual(Float32Array.of(2.5, -1));
    expect(unaligned.data.buffer).not.toBe(buf.buffer);
    const aligned = tensorFromPayload({ name: 'a', dtype: 'uint8', dims: [4] }, buf.subarray(1, 5));
    expect(aligned.data.buffer).toBe(buf.buffer);
    const bools = tensorFromPayload({ name: 'b', dtype: 'bool', dims: [2, 1] }, Uint8Array.of(1, 0));
    expect(bools).toEqual({ dtype: 'bool', dims: [2, 1], data: Uint8Array.of(1, 0) });
    const bf = tensorFromPayload({ name: 'bf', dtype: 'bfloat16', dims: [1] }, Uint8Array.of(0x80, 0x3f));
    expect(bf.data).toEqual(Uint16Array.of(0x3f80));
    expectError(() => tensorFromPayload({ name: 'short', dtype: 'int64', dims: [2, 2] }, new Uint8Array(24)), 'E_SHAPE', "tensor 'short'", '24 bytes, expected 32');
  });
});
