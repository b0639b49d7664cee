import { describe, expect, it } from 'vitest';
import { TinyLlamaError } from '@tinyllama/core';
import { PyDict, PyGlobal, stateDictTensors, unpickle, unpickleTorch, type UnpickleOptions } from '../src/index.js';
import { expectError, pickleBytes, pstr, u32, u64 } from './helpers.js';

const b = pickleBytes;
const str = pstr;

const PROTO2 = [0x80, 2];
const STOP = '.';

/** Options that reject every global (plain data only). */
const plain: UnpickleOptions = {
  source: 'test.pkl',
  resolveGlobal(module, name) {
    throw new TinyLlamaError('E_UNSAFE_PICKLE', `global ${module}.${name}`);
  },
};

describe('unpickle: values', () => {
  it('decodes scalars, strings, containers and the memo', () => {
    const data = b(
      PROTO2, '}', 'q', 0, '(',
      ...str('ints'), ']', '(', 'K', 7, 'M', u32(0x1234).slice(0, 2), 'J', u32(-5 >>> 0), 0x8a, 1, 0xff, 0x8a, 9, u64(0n), 1, 'e',
      ...str('float'), 'G', [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18],
      ...str('misc'), 'N', 0x88, 0x89, 0x87,
      ...str('same'), ')', 'q', 1, 'h', 1, 0x86,
      ...str('bytes'), 'C', 3, [1, 2, 3],
      0x8c, 5, 'short', 'U', 2, 'py',
      'u', STOP,
    );
    const v = unpickle(data, plain) as PyDict;
    expect(v).toBeInstanceOf(PyDict);
    const m = v.map;
    expect(m.get('ints')).toEqual([7, 0x1234, -5, -1, 2n ** 64n]);
    expect(m.get('float')).toBeCloseTo(Math.PI, 12);
    expect(m.get('misc')).toEqual([null, true, false]);
    const same = m.get('same') as unknown[];
    expect(same[0]).toBe(same[1]); // memo returns the same object
    expect(Object.isFrozen(same)).toBe(true); // tuples are frozen
    expect(m.get('bytes')).toEqual(new Uint8Array([1, 2, 3]));
    expect(m.get('short')).toBe('py');
  });

  it('handles protocol 4 FRAME/MEMOIZE/STACK_GLOBAL with an allowed global', () => {
    const opts: UnpickleOptions = { source: 't', resolveGlobal: (m, n) => new PyGlobal(m, n, (args) => `called with ${args.length}`) };
    const data = b(0x80, 4, 0x95, u64(20n), 0x8c, 1, 'm', 0x94, 0x8c, 1, 'f', 0x94, 0x93, 0x94, ')', 'R', STOP);
    expect(unpickle(data, opts)).toBe('called with 0');
  });

  it('survives deeply nested tuples without recursion', () => {
    const depth = 100_000;
    const data = b(PROTO2, 'N', ...new Array<number>(depth).fill(0x85), STOP);
    let v = unpickle(data, plain) as unknown;
    let n = 0;
    while (Array.isArray(v)) {
      v = v[0];
      n++;
    }
    expect(n).toBe(depth);
  });
});

