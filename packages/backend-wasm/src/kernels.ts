import { TinyLlamaError, numel, shapeToString, type HostTensor } from '@tinyllama/core';
import { KERNELS_BASE64 } from './generated/kernels-wasm.js';
import { LinearMemory } from './memory.js';
import { ThreadPool } from './thread-pool.js';

/** Exported C functions, in the order the thread pool refers to them by index. */
const EXPORTS = ['q8_quantize_rows', 'matmul_nbits', 'matmul_nbits_chunked', 'repack_q4_tiles', 'attention_heads', 'sha256', 'silu_mul', 'add_rmsnorm', 'matmul_nbits_swiglu_chunked', 'gqa_prepare', 'repack_q4_tiles_inplace'] as const;
const FN_MATMUL = EXPORTS.indexOf('matmul_nbits_chunked');
const FN_MATMUL_SWIGLU = EXPORTS.indexOf('matmul_nbits_swiglu_chunked');
const FN_ATTENTION = EXPORTS.indexOf('attention_heads');
/** The C code's reserved stack region (wasm-ld's default 64 KiB stack plus its first page). */
const RESERVED = 2 * 65536;

interface KernelExports {
  q8_quantize_rows(a: number, M: number, K: number, B: number, kBlocks: number, interleave4: number, aq: number, ascale: number, asum: number): void;
  attention_heads(q: number, k: number, v: number, out: number, scores: number, S: number, T: number, pastLen: number, H: number, Hkv: number, D: number, scale: number, capacity: number, counter: number): void;
  sha256(data: number, len: number, out: number): void;
  silu_mul(gate: number, up: number, out: number, n: number): void;
  add_rmsnorm(a: number, b: number, w: number, rows: number, len: number, eps: number, sum: number, y: number, inv: number): void;
  repack_q4_tiles(q: number, scale: number, qt: number, st: number, N: number, kBlocks: number, blob: number): void;
  repack_q4_tiles_inplace(q: number, scale: number, N: number, kBlocks: number, blob: number, tmp: number): void;
  matmul_nbits(aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, bits: number, q: number, scale: number, zp: number, bias: number, y: number, N: number, n0: number, n1: number): void;
  matmul_nbits_chunked(aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, bits: number, q: number, scale: number, zp: number, bias: number, y: number, N: number, counter: number, chunk: number): void;
  gqa_prepare(q: number, k: number, v: number, qStride: number, kvStride: number, S: number, H: number, Hkv: number, D: number, cos: number, sin: number, half: number, P: number, qOut: number, kCache: number, vCache: number, capacity: number): void;
  matmul_nbits_swiglu_chunked(aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, bits: number, qg: number, sg: number, zg: number, qu: number, su: number, zu: number, yg: number, yu: number, N: number, counter: number, chunk: number): void;
}

/** Dimensions of an attention call (batch 1). */
export interface AttentionDims {
  /** New positions (queries). */
  readonly S: number;
  /** Positions in the cache, new ones included. */
  readonly T: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
  /** Position of the first query. */
  readonly pastLen: number;
  readonly scale: number;
}

/**
 * Native kernels for 4-bit block-quantised matmuls working in place on the kernels' memory (Node:
 * `@tinyllama/backend-native`). Offsets are byte offsets into `mem`, the memory's current bytes.
 * Weights it accepts are re-laid out by its `repack` and only ever read by its `matmul`.
 */
export interface NBitsEngine {
  readonly name: string;
  /** Whether this engine takes a weight of this shape (else the wasm kernels do). */
  accepts(w: { readonly N: number; readonly K: number; readonly bits: number; readonly blockSize: number; readonly zeroPoints: boolean }): boolean;
  /** Re-lays out `q` `[N, kBlocks, B / 2]` and `scales` `[N, kBlocks]` in place. */
  repack(mem: Uint8Array, q: number, scales: number, N: number, kBlocks: number, B: number): void;
  /** Quantises `a` `[M, K]` float32 per block to int8 (`aq` `[M, kBlocks * B]`, `ascale`, `asum` `[M, kBlocks]`), in the engine's layout. */
  quantize(mem: Uint8Array, a: number, M: number, K: number, B: number, kBlocks: number, aq: number, ascale: number, asum: number): void;
  /**
   * `y = aq · Wᵀ (+ bias)` `[M, N]`; with `qUp`/`scalesUp` (else 0), `y = silu(aq · Wᵀ) ⊙ (aq · Upᵀ)`.
   * `bias` is 0 when absent.
   */
  matmul(mem: Uint8Array, aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, q: number, scales: number, bias: number, y: number, N: number, qUp: number, scalesUp: number): void;
  /**
   * Optional: causal grouped-query attention with the contract of the wasm kernels' `attention_heads`
   * (q, out `[S, H, D]`; k, v caches `[Hkv, capacity, D]` with rows 0..T-1 valid; query s at pastLen + s).
   */
  attention?(mem: Uint8Array, q: number, k: number, v: number, out: number, S: number, T: number, pastLen: number, H: number, Hkv: number, D: number, capacity: number, scale: number): void;
}

/** Options of {@link WasmKernels.create}. */
export interface WasmKernelsOptions {
  /**
   * Native kernels for the 4-bit matmuls they accept (Node only), or a function making them, called by
   * {@link WasmKernels.create} (so a backend's `init` reports why they are unavailable).
   */
  readonly nbitsEngine?: NBitsEngine | (() => NBitsEngine);
  /** Threads including the caller's (default: hardware concurrency, at most 4; 1 without shared memory). */
  readonly threads?: number;
  /** Use relaxed SIMD when the engine has it (default true). */
  readonly relaxedSimd?: boolean;
}

/** The allocation of tensors over memory the kernels do not own ({@link WasmKernels.wrapTensor}). */
const UNOWNED = -1;

/** A float32 kernel input resolved before allocation: a byte offset in the kernels' memory, or a JS array to copy in. */
interface Source {
  readonly off?: number;
  readonly arr?: Float32Array;
}

