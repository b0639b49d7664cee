import { TinyLlamaError } from '@tinyllama/core';

/**
 * A safe pickle virtual machine. It builds plain JavaScript values only:
 *
 * | Python            | JavaScript                                   |
 * |-------------------|----------------------------------------------|
 * | None / bool       | `null` / `boolean`                           |
 * | int               | `number` when safe, else `bigint`            |
 * | float / str       | `number` / `string`                          |
 * | bytes / bytearray | `Uint8Array`                                 |
 * | tuple / list      | frozen array / array                         |
 * | dict              | {@link PyDict}                               |
 * | set / frozenset   | {@link PySet}                                |
 * | global reference  | {@link PyGlobal} from the caller's resolver  |
 *
 * Nothing is ever looked up dynamically or executed: GLOBAL/STACK_GLOBAL go through the caller's
 * `resolveGlobal` (an allow-list), and REDUCE/NEWOBJ only call the JavaScript implementation attached to
 * an allowed {@link PyGlobal}. Every length is bounded by the remaining bytes (`E_CORRUPT`), and the
 * machine is iterative, so hostile nesting cannot overflow the JS stack.
 */

/** A Python dict (or OrderedDict): insertion ordered; keys compare like JS `Map` keys. */
export class PyDict {
  /** Entries in insertion order. */
  readonly map = new Map<unknown, unknown>();
  /** State applied by BUILD (e.g. an OrderedDict's `_metadata` attribute), kept but never interpreted. */
  state: unknown = undefined;
}

/** A Python set or frozenset (items in pickle order). */
export class PySet {
  constructor(
    readonly items: unknown[],
    readonly frozen: boolean,
  ) {}
}

/** A resolved, allow-listed Python global. `call`/`newObject` are the caller's own JS implementations. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    /** Implementation used by REDUCE (`callable(*args)`); absent when the global is not callable. */
    readonly call?: (args: readonly unknown[]) => unknown,
    /** Implementation used by NEWOBJ (`cls.__new__(cls, *args)`); absent when unsupported. */
    readonly newObject?: (args: readonly unknown[]) => unknown,
  ) {}

  /** `module.name`. */
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Hooks of {@link unpickle}. */
export interface UnpickleOptions {
  /** Name of the pickle (file and entry) used in error messages. */
  readonly source: string;
  /**
   * Resolves a global `module.name` (after Python 2 → 3 module renames). Must throw
   * (`E_UNSAFE_PICKLE`) for anything outside the allow-list.
   */
  resolveGlobal(module: string, name: string): PyGlobal;
  /** Resolves a persistent id (BINPERSID/PERSID); absent → such pickles are rejected. */
  persistentLoad?(pid: unknown): unknown;
  /** Applies BUILD `state` to `obj`; return false to reject. Default: dicts keep it in `state`. */
  build?(obj: unknown, state: unknown): boolean;
  /** Maximum MARK nesting (default 256). */
  readonly maxMarkDepth?: number;
}

/** Largest LONG4 integer accepted, in bytes (a 8192-bit integer). */
const MAX_LONG_BYTES = 1024;
/** Longest text line (protocol 0 opcodes, GLOBAL names). */
const MAX_LINE = 4096;
/** Python 2 module names that protocol 0-2 pickles use, as Python 3's `fix_imports` maps them. */
const PY2_MODULES: Readonly<Record<string, string>> = { __builtin__: 'builtins', copy_reg: 'copyreg', exceptions: 'builtins' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Short, non-recursive description of a value for error messages. */
export function describePyValue(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PySet) return 'set';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !Object.isFrozen(v);
}

function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