describe('unpickle: hostile or broken input', () => {
  const cases: [string, Uint8Array, string][] = [
    ['a BINUNICODE length past the end', b(PROTO2, 'X', u32(0xffffffff), 'abc', STOP), 'remain'],
    ['a BINBYTES8 length of 2^63', b(PROTO2, 0x8e, u64(1n << 63n), STOP), 'exceeds'],
    ['a FRAME longer than the data', b(0x80, 4, 0x95, u64(1000n), 'N', STOP), 'exceeds'],
    ['a BINGET of an undefined memo key', b(PROTO2, 'h', 3, STOP), 'memo key 3'],
    ['a stack underflow', b(PROTO2, 0x86, STOP), 'underflow'],
    ['SETITEMS without MARK', b(PROTO2, '}', 'u', STOP), 'MARK'],
    ['a missing STOP', b(PROTO2, 'N'), 'without STOP'],
    ['an unknown opcode', b(PROTO2, 0xff, STOP), 'unknown opcode'],
    ['invalid UTF-8', b(PROTO2, 0x8c, 2, [0xc3, 0x28], STOP), 'UTF-8'],
    ['REDUCE on a string', b(PROTO2, 0x8c, 1, 'x', ')', 'R', STOP), 'not a global'],
    ['a negative LONG4 length', b(PROTO2, 0x8b, u32(0xfffffff0), STOP), 'negative'],
    ['an unterminated GLOBAL line', b(PROTO2, 'c', 'os', STOP), 'unterminated'],
  ];
  for (const [what, data, msg] of cases) {
    it(`rejects ${what} with E_CORRUPT`, async () => {
      await expectError(() => unpickle(data, plain), 'E_CORRUPT', 'test.pkl', msg);
    });
  }

  it('bounds MARK nesting (E_UNSUPPORTED, no stack overflow)', async () => {
    await expectError(() => unpickle(b(PROTO2, ...new Array<number>(100_000).fill(0x28), STOP), plain), 'E_UNSUPPORTED', 'MARK nesting');
  });

  it('rejects extension-registry globals and oversize integers', async () => {
    await expectError(() => unpickle(b(PROTO2, 0x82, 1, STOP), plain), 'E_UNSAFE_PICKLE', 'extension');
    await expectError(() => unpickle(b(PROTO2, 0x8b, u32(5000), new Uint8Array(5000), STOP), plain), 'E_UNSUPPORTED', 'too large');
  });

  it('never calls a global that has no JS implementation', async () => {
    const opts: UnpickleOptions = { source: 't', resolveGlobal: (m, n) => new PyGlobal(m, n) };
    await expectError(() => unpickle(b(PROTO2, 'c', 'torch\nTensor\n', ')', 'R', STOP), opts), 'E_UNSUPPORTED', 'REDUCE of torch.Tensor');
  });
});

describe('unpickleTorch: allow-list', () => {
  const reduce = (mod: string, name: string, arg: string): Uint8Array =>
    b(PROTO2, 'c', `${mod}\n${name}\n`, ...str(arg), 0x85, 'R', STOP);

  for (const [mod, name, shown] of [
    ['posix', 'system', 'posix.system'],
    ['os', 'system', 'os.system'],
    ['__builtin__', 'eval', 'builtins.eval'],
    ['builtins', 'exec', 'builtins.exec'],
    ['subprocess', 'Popen', 'subprocess.Popen'],
    ['torch', 'load', 'torch.load'],
    ['torch._utils', 'system', 'torch._utils.system'],
    ['collections', 'namedtuple', 'collections.namedtuple'],
  ] as const) {
    it(`rejects ${shown}`, async () => {
      await expectError(() => unpickleTorch(reduce(mod, name, 'touch /tmp/x'), 'evil.pkl'), 'E_UNSAFE_PICKLE', `'${shown}'`, 'evil.pkl');
    });
  }

  it('validates _rebuild_tensor_v2 arguments and persistent ids', async () => {
    const bad = b(PROTO2, 'c', 'torch._utils\n_rebuild_tensor_v2\n', '(', ...str('nope'), 'K', 0, ')', ')', 0x89, 'N', 't', 'R', STOP);
    await expectError(() => unpickleTorch(bad, 'x.pkl'), 'E_CORRUPT', 'not a storage');
    const pid = b(PROTO2, '(', ...str('storage'), 'c', 'torch\nFloatStorage\n', ...str('0'), ...str('cpu'), 'J', u32(0xffffffff), 't', 'Q', STOP);
    await expectError(() => unpickleTorch(pid, 'x.pkl'), 'E_CORRUPT', 'invalid key or size');
    const weird = b(PROTO2, '(', ...str('module'), 't', 'Q', STOP);
    await expectError(() => unpickleTorch(weird, 'x.pkl'), 'E_CORRUPT', 'persistent id');
  });

  it('flattens nested dicts and tolerates cycles', () => {
    // d = {}; d['self'] = d; d['n'] = 1
    const data = b(PROTO2, '}', 'q', 0, ...str('self'), 'h', 0, 's', ...str('n'), 'K', 1, 's', STOP);
    const { root } = unpickleTorch(data, 'c.pkl');
    expect(stateDictTensors(root, 'c.pkl').size).toBe(0);
  });

  it('rejects a pickle that is not a dict', async () => {
    const { root } = unpickleTorch(b(PROTO2, 'N', STOP), 'n.pkl');
    await expectError(() => stateDictTensors(root, 'n.pkl'), 'E_UNSUPPORTED', 'not a state dict');
  });
});