/** Scratch bytes a resolved input needs: a JS array is copied in, a view into the memory needs none. */
function copyBytes(src: Source): number {
  return src.arr ? src.arr.length * 4 : 0;
}

/** A MatMulNBits weight uploaded to the kernels' memory. */
export interface NBitsWeight {
  readonly K: number;
  readonly N: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly kBlocks: number;
  /** Offsets in linear memory (0: absent). */
  readonly q: number;
  readonly scales: number;
  readonly zeroPoints: number;
  readonly bias: number;
  readonly bytes: number;
  /** The allocations this weight owns (freed by `releaseNBits`; weights kept in place own none of their bytes). */
  readonly allocations: readonly number[];
  /** Laid out for, and multiplied by, the native engine ({@link WasmKernelsOptions.nbitsEngine}). */
  readonly native: boolean;
}

/** A tiny module using one relaxed-SIMD instruction: validates only where relaxed SIMD is enabled. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 43, 1, 41, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 128, 2, 11,
]);

/**
 * Whether the engine's relaxed-SIMD dot products give our kernels the right integers. Validating is
 * not enough: Node 20's V8 accepts relaxed SIMD behind `--experimental-wasm-relaxed-simd` but its
 * kernels' 4-bit matmuls come out wrong by hundreds (its `i32x4.relaxed_dot_i8x16_i7x16_add_s` inside
 * the kernels' loops), where Chromium's and Firefox's are exact. The relaxed build also lays its 4-bit
 * tiles out differently (lanes = columns) with kernels of its own, whose results must equal the
 * SIMD128 build's bit for bit: 4-bit matmuls that reach each of them (1 and 5 rows, 17 and 5 tiles,
 * zero points, blocks of 128, negative activations) are checked against the SIMD128-only build; any
 * difference keeps SIMD128.
 */
let relaxedVerdict: Promise<boolean> | undefined;
function relaxedKernelsAgree(): Promise<boolean> {
  relaxedVerdict ??= (async () => {
    try {
      const run = async (key: 'relaxedLocal' | 'simdLocal'): Promise<Float32Array> => {
        const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
        const { instance } = (await WebAssembly.instantiate(decodeBase64(KERNELS_BASE64[key]) as Uint8Array<ArrayBuffer>, { env: { memory } })) as unknown as {
          instance: { exports: KernelExports };
        };
        const e = instance.exports;
        // shapes that reach every 4-bit tile kernel: 17 tiles (8-stream decoding, then one tile), the
        // first 5 tiles alone (4 streams, then one), 5 rows (4-row prompt tiles, then one row), and 2
        // rows with zero points
        const K = 256, B = 128, kb = 2, N = 68, blob = 64, M = 5;
        let next = RESERVED;
        const take = (bytes: number): number => {
          const at = next;
          next += Math.ceil(bytes / 16) * 16;
          return at;
        };
        const [a, q, qt, sc, st, aq, as, am] = [take(M * K * 4), take(N * kb * blob), take(N * kb * blob), take(N * kb * 4), take(N * kb * 4), take(M * kb * B), take(M * kb * 4), take(M * kb * 4)];
        const [y1, y2, y5, yz, zp] = [take(N * 4), take(N * 4), take(M * N * 4), take(2 * N * 4), take(N * Math.ceil(kb / 2))];
        const f32 = new Float32Array(memory.buffer);
        const u8 = new Uint8Array(memory.buffer);
        for (let k = 0; k < M * K; k++) f32[a / 4 + k] = ((k * 37) % 29) - 14.5; // negative and positive
        for (let i = 0; i < N * kb * blob; i++) u8[q + i] = (i * 73 + 11) & 255;
        for (let i = 0; i < N * kb; i++) f32[sc / 4 + i] = 0.5 + (i % 13) / 8;
        e.repack_q4_tiles(q, sc, qt, st, N, kb, blob);
        e.q8_quantize_rows(a, M, K, B, kb, 1, aq, as, am);
        e.matmul_nbits(aq, as, am, 1, kb, B, 4, qt, st, 0, 0, y1, N, 0, N);
        e.matmul_nbits(aq, as, am, 1, kb, B, 4, qt, st, 0, 0, y2, N, 0, 20);
        e.matmul_nbits(aq, as, am, M, kb, B, 4, qt, st, 0, 0, y5, N, 0, N);
        for (let i = 0; i < N * Math.ceil(kb / 2); i++) u8[zp + i] = (i * 29 + 3) & 255;
        e.matmul_nbits(aq, as, am, 2, kb, B, 4, qt, st, zp, 0, yz, N, 0, N); // zero points
        return Float32Array.from([
          ...new Float32Array(memory.buffer, y1, N),
          ...new Float32Array(memory.buffer, y2, 20),
          ...new Float32Array(memory.buffer, y5, M * N),
          ...new Float32Array(memory.buffer, yz, 2 * N),
        ]);
      };
      const [r, s] = await Promise.all([run('relaxedLocal'), run('simdLocal')]);
      return r.every((v, i) => v === s[i]);
    } catch {
      return false;
    }
  })();
  return relaxedVerdict;
}

function decodeBase64(s: string): Uint8Array {
  if (typeof atob === 'function') {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function hardwareThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 2;
}

function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const coi = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return coi !== false;
}

/**
 * A float32 tensor in the kernels' memory (`allocTensor`, the `*Tensor` kernels, `viewTensor`,
 * `wrapTensor`). `data` is a view made again only when the memory has grown (a view per read was most
 * of a step's garbage). A class rather than a closure per tensor plus a WeakMap entry: creating one is
 * a decode step's most frequent allocation.
 */
class ResidentTensor implements HostTensor {
  readonly dtype = 'float32' as const;
  /** Set by `freeTensor`: the tensor no longer names memory. */
  freed = false;
  #over: Float32Array | undefined;
  #view: Float32Array | undefined;

  constructor(
    readonly owner: WasmKernels,
    readonly mem: LinearMemory,
    /** Byte offset of the data. */
    readonly off: number,
    /** The allocation the data lies in (`UNOWNED`: memory the kernels do not own). */
    readonly base: number,
    readonly dims: readonly number[],
    readonly n: number,
  ) {}