/** Converts a little-endian two's-complement integer to a number (when safe) or bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

class Machine {
  readonly #d: Uint8Array;
  readonly #dv: DataView;
  readonly #o: UnpickleOptions;
  readonly #maxMarks: number;
  #pos = 0;
  #op = 0;
  #opAt = 0;
  #proto = 0;
  #stack: unknown[] = [];
  readonly #marks: unknown[][] = [];
  readonly #memo = new Map<number, unknown>();

  constructor(data: Uint8Array, options: UnpickleOptions) {
    this.#d = data;
    this.#dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.#o = options;
    this.#maxMarks = options.maxMarkDepth ?? 256;
  }

  #fail(code: 'E_CORRUPT' | 'E_UNSUPPORTED' | 'E_UNSAFE_PICKLE', msg: string, cause?: unknown): TinyLlamaError {
    const op = `opcode 0x${this.#op.toString(16).padStart(2, '0')} at byte ${this.#opAt}`;
    return new TinyLlamaError(code, `pickle '${this.#o.source}': ${msg} (${op})`, { cause });
  }

  #take(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.#d.length - this.#pos) {
      throw this.#fail('E_CORRUPT', `needs ${n} bytes but only ${this.#d.length - this.#pos} remain`);
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  #u8(): number {
    return this.#d[this.#take(1)];
  }
  #u16(): number {
    return this.#dv.getUint16(this.#take(2), true);
  }
  #u32(): number {
    return this.#dv.getUint32(this.#take(4), true);
  }
  #i32(): number {
    return this.#dv.getInt32(this.#take(4), true);
  }
  #u64(): number {
    const v = this.#dv.getBigUint64(this.#take(8), true);
    if (v > BigInt(this.#d.length)) throw this.#fail('E_CORRUPT', `length ${v} exceeds the pickle size`);
    return Number(v);
  }
  #bytes(n: number): Uint8Array {
    const at = this.#take(n);
    return this.#d.slice(at, at + n);
  }
  #str(n: number): string {
    const at = this.#take(n);
    try {
      return utf8.decode(this.#d.subarray(at, at + n));
    } catch (e) {
      throw this.#fail('E_CORRUPT', 'string is not valid UTF-8', e);
    }
  }
  #line(): string {
    const end = this.#d.indexOf(0x0a, this.#pos);
    if (end < 0 || end - this.#pos > MAX_LINE) throw this.#fail('E_CORRUPT', 'unterminated or overlong text line');
    const s = this.#str(end - this.#pos);
    this.#pos++; // the newline
    return s;
  }

  #push(v: unknown): void {
    this.#stack.push(v);
  }
  #pop(): unknown {
    if (this.#stack.length === 0) throw this.#fail('E_CORRUPT', 'stack underflow');
    return this.#stack.pop();
  }
  #top(): unknown {
    if (this.#stack.length === 0) throw this.#fail('E_CORRUPT', 'stack underflow');
    return this.#stack[this.#stack.length - 1];
  }
  #mark(): void {
    if (this.#marks.length >= this.#maxMarks) throw this.#fail('E_UNSUPPORTED', `MARK nesting deeper than ${this.#maxMarks}`);
    this.#marks.push(this.#stack);
    this.#stack = [];
  }
  #popMark(): unknown[] {
    const items = this.#stack;
    const prev = this.#marks.pop();
    if (!prev) throw this.#fail('E_CORRUPT', 'no MARK on the stack');
    this.#stack = prev;
    return items;
  }
  #memoGet(i: number): unknown {
    if (!this.#memo.has(i)) throw this.#fail('E_CORRUPT', `memo key ${i} is not defined`);
    return this.#memo.get(i);
  }
  #memoPut(i: number): void {
    this.#memo.set(i, this.#top());
  }
  #global(module: string, name: string): PyGlobal {
    const mod = this.#proto < 3 ? (PY2_MODULES[module] ?? module) : module;
    try {
      return this.#o.resolveGlobal(mod, name);
    } catch (e) {
      if (e instanceof TinyLlamaError) throw e;
      throw this.#fail('E_UNSAFE_PICKLE', `global '${mod}.${name}' could not be resolved`, e);
    }
  }
  #call(fn: unknown, args: unknown, how: 'REDUCE' | 'NEWOBJ' | 'INST/OBJ'): unknown {
    if (!(fn instanceof PyGlobal)) throw this.#fail('E_CORRUPT', `${how} on a ${describePyValue(fn)}, not a global`);
    if (!isTuple(args)) throw this.#fail('E_CORRUPT', `${how} arguments of ${fn.qualifiedName} are a ${describePyValue(args)}, not a tuple`);
    const impl = how === 'NEWOBJ' ? fn.newObject : fn.call;
    if (!impl) throw this.#fail('E_UNSUPPORTED', `${how} of ${fn.qualifiedName} is not supported`);
    try {
      return impl(args);
    } catch (e) {
      if (e instanceof TinyLlamaError) throw e;
      throw this.#fail('E_CORRUPT', `${how} of ${fn.qualifiedName} failed`, e);
    }
  }
  #setItems(target: unknown, items: readonly unknown[]): void {
    if (!(target instanceof PyDict)) throw this.#fail('E_UNSUPPORTED', `SETITEM(S) on a ${describePyValue(target)}`);
    if (items.length % 2) throw this.#fail('E_CORRUPT', 'SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) target.map.set(items[i], items[i + 1]);
  }
  #appends(target: unknown, items: readonly unknown[]): void {
    if (!isList(target)) throw this.#fail('E_UNSUPPORTED', `APPEND(S) on a ${describePyValue(target)}`);
    for (const it of items) target.push(it);
  }
  #build(obj: unknown, state: unknown): void {
    if (this.#o.build) {
      if (this.#o.build(obj, state)) return;
    } else if (obj instanceof PyDict) {
      obj.state = state;
      return;
    }
    throw this.#fail('E_UNSUPPORTED', `BUILD on a ${describePyValue(obj)}`);
  }
  #persistent(pid: unknown): unknown {
    if (!this.#o.persistentLoad) throw this.#fail('E_UNSUPPORTED', 'persistent ids are not supported here');
    return this.#o.persistentLoad(pid);
  }

  run(): unknown {
    const d = this.#d;
    while (this.#pos < d.length) {
      this.#opAt = this.#pos;
      const op = (this.#op = d[this.#pos++]);
      switch (op) {
        case 0x80: // PROTO
          this.#proto = this.#u8();
          if (this.#proto > 5) throw this.#fail('E_UNSUPPORTED', `pickle protocol ${this.#proto}`);
          break;
        case 0x95: // FRAME: a length hint only; frames are read in line
          this.#u64();
          break;
        case 0x2e: // STOP
          return this.#pop();

        // ---- globals, calls, persistent ids
        case 0x63: { // GLOBAL 'module\nname\n'
          const module = this.#line();
          this.#push(this.#global(module, this.#line()));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.#pop();
          const module = this.#pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw this.#fail('E_CORRUPT', 'STACK_GLOBAL needs two strings');
          this.#push(this.#global(module, name));
          break;
        }
        case 0x82: case 0x83: case 0x84: // EXT1/2/4 (copyreg extension registry)
          throw this.#fail('E_UNSAFE_PICKLE', 'extension-registry globals (EXT1/2/4) are not allowed');
        case 0x52: { // REDUCE
          const args = this.#pop();
          this.#push(this.#call(this.#pop(), args, 'REDUCE'));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.#pop();
          this.#push(this.#call(this.#pop(), args, 'NEWOBJ'));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.#pop();
          const args = this.#pop();
          const cls = this.#pop();
          if (!(kwargs instanceof PyDict) || kwargs.map.size > 0) throw this.#fail('E_UNSUPPORTED', 'NEWOBJ_EX with keyword arguments');
          this.#push(this.#call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x69: { // INST 'module\nname\n' with MARKed args
          const module = this.#line();
          const cls = this.#global(module, this.#line());
          this.#push(this.#call(cls, tuple(this.#popMark()), 'INST/OBJ'));
          break;
        }
        case 0x6f: { // OBJ: MARK cls args...
          const items = this.#popMark();
          if (items.length === 0) throw this.#fail('E_CORRUPT', 'OBJ without a class');
          this.#push(this.#call(items[0], tuple(items.slice(1)), 'INST/OBJ'));
          break;
        }
        case 0x62: { // BUILD
          const state = this.#pop();
          this.#build(this.#top(), state);
          break;
        }
        case 0x51: // BINPERSID
          this.#push(this.#persistent(this.#pop()));
          break;
        case 0x50: // PERSID
          this.#push(this.#persistent(this.#line()));
          break;

        // ---- memo
        case 0x71: this.#memoPut(this.#u8()); break; // BINPUT
        case 0x72: this.#memoPut(this.#u32()); break; // LONG_BINPUT
        case 0x94: this.#memoPut(this.#memo.size); break; // MEMOIZE
        case 0x70: this.#memoPut(this.#decimal(this.#line())); break; // PUT
        case 0x68: this.#push(this.#memoGet(this.#u8())); break; // BINGET
        case 0x6a: this.#push(this.#memoGet(this.#u32())); break; // LONG_BINGET
        case 0x67: this.#push(this.#memoGet(this.#decimal(this.#line()))); break; // GET

        // ---- stack shuffling
        case 0x28: this.#mark(); break; // MARK
        case 0x30: this.#pop(); break; // POP
        case 0x31: this.#popMark(); break; // POP_MARK
        case 0x32: this.#push(this.#top()); break; // DUP

        // ---- containers
        case 0x7d: this.#push(new PyDict()); break; // EMPTY_DICT
        case 0x5d: this.#push([]); break; // EMPTY_LIST
        case 0x29: this.#push(tuple([])); break; // EMPTY_TUPLE
        case 0x8f: this.#push(new PySet([], false)); break; // EMPTY_SET
        case 0x74: this.#push(tuple(this.#popMark())); break; // TUPLE
        case 0x85: this.#push(tuple([this.#pop()])); break; // TUPLE1
        case 0x86: { // TUPLE2
          const b = this.#pop();
          this.#push(tuple([this.#pop(), b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.#pop();
          const b = this.#pop();
          this.#push(tuple([this.#pop(), b, c]));
          break;
        }
        case 0x6c: this.#push(this.#popMark()); break; // LIST
        case 0x64: { // DICT
          const dict = new PyDict();
          this.#setItems(dict, this.#popMark());
          this.#push(dict);
          break;
        }
        case 0x91: this.#push(new PySet(this.#popMark(), true)); break; // FROZENSET
        case 0x90: { // ADDITEMS
          const items = this.#popMark();
          const set = this.#top();
          if (!(set instanceof PySet) || set.frozen) throw this.#fail('E_CORRUPT', `ADDITEMS on a ${describePyValue(set)}`);
          for (const it of items) set.items.push(it);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.#pop();
          const k = this.#pop();
          this.#setItems(this.#top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.#popMark();
          this.#setItems(this.#top(), items);
          break;
        }
        case 0x61: { // APPEND
          const v = this.#pop();
          this.#appends(this.#top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.#popMark();
          this.#appends(this.#top(), items);
          break;
        }

        // ---- scalars
        case 0x4e: this.#push(null); break; // NONE
        case 0x88: this.#push(true); break; // NEWTRUE
        case 0x89: this.#push(false); break; // NEWFALSE
        case 0x4a: this.#push(this.#i32()); break; // BININT
        case 0x4b: this.#push(this.#u8()); break; // BININT1
        case 0x4d: this.#push(this.#u16()); break; // BININT2
        case 0x8a: this.#push(decodeLong(this.#bytes(this.#u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.#i32();
          if (n < 0) throw this.#fail('E_CORRUPT', 'negative LONG4 length');
          if (n > MAX_LONG_BYTES) throw this.#fail('E_UNSUPPORTED', `integer of ${n} bytes is too large`);
          this.#push(decodeLong(this.#bytes(n)));
          break;
        }
        case 0x49: { // INT (text); '01'/'00' are protocol 0 booleans
          const s = this.#line();
          this.#push(s === '01' ? true : s === '00' ? false : this.#textInt(s));
          break;
        }
        case 0x4c: this.#push(this.#textInt(this.#line().replace(/L$/, ''))); break; // LONG (text)
        case 0x47: this.#push(this.#dv.getFloat64(this.#take(8), false)); break; // BINFLOAT (big-endian)
        case 0x46: { // FLOAT (text)
          const s = this.#line();
          const v = Number(s);
          if (s.trim() === '' || (Number.isNaN(v) && !/^-?nan$/i.test(s))) throw this.#fail('E_CORRUPT', `bad FLOAT '${s}'`);
          this.#push(v);
          break;
        }

        // ---- strings and bytes
        case 0x58: this.#push(this.#str(this.#u32())); break; // BINUNICODE
        case 0x8c: this.#push(this.#str(this.#u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.#push(this.#str(this.#u64())); break; // BINUNICODE8
        case 0x54: { // BINSTRING (Python 2 str; decoded as UTF-8 like torch.load)
          const n = this.#i32();
          if (n < 0) throw this.#fail('E_CORRUPT', 'negative BINSTRING length');
          this.#push(this.#str(n));
          break;
        }
        case 0x55: this.#push(this.#str(this.#u8())); break; // SHORT_BINSTRING
        case 0x42: this.#push(this.#bytes(this.#u32())); break; // BINBYTES
        case 0x43: this.#push(this.#bytes(this.#u8())); break; // SHORT_BINBYTES
        case 0x8e: this.#push(this.#bytes(this.#u64())); break; // BINBYTES8
        case 0x96: this.#push(this.#bytes(this.#u64())); break; // BYTEARRAY8
        case 0x97: case 0x98: // NEXT_BUFFER / READONLY_BUFFER
          throw this.#fail('E_UNSUPPORTED', 'out-of-band buffers (protocol 5) are not supported');
        case 0x53: case 0x56: // STRING / UNICODE (protocol 0 escaped text)
          throw this.#fail('E_UNSUPPORTED', 'protocol 0 text strings are not supported');
        default:
          throw this.#fail('E_CORRUPT', 'unknown opcode');
      }
    }
    throw this.#fail('E_CORRUPT', 'pickle ends without STOP (truncated?)');
  }

  #decimal(s: string): number {
    if (!/^\d{1,10}$/.test(s)) throw this.#fail('E_CORRUPT', `bad memo key '${s}'`);
    return Number(s);
  }

  #textInt(s: string): number | bigint {
    if (!/^[+-]?\d{1,2000}$/.test(s)) throw this.#fail('E_CORRUPT', `bad integer '${s}'`);
    const v = BigInt(s);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

/**
 * Unpickles `data` (protocols 0-5 minus the escaped-text string opcodes and out-of-band buffers)
 * into plain JS values, resolving globals only through `options.resolveGlobal`.
 * Errors: `E_CORRUPT` (malformed/truncated), `E_UNSAFE_PICKLE` (global outside the allow-list),
 * `E_UNSUPPORTED` (valid pickle feature not supported), each naming `options.source`.
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions): unknown {
  return new Machine(data, options).run();
}