  get data(): Float32Array {
    const f32 = this.mem.f32;
    if (f32 !== this.#over) {
      this.#over = f32;
      this.#view = f32.subarray(this.off >> 2, (this.off >> 2) + this.n);
    }
    return this.#view!;
  }
}

/**
 * The WebAssembly kernels: one module instance on the calling thread plus worker threads sharing its
 * memory. Heavy ops (block-quantised matmuls) are split by output column across the threads.
 */
export class WasmKernels {
  readonly mem: LinearMemory;
  /** `relaxed` (relaxed SIMD dot products) or `simd` (SIMD128 only). */
  readonly variant: 'relaxed' | 'simd';
  readonly #exports: KernelExports;
  readonly #pool: ThreadPool | undefined;
  /** The work counter the chunked kernels take chunks from (the pool's, or one of our own). */
  readonly #counter: number;
  /** Live resident tensors per allocation shared by views (absent: one tensor, the allocation's own). */
  readonly #refs = new Map<number, number>();
  #scratch = 0;
  #scratchBytes = 0;
  /** The native engine for the 4-bit matmuls it accepts, if any. */
  readonly engine: NBitsEngine | undefined;

  private constructor(mem: LinearMemory, exports: KernelExports, variant: 'relaxed' | 'simd', pool: ThreadPool | undefined, engine: NBitsEngine | undefined) {
    this.mem = mem;
    this.engine = engine;
    this.#exports = exports;
    this.variant = variant;
    this.#pool = pool;
    this.#counter = pool ? pool.counterOffset : mem.alloc(4, 'work counter');
  }

  /** Compiles and instantiates the kernels and starts the worker threads. */
  static async create(options: WasmKernelsOptions = {}): Promise<WasmKernels> {
    const engine = typeof options.nbitsEngine === 'function' ? options.nbitsEngine() : options.nbitsEngine;
    const relaxed = (options.relaxedSimd ?? true) && WebAssembly.validate(RELAXED_PROBE) && (await relaxedKernelsAgree());
    const shared = sharedMemoryAvailable();
    const threads = shared ? Math.max(1, options.threads ?? Math.min(4, hardwareThreads())) : 1;
    const key = relaxed ? (shared ? 'relaxed' : 'relaxedLocal') : shared ? 'simd' : 'simdLocal';
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(decodeBase64(KERNELS_BASE64[key]) as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new TinyLlamaError('E_BACKEND', `wasm kernels (${key}) could not be compiled: ${(e as Error).message} (WebAssembly SIMD128 is required)`, { cause: e });
    }
    const mem = new LinearMemory(RESERVED, { shared });
    const instance = await WebAssembly.instantiate(module, { env: { memory: mem.memory } });
    let pool: ThreadPool | undefined;
    if (threads > 1) {
      const ctl = mem.alloc(ThreadPool.controlBytes(), 'thread control block');
      // attention_heads' 12th argument (index 11) is the f32 scale
      pool = await ThreadPool.start(module, mem.memory, ctl, threads - 1, EXPORTS, { [FN_ATTENTION]: [11] });
    }
    return new WasmKernels(mem, instance.exports as unknown as KernelExports, relaxed ? 'relaxed' : 'simd', pool, engine);
  }

  /** Threads used by the kernels, including the caller's. */
  get threads(): number {
    return (this.#pool?.size ?? 0) + 1;
  }

  /**
   * Uploads a MatMulNBits weight (onnxruntime layout: `q` `[N, kBlocks, blockSize * bits / 8]`,
   * `scales` `[N * kBlocks]`, optional `zeroPoints`, optional `bias` `[N]`).
   *
   * With `inPlace`, `q` and `scales` views into this memory (a staged file the caller keeps alive for
   * the weight's lifetime, see {@link stage}) are used where they are: 4-bit weights are re-laid out
   * into tiles there, and no copy is made (scales not 4-byte aligned are still copied). Otherwise the
   * bytes are copied (from where they are when already in this memory).
   */
  uploadNBits(
    w: { K: number; N: number; bits: number; blockSize: number; q: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array; bias?: Float32Array },
    name: string,
    options: { readonly inPlace?: boolean } = {},
  ): NBitsWeight {
    const { K, N, bits, blockSize: B } = w;
    if (bits !== 4 && bits !== 8) throw new TinyLlamaError('E_UNSUPPORTED', `MatMulNBits '${name}': bits=${bits} (4 or 8 supported)`);
    if (B < 16 || (B & (B - 1)) !== 0) throw new TinyLlamaError('E_UNSUPPORTED', `MatMulNBits '${name}': block_size=${B} (a power of two >= 16 supported)`);
    const kBlocks = Math.ceil(K / B);
    const blob = (B * bits) / 8;
    if (w.q.byteLength !== N * kBlocks * blob) throw new TinyLlamaError('E_SHAPE', `MatMulNBits '${name}': B has ${w.q.byteLength} bytes, expected ${N * kBlocks * blob}`);
    if (w.scales.length !== N * kBlocks) throw new TinyLlamaError('E_SHAPE', `MatMulNBits '${name}': scales have ${w.scales.length} values, expected ${N * kBlocks}`);
    const zpBytes = bits === 4 ? N * Math.ceil(kBlocks / 2) : N * kBlocks;
    if (w.zeroPoints && w.zeroPoints.byteLength !== zpBytes) throw new TinyLlamaError('E_SHAPE', `MatMulNBits '${name}': zero_points have ${w.zeroPoints.byteLength} bytes, expected ${zpBytes}`);
    const allocations: number[] = [];
    const own = (off: number) => (allocations.push(off), off);
    const ownQ = this.mem.owns(w.q);
    const ownS = this.mem.owns(w.scales) && w.scales.byteOffset % 4 === 0;
    const native = this.engine?.accepts({ N, K, bits, blockSize: B, zeroPoints: w.zeroPoints !== undefined }) ?? false;
    const tiles = !native && bits === 4 && B % 32 === 0; // the 4-bit SIMD kernel reads tiles of four rows, block-interleaved (one sequential stream)
    let q: number;
    let scales: number;
    try {
      if (native) {
        // re-laid out by the engine where the bytes are (a staged file kept in place) or in a copy
        q = options.inPlace && ownQ ? w.q.byteOffset : own(this.mem.put(w.q, `${name} weights`));
        scales = options.inPlace && ownS ? w.scales.byteOffset : own(this.mem.put(w.scales, `${name} scales`));
        this.engine!.repack(this.mem.u8, q, scales, N, kBlocks, B);
      } else if (options.inPlace && ownQ) {
        q = w.q.byteOffset;
        scales = ownS ? w.scales.byteOffset : own(this.mem.put(w.scales, `${name} scales`));
        if (tiles) {
          const [tmp] = this.#scratchLayout([4 * kBlocks * blob + 4 * kBlocks * 4]);
          this.#exports.repack_q4_tiles_inplace(q, scales, N, kBlocks, blob, tmp!);
        }
      } else if (tiles) {
        // bytes already in this memory (a staged file) are repacked from where they are, else copied in first
        const rawQ = ownQ ? w.q.byteOffset : this.mem.put(w.q, `${name} weights`);
        const rawS = ownS ? w.scales.byteOffset : this.mem.put(w.scales, `${name} scales`);
        try {
          q = own(this.mem.alloc(w.q.byteLength, `${name} weights`));
          scales = own(this.mem.alloc(w.scales.byteLength, `${name} scales`));
          this.#exports.repack_q4_tiles(rawQ, rawS, q, scales, N, kBlocks, blob);
        } finally {
          if (!ownQ) this.mem.free(rawQ);
          if (!ownS) this.mem.free(rawS);
        }
      } else {
        q = own(this.mem.put(w.q, `${name} weights`));
        scales = own(this.mem.put(w.scales, `${name} scales`));
      }
      const zeroPoints = w.zeroPoints ? own(this.mem.put(w.zeroPoints, `${name} zero points`)) : 0;
      const bias = w.bias ? own(this.mem.put(w.bias, `${name} bias`)) : 0;
      const bytes = w.q.byteLength + w.scales.byteLength + (w.zeroPoints?.byteLength ?? 0) + (w.bias?.byteLength ?? 0);
      return { K, N, bits, blockSize: B, kBlocks, q, scales, zeroPoints, bias, bytes, allocations, native };
    } catch (e) {
      for (const off of allocations) this.mem.free(off);
      throw e;
    }
  }

  /** Frees an uploaded weight's own allocations (bytes kept in place belong to the caller). */
  releaseNBits(w: NBitsWeight): void {
    for (const off of w.allocations) this.mem.free(off);
  }

  /**
   * `y = a · Wᵀ` for an uploaded block-quantised weight, activations quantised to int8 per block.
   * @param a `[M, K]` float32: a JS array (copied in) or a view into the kernels' memory, e.g. a
   *   resident tensor's `data` (read in place)
   * @returns `[M, N]` float32 (a fresh array)
   */
  matmulNBits(a: Float32Array, M: number, w: NBitsWeight): Float32Array {
    const src = this.#source(a, M * w.K, 'MatMulNBits');
    return this.mem.sliceF32(this.#matmul(src, M, w, undefined), M * w.N);
  }

  /**
   * {@link matmulNBits} with the result left in the kernels' memory: a resident tensor of `dims`
   * (`M * N` values) for the next kernel to read in place. Free it with {@link freeTensor}.
   */
  matmulNBitsTensor(a: Float32Array, M: number, w: NBitsWeight, dims: readonly number[]): HostTensor {
    const src = this.#source(a, M * w.K, 'MatMulNBits');
    return this.#intoResident(dims, M * w.N, (y) => this.#matmul(src, M, w, y));
  }

  /** Runs a matmul on a resolved input; the result goes to `yOut`, or to scratch when undefined. Returns its offset. */
  #matmul(src: Source, M: number, w: NBitsWeight, yOut: number | undefined): number {
    const { N, kBlocks, blockSize: B, bits } = w;
    // scratch: a [M, K] f32 (a JS input) | aq [M, Kp] i8 | ascale [M, kBlocks] f32 | asum [M, kBlocks] i32 | y [M, N] f32 (no resident output)
    const [aqOff, asOff, amOff, yScratch] = this.#quantizeActivations(src, M, w, yOut === undefined ? [M * N * 4] : []);
    const yOff = yOut ?? yScratch!;
    if (w.native) {
      this.engine!.matmul(this.mem.u8, aqOff!, asOff!, amOff!, M, kBlocks, B, w.q, w.scales, w.bias, yOff, N, 0, 0);
      return yOff;
    }
    const ex = this.#exports;
    const pool = this.#pool;
    if (!pool || N < 64) {
      ex.matmul_nbits(aqOff!, asOff!, amOff!, M, kBlocks, B, bits, w.q, w.scales, w.zeroPoints, w.bias, yOff, N, 0, N);
    } else {
      const chunk = this.#columnChunk(N);
      const counter = this.#counter;
      pool.run(FN_MATMUL, [aqOff!, asOff!, amOff!, M, kBlocks, B, bits, w.q, w.scales, w.zeroPoints, w.bias, yOff, N, counter, chunk], () =>
        ex.matmul_nbits_chunked(aqOff!, asOff!, amOff!, M, kBlocks, B, bits, w.q, w.scales, w.zeroPoints, w.bias, yOff, N, counter, chunk),
      );
    }
    return yOff;
  }

  /**
   * SwiGLU of two projections of the same activations, `silu(a · Gᵀ) ⊙ (a · Uᵀ)` (an MLP's gate and up):
   * one activation quantisation and one dispatch for both matmuls, the SwiGLU applied by each thread to
   * the columns it computed. Bit-identical to two {@link matmulNBits} calls and {@link siluMul}.
   * @param a `[M, K]` float32 (a JS array, or a view into the kernels' memory read in place)
   * @returns `[M, N]` float32 (a fresh array)
   */
  matmulSwiGlu(a: Float32Array, M: number, gate: NBitsWeight, up: NBitsWeight): Float32Array {
    const src = this.#swiGluSource(a, M, gate, up);
    return this.mem.sliceF32(this.#swiGlu(src, M, gate, up, undefined), M * gate.N);
  }

  /** {@link matmulSwiGlu} into a resident tensor of `dims` (`M * N` values); free it with {@link freeTensor}. */
  matmulSwiGluTensor(a: Float32Array, M: number, gate: NBitsWeight, up: NBitsWeight, dims: readonly number[]): HostTensor {
    const src = this.#swiGluSource(a, M, gate, up);
    return this.#intoResident(dims, M * gate.N, (h) => this.#swiGlu(src, M, gate, up, h));
  }

  #swiGluSource(a: Float32Array, M: number, gate: NBitsWeight, up: NBitsWeight): Source {
    if (!swiGluPair(gate, up)) {
      throw new TinyLlamaError('E_SHAPE', `matmulSwiGlu: gate [${gate.N}, ${gate.K}] (${gate.bits}-bit, block ${gate.blockSize}) and up [${up.N}, ${up.K}] (${up.bits}-bit, block ${up.blockSize}) differ, or have a bias`);
    }
    return this.#source(a, M * gate.K, 'matmulSwiGlu');
  }

  /** The fused gate/up/SwiGLU on a resolved input; the result goes to `hOut`, or to scratch. Returns its offset. */
  #swiGlu(src: Source, M: number, gate: NBitsWeight, up: NBitsWeight, hOut: number | undefined): number {
    const { N, kBlocks, blockSize: B, bits } = gate;
    // scratch: a | aq | ascale | asum (as #matmul) | up output [M, N] | gate output, then h [M, N] (no resident output)
    const [aqOff, asOff, amOff, uOff, gScratch] = this.#quantizeActivations(src, M, gate, hOut === undefined ? [M * N * 4, M * N * 4] : [M * N * 4]);
    const gOff = hOut ?? gScratch!;
    if (gate.native && up.native) {
      this.engine!.matmul(this.mem.u8, aqOff!, asOff!, amOff!, M, kBlocks, B, gate.q, gate.scales, 0, gOff, N, up.q, up.scales);
      return gOff;
    }
    const ex = this.#exports;
    const pool = this.#pool;
    const counter = this.#counter;
    const args = [aqOff!, asOff!, amOff!, M, kBlocks, B, bits, gate.q, gate.scales, gate.zeroPoints, up.q, up.scales, up.zeroPoints, gOff, uOff!, N, counter] as const;
    if (!pool || N < 64) {
      this.mem.setI32(counter, 0);
      ex.matmul_nbits_swiglu_chunked(...args, N);
    } else {
      const chunk = this.#columnChunk(N);
      pool.run(FN_MATMUL_SWIGLU, [...args, chunk], () => ex.matmul_nbits_swiglu_chunked(...args, chunk));
    }
    return gOff;
  }

  /**
   * Lays out the scratch of a block-quantised matmul (`a` f32 unless the input is resident | `aq` i8 |
   * `ascale` f32 | `asum` i32, then `extra` regions), copies a JS input in and quantises it to int8 per block.
   * @returns offsets of aq, ascale, asum, then of each extra region
   */
  #quantizeActivations(src: Source, M: number, w: NBitsWeight, extra: readonly number[]): number[] {
    const { K, kBlocks, blockSize: B, bits } = w;
    const Kp = kBlocks * B;
    const sizes = [copyBytes(src), M * Kp, M * kBlocks * 4, M * kBlocks * 4];
    for (let i = 0; i < extra.length; i++) sizes.push(extra[i]!);
    const layout = this.#scratchLayout(sizes); // a | aq | ascale | asum | extra...
    const aOff = this.#place(src, layout[0]!);
    if (w.native) this.engine!.quantize(this.mem.u8, aOff, M, K, B, kBlocks, layout[1]!, layout[2]!, layout[3]!);
    else this.#exports.q8_quantize_rows(aOff, M, K, B, kBlocks, bits === 4 ? 1 : 0, layout[1]!, layout[2]!, layout[3]!);
    layout.shift();
    return layout;
  }

  /** Columns per chunk of a threaded matmul: ~16 chunks per thread, a multiple of 4 (the 4-bit tiles), taken dynamically. */
  #columnChunk(N: number): number {
    return Math.max(16, Math.ceil(N / (16 * this.threads) / 4) * 4);
  }

  /**
   * Causal grouped-query attention of `S` new queries over `T` cached positions (batch 1), heads split
   * across the threads. Query `s` is at position `pastLen + s` and sees keys `0..pastLen + s`.
   * @param q `[S, H, D]` (rotary applied)
   * @param k `[Hkv, T, D]`
   * @param v `[Hkv, T, D]`
   * @returns `[S, H, D]` (a fresh array)
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, dims: AttentionDims): Float32Array {
    const { S, T, H, Hkv, D } = dims;
    // scratch: k, v [Hkv, T, D] | q [S, H, D] | out [S, H, D] | scores [H, T]
    const [kOff, vOff, qOff, oOff, scOff] = this.#scratchLayout([Hkv * T * D * 4, Hkv * T * D * 4, S * H * D * 4, S * H * D * 4, H * T * 4]);
    this.mem.setF32(kOff!, k);
    this.mem.setF32(vOff!, v);
    this.mem.setF32(qOff!, q);
    this.#attention(kOff!, vOff!, T, dims, qOff!, oOff!, scOff!);
    return this.mem.sliceF32(oOff!, S * H * D);
  }

  /**
   * One GroupQueryAttention step on a resident KV cache, every byte staying in the kernels' memory: the
   * new queries, keys and values (views into this memory or JS arrays) are split out, rotated at
   * positions `pastLen ..` when `rotary` is given, the keys and values written to rows `pastLen .. T-1`
   * of the caches `[Hkv, capacity, D]` (tensors from {@link allocTensor}), and the attention's output
   * `[S, H, D]` is returned as a resident tensor of `outDims` (free it with {@link freeTensor}).
   * @param qkv the new positions: `packed` `[S, (H + 2 Hkv) * D]`, or `q` `[S, H * D]` with `k`, `v` `[S, Hkv * D]`
   * @param rotary cos / sin tables `[maxPos, half]` as resident tensors (see {@link uploadTensor}), or undefined
   */
  groupQueryAttention(
    qkv: { readonly packed: Float32Array } | { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array },
    kCache: HostTensor,
    vCache: HostTensor,
    capacity: number,
    dims: AttentionDims,
    rotary: { readonly cos: HostTensor; readonly sin: HostTensor; readonly half: number } | undefined,
    outDims: readonly number[],
  ): HostTensor {
    const { S, T, H, Hkv, D, pastLen } = dims;
    const kOff = this.tensorOffset(kCache);
    const vOff = this.tensorOffset(vCache);
    if (kOff === undefined || vOff === undefined) throw new TinyLlamaError('E_ARGUMENT', 'groupQueryAttention: the KV cache must be resident tensors (allocTensor)');
    if (capacity < T || pastLen + S !== T) throw new TinyLlamaError('E_SHAPE', `groupQueryAttention: ${S} new positions after ${pastLen} do not fit T=${T} in capacity ${capacity}`);
    const cosOff = rotary ? this.tensorOffset(rotary.cos) : 0;
    const sinOff = rotary ? this.tensorOffset(rotary.sin) : 0;
    if (cosOff === undefined || sinOff === undefined) throw new TinyLlamaError('E_ARGUMENT', 'groupQueryAttention: the rotary tables must be resident tensors (uploadTensor)');
    if (rotary && (numel(rotary.cos.dims) < T * rotary.half || 2 * rotary.half > D)) throw new TinyLlamaError('E_SHAPE', `groupQueryAttention: rotary tables ${shapeToString(rotary.cos.dims)} do not cover ${T} positions of half width ${rotary.half}`);
    const qw = H * D;
    const kw = Hkv * D;
    // inputs resolved before any allocation (a view may go stale when the memory grows)
    let q: Source;
    let k: Source;
    let v: Source;
    let kOffset = 0;
    let vOffset = 0;
    let qStride: number;
    let kvStride: number;
    if ('packed' in qkv) {
      q = k = v = this.#source(qkv.packed, S * (qw + 2 * kw), 'groupQueryAttention');
      kOffset = qw * 4;
      vOffset = (qw + kw) * 4;
      qStride = kvStride = qw + 2 * kw;
    } else {
      q = this.#source(qkv.q, S * qw, 'groupQueryAttention');
      k = this.#source(qkv.k, S * kw, 'groupQueryAttention');
      v = this.#source(qkv.v, S * kw, 'groupQueryAttention');
      qStride = qw;
      kvStride = kw;
    }
    return this.#intoResident(outDims, S * qw, (oOff) => {
      // scratch: JS inputs (q | k | v, each only when not resident) | rotated q [S, H, D] | scores [H, capacity]
      const packed = q === k;
      const [qIn, kIn, vIn, qOff, scOff] = this.#scratchLayout([copyBytes(q), packed ? 0 : copyBytes(k), packed ? 0 : copyBytes(v), S * qw * 4, H * capacity * 4]);
      const qAt = this.#place(q, qIn!);
      const kAt = packed ? qAt + kOffset : this.#place(k, kIn!);
      const vAt = packed ? qAt + vOffset : this.#place(v, vIn!);
      this.#exports.gqa_prepare(qAt, kAt, vAt, qStride, kvStride, S, H, Hkv, D, cosOff, sinOff, rotary?.half ?? 0, pastLen, qOff!, kOff, vOff, capacity);
      this.#attention(kOff, vOff, capacity, dims, qOff!, oOff, scOff!);
    });
  }

  /** attention_heads on offsets: q `[S, H, D]` at qOff, the result at oOff. */
  #attention(kOff: number, vOff: number, capacity: number, dims: AttentionDims, qOff: number, oOff: number, scOff: number): void {
    const { S, T, H, Hkv, D, pastLen, scale } = dims;
    if (this.engine?.attention) {
      this.engine.attention(this.mem.u8, qOff, kOff, vOff, oOff, S, T, pastLen, H, Hkv, D, capacity, scale);
      return;
    }
    const ex = this.#exports;
    const pool = this.#pool;
    const counter = this.#counter;
    this.mem.setI32(counter, 0);
    if (!pool || S * T * H < 4096) {
      ex.attention_heads(qOff, kOff, vOff, oOff, scOff, S, T, pastLen, H, Hkv, D, scale, capacity, counter);
    } else {
      // the float scale crosses the i32 argument slots of the thread pool as its bit pattern
      const scaleBits = new Int32Array(new Float32Array([scale]).buffer)[0]!;
      pool.run(FN_ATTENTION, [qOff, kOff, vOff, oOff, scOff, S, T, pastLen, H, Hkv, D, scaleBits, capacity, counter], () =>
        ex.attention_heads(qOff, kOff, vOff, oOff, scOff, S, T, pastLen, H, Hkv, D, scale, capacity, counter),
      );
    }
  }

  /**
   * A zero-filled float32 tensor living in the kernels' memory (the KV cache of a shared-buffer run):
   * kernels read and write it in place. Its `data` is a getter returning a fresh view (the memory may
   * have grown since). Free with {@link freeTensor}.
   */
  allocTensor(dims: readonly number[]): HostTensor {
    // zeros without touching never-used pages: a cache's rows become resident as they are written
    return this.#resident(dims, numel(dims), true);
  }

  /** A resident copy of float32 `values` (constants kernels read in place, e.g. rotary tables). Free with {@link freeTensor}. */
  uploadTensor(values: Float32Array, dims: readonly number[]): HostTensor {
    if (values.length !== numel(dims)) throw new TinyLlamaError('E_SHAPE', `uploadTensor: ${values.length} values for shape ${shapeToString(dims)}`);
    const t = this.#resident(dims, values.length);
    this.mem.setF32(this.tensorOffset(t)!, values);
    return t;
  }

  /**
   * A resident tensor over float32 values already in this memory that the caller keeps alive for as
   * long as the tensor is used (e.g. a constant in a staged file): no copy; {@link freeTensor} only
   * forgets it.
   */
  wrapTensor(values: Float32Array, dims: readonly number[]): HostTensor {
    if (!this.mem.owns(values) || values.byteOffset % 4 !== 0) throw new TinyLlamaError('E_ARGUMENT', 'wrapTensor: the values are not in the kernels\' memory');
    if (values.length !== numel(dims)) throw new TinyLlamaError('E_SHAPE', `wrapTensor: ${values.length} values for shape ${shapeToString(dims)}`);
    return this.#register(values.byteOffset, UNOWNED, dims, values.length);
  }

  /**
   * A resident tensor of `dims` over the same bytes as the resident tensor `t`, from its float
   * `elementOffset` on (a Reshape, or a slice): it keeps `t`'s memory alive until both are freed.
   */
  viewTensor(t: HostTensor, dims: readonly number[], elementOffset = 0): HostTensor {
    const src = this.#own(t);
    if (!src) throw new TinyLlamaError('E_ARGUMENT', 'viewTensor: the tensor is not resident in the kernels\' memory');
    const n = numel(dims);
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || elementOffset + n > numel(t.dims)) {
      throw new TinyLlamaError('E_SHAPE', `viewTensor: ${shapeToString(dims)} at element ${elementOffset} does not fit in ${shapeToString(t.dims)}`);
    }
    if (src.base !== UNOWNED) this.#refs.set(src.base, (this.#refs.get(src.base) ?? 1) + 1);
    return this.#register(src.off + elementOffset * 4, src.base, dims, n);
  }

  /** Frees a resident tensor (its memory goes when no view of it is left). Idempotent; other tensors are ignored. */
  freeTensor(t: HostTensor): void {
    const e = this.#own(t);
    if (!e) return;
    e.freed = true;
    if (e.base === UNOWNED) return;
    const refs = (this.#refs.get(e.base) ?? 1) - 1;
    if (refs > 0) {
      this.#refs.set(e.base, refs);
      return;
    }
    this.#refs.delete(e.base);
    this.mem.free(e.base);
  }

  /** Byte offset of a resident tensor's data, or undefined for other tensors. */
  tensorOffset(t: HostTensor): number | undefined {
    return this.#own(t)?.off;
  }

  /** `t` when it is a live resident tensor of these kernels. */
  #own(t: HostTensor): ResidentTensor | undefined {
    return t instanceof ResidentTensor && t.owner === this && !t.freed ? t : undefined;
  }

  /** Allocates a resident float32 tensor of `dims` holding `n` values (uninitialised unless `zeroed`). */
  #resident(dims: readonly number[], n: number, zeroed = false): HostTensor {
    if (!Number.isInteger(n) || n < 0 || n !== numel(dims)) throw new TinyLlamaError('E_SHAPE', `wasm tensor: bad shape ${shapeToString(dims)} for ${n} values`);
    const what = (): string => `tensor ${shapeToString(dims)}`;
    const off = zeroed ? this.mem.allocZeroed(n * 4, what) : this.mem.alloc(n * 4, what);
    return this.#register(off, off, dims, n);
  }

  #register(off: number, base: number, dims: readonly number[], n: number): HostTensor {
    return new ResidentTensor(this, this.mem, off, base, dims.slice(), n);
  }


  /** Allocates a resident tensor and runs `fill` with its offset; frees it if `fill` throws. */
  #intoResident(dims: readonly number[], n: number, fill: (off: number) => unknown): HostTensor {
    const t = this.#resident(dims, n);
    try {
      fill(this.tensorOffset(t)!);
    } catch (e) {
      this.freeTensor(t);
      throw e;
    }
    return t;
  }

  /**
   * Resolves a float32 input of `n` values before anything is allocated: a view into this memory is
   * read in place (its offset), a JS array is copied in later by {@link #place}.
   */
  #source(a: Float32Array, n: number, what: string): Source {
    if (a.length !== n) throw new TinyLlamaError('E_SHAPE', `${what}: input has ${a.length} values, expected ${n}`);
    return this.mem.owns(a) ? { off: a.byteOffset } : { arr: a };
  }

  /** The offset a resolved input is read from: its own, or `scratchOff` after copying a JS array there. */
  #place(src: Source, scratchOff: number): number {
    if (src.off !== undefined) return src.off;
    this.mem.setF32(scratchOff, src.arr!);
    return scratchOff;
  }

  /**
   * SwiGLU, `silu(gate) * up` element-wise (SIMD exp; relative error ~1e-7).
   * @returns a fresh array of `gate.length` values
   */
  siluMul(gate: Float32Array, up: Float32Array): Float32Array {
    const [g, u] = this.#siluSources(gate, up);
    return this.mem.sliceF32(this.#silu(g, u, gate.length, undefined), gate.length);
  }

  /** {@link siluMul} into a resident tensor of `dims`; free it with {@link freeTensor}. */
  siluMulTensor(gate: Float32Array, up: Float32Array, dims: readonly number[]): HostTensor {
    const [g, u] = this.#siluSources(gate, up);
    return this.#intoResident(dims, gate.length, (o) => this.#silu(g, u, gate.length, o));
  }

  #siluSources(gate: Float32Array, up: Float32Array): [Source, Source] {
    const n = gate.length;
    if (up.length !== n) throw new TinyLlamaError('E_SHAPE', `siluMul: gate has ${n} values, up ${up.length}`);
    return [this.#source(gate, n, 'siluMul'), this.#source(up, n, 'siluMul')];
  }

  #silu(g: Source, u: Source, n: number, out: number | undefined): number {
    const [gIn, uIn, oScratch] = this.#scratchLayout([copyBytes(g), copyBytes(u), out === undefined ? n * 4 : 0]);
    const o = out ?? oScratch!;
    this.#exports.silu_mul(this.#place(g, gIn!), this.#place(u, uIn!), o, n);
    return o;
  }

  /**
   * Residual add and RMS normalisation of rows of `len` values, bit-identical to the TypeScript Add and
   * SimplifiedLayerNormalization kernels: `sum = a + b`, `y = sum * inv * w`,
   * `inv = 1 / sqrt(mean(sum²) + eps)` per row.
   * @param a `[rows, len]`
   * @param b `[rows, len]`
   * @param w `[len]`
   * @returns fresh arrays: `sum` and `y` `[rows, len]`, `inv` `[rows]`
   */
  addRmsNorm(a: Float32Array, b: Float32Array, w: Float32Array, eps: number): { sum: Float32Array; y: Float32Array; inv: Float32Array } {
    const src = this.#normSources(a, b, w);
    const n = a.length;
    const rows = n / w.length;
    const [sOff, yOff, iOff] = this.#addNorm(src, rows, w.length, eps, undefined);
    return { sum: this.mem.sliceF32(sOff!, n), y: this.mem.sliceF32(yOff!, n), inv: this.mem.sliceF32(iOff!, rows) };
  }

  /** {@link addRmsNorm} into two resident tensors of `dims`, `[sum, y]` (the row scales are not kept); free them with {@link freeTensor}. */
  addRmsNormTensors(a: Float32Array, b: Float32Array, w: Float32Array, eps: number, dims: readonly number[]): [HostTensor, HostTensor] {
    const src = this.#normSources(a, b, w);
    const n = a.length;
    const sum = this.#resident(dims, n);
    try {
      const y = this.#intoResident(dims, n, (yOff) => this.#addNorm(src, n / w.length, w.length, eps, [this.tensorOffset(sum)!, yOff]));
      return [sum, y];
    } catch (e) {
      this.freeTensor(sum);
      throw e;
    }
  }

  #normSources(a: Float32Array, b: Float32Array, w: Float32Array): [Source, Source, Source] {
    const len = w.length;
    const n = a.length;
    if (b.length !== n || len === 0 || n % len !== 0) throw new TinyLlamaError('E_SHAPE', `addRmsNorm: a has ${n} values, b ${b.length}, w ${len}`);
    return [this.#source(a, n, 'addRmsNorm'), this.#source(b, n, 'addRmsNorm'), this.#source(w, len, 'addRmsNorm')];
  }

  /** add_rmsnorm on resolved inputs; sum and y go to `out` or to scratch. Returns [sum, y, inv] offsets. */
  #addNorm([a, b, w]: [Source, Source, Source], rows: number, len: number, eps: number, out: [number, number] | undefined): number[] {
    const n = rows * len;
    // scratch: JS inputs a, b [rows, len] | w [len] | sum, y [rows, len] (no resident outputs) | inv [rows]
    const [aIn, bIn, wIn, sScratch, yScratch, iOff] = this.#scratchLayout([copyBytes(a), copyBytes(b), copyBytes(w), out ? 0 : n * 4, out ? 0 : n * 4, rows * 4]);
    const [sOff, yOff] = out ?? [sScratch!, yScratch!];
    this.#exports.add_rmsnorm(this.#place(a, aIn!), this.#place(b, bIn!), this.#place(w, wIn!), rows, len, eps, sOff, yOff, iOff!);
    return [sOff, yOff, iOff!];
  }

  /**
   * Allocates `bytes` in the kernels' memory for a file to be written straight into it (a view, no JS
   * copy); pass the view as external data to `createSession`, then {@link releaseStaging} it.
   */
  stage(bytes: number, what = 'staged file'): Uint8Array {
    const off = this.mem.alloc(bytes, what);
    return this.mem.u8.subarray(off, off + bytes);
  }

  /** Frees a buffer from {@link stage}. */
  releaseStaging(view: Uint8Array): void {
    this.mem.free(view.byteOffset);
  }

  /** SHA-256 (hex) of a view into the kernels' memory (e.g. from {@link stage}). */
  sha256Hex(view: Uint8Array): string {
    if (view.buffer.byteLength > this.mem.capacityBytes || !(view.buffer instanceof SharedArrayBuffer || view.buffer === this.mem.memory.buffer)) {
      throw new TinyLlamaError('E_ARGUMENT', 'sha256Hex: the bytes are not in the kernels\' memory');
    }
    const [out] = this.#scratchLayout([32]);
    this.#exports.sha256(view.byteOffset, view.byteLength, out!);
    let hex = '';
    for (const b of this.mem.u8.subarray(out!, out! + 32)) hex += b.toString(16).padStart(2, '0');
    return hex;
  }

  /** Stops the worker threads. The memory is released with this object. */
  dispose(): void {
    this.#pool?.stop();
  }

  /** Offsets of consecutive 64-byte aligned regions of the given sizes in the scratch buffer. */
  #scratchLayout(sizes: number[]): number[] {
    // in place (callers pass a fresh array): this runs a few times per layer per token
    let total = 0;
    for (let i = 0; i < sizes.length; i++) total += sizes[i] = Math.ceil(sizes[i]! / 64) * 64;
    let off = this.#ensureScratch(total);
    for (let i = 0; i < sizes.length; i++) {
      const bytes = sizes[i]!;
      sizes[i] = off;
      off += bytes;
    }
    return sizes;
  }

  #ensureScratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      if (this.#scratch) this.mem.free(this.#scratch);
      this.#scratchBytes = Math.max(bytes, this.#scratchBytes * 2);
      this.#scratch = this.mem.alloc(this.#scratchBytes, 'scratch');
    }
    return this.#scratch;
  }
}

/** True when `gate` and `up` can run as one {@link WasmKernels.matmulSwiGlu}: same shape and format, no bias. */
export function swiGluPair(gate: NBitsWeight, up: NBitsWeight): boolean {
  return gate.K === up.K && gate.N === up.N && gate.bits === up.bits && gate.blockSize === up.blockSize && gate.bias === 0 && up.bias === 0 && gate.native === up.native;
}
