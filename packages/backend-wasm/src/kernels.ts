import { TinyLlamaError, numel, shapeToString, type HostTensor } from '@tinyllama/core';
import { KERNELS_BASE64 } from './generated/kernels-wasm.js';
import { LinearMemory } from './memory.js';
import { ThreadPool } from './thread-pool.js';

/** Exported C functions, in the order the thread pool refers to them by index. */
const EXPORTS = ['q8_quantize_rows', 'matmul_nbits', 'matmul_nbits_chunked', 'repack_q4_tiles', 'attention_heads', 'sha256', 'silu_mul', 'add_rmsnorm', 'matmul_nbits_swiglu_chunked'] as const;
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
  matmul_nbits(aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, bits: number, q: number, scale: number, zp: number, bias: number, y: number, N: number, n0: number, n1: number): void;
  matmul_nbits_chunked(aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, bits: number, q: number, scale: number, zp: number, bias: number, y: number, N: number, counter: number, chunk: number): void;
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

/** Options of {@link WasmKernels.create}. */
export interface WasmKernelsOptions {
  /** Threads including the caller's (default: hardware concurrency, at most 4; 1 without shared memory). */
  readonly threads?: number;
  /** Use relaxed SIMD when the engine has it (default true). */
  readonly relaxedSimd?: boolean;
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
}

/** A tiny module using one relaxed-SIMD instruction: validates only where relaxed SIMD is enabled. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 43, 1, 41, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 128, 2, 11,
]);

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
  /** Tensors from allocTensor and their byte offsets. */
  readonly #tensors = new WeakMap<HostTensor, number>();
  #scratch = 0;
  #scratchBytes = 0;

  private constructor(mem: LinearMemory, exports: KernelExports, variant: 'relaxed' | 'simd', pool: ThreadPool | undefined) {
    this.mem = mem;
    this.#exports = exports;
    this.variant = variant;
    this.#pool = pool;
    this.#counter = pool ? pool.counterOffset : mem.alloc(4, 'work counter');
  }

  /** Compiles and instantiates the kernels and starts the worker threads. */
  static async create(options: WasmKernelsOptions = {}): Promise<WasmKernels> {
    const relaxed = (options.relaxedSimd ?? true) && WebAssembly.validate(RELAXED_PROBE);
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
    return new WasmKernels(mem, instance.exports as unknown as KernelExports, relaxed ? 'relaxed' : 'simd', pool);
  }

  /** Threads used by the kernels, including the caller's. */
  get threads(): number {
    return (this.#pool?.size ?? 0) + 1;
  }

  /**
   * Uploads a MatMulNBits weight (onnxruntime layout: `q` `[N, kBlocks, blockSize * bits / 8]`,
   * `scales` `[N * kBlocks]`, optional `zeroPoints`, optional `bias` `[N]`).
   */
  uploadNBits(w: { K: number; N: number; bits: number; blockSize: number; q: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array; bias?: Float32Array }, name: string): NBitsWeight {
    const { K, N, bits, blockSize: B } = w;
    if (bits !== 4 && bits !== 8) throw new TinyLlamaError('E_UNSUPPORTED', `MatMulNBits '${name}': bits=${bits} (4 or 8 supported)`);
    if (B < 16 || (B & (B - 1)) !== 0) throw new TinyLlamaError('E_UNSUPPORTED', `MatMulNBits '${name}': block_size=${B} (a power of two >= 16 supported)`);
    const kBlocks = Math.ceil(K / B);
    const blob = (B * bits) / 8;
    if (w.q.byteLength !== N * kBlocks * blob) throw new TinyLlamaError('E_SHAPE', `MatMulNBits '${name}': B has ${w.q.byteLength} bytes, expected ${N * kBlocks * blob}`);
    if (w.scales.length !== N * kBlocks) throw new TinyLlamaError('E_SHAPE', `MatMulNBits '${name}': scales have ${w.scales.length} values, expected ${N * kBlocks}`);
    const zpBytes = bits === 4 ? N * Math.ceil(kBlocks / 2) : N * kBlocks;
    if (w.zeroPoints && w.zeroPoints.byteLength !== zpBytes) throw new TinyLlamaError('E_SHAPE', `MatMulNBits '${name}': zero_points have ${w.zeroPoints.byteLength} bytes, expected ${zpBytes}`);
    let q: number;
    let scales: number;
    if (bits === 4 && B % 32 === 0) {
      // the 4-bit SIMD kernel reads tiles of four rows, block-interleaved (one sequential stream)
      // bytes already in this memory (a staged file) are repacked from where they are, else copied in first
      const ownQ = this.mem.owns(w.q);
      const ownS = this.mem.owns(w.scales) && w.scales.byteOffset % 4 === 0;
      const rawQ = ownQ ? w.q.byteOffset : this.mem.put(w.q, `${name} weights`);
      const rawS = ownS ? w.scales.byteOffset : this.mem.put(w.scales, `${name} scales`);
      q = this.mem.alloc(w.q.byteLength, `${name} weights`);
      scales = this.mem.alloc(w.scales.byteLength, `${name} scales`);
      this.#exports.repack_q4_tiles(rawQ, rawS, q, scales, N, kBlocks, blob);
      if (!ownQ) this.mem.free(rawQ);
      if (!ownS) this.mem.free(rawS);
    } else {
      q = this.mem.put(w.q, `${name} weights`);
      scales = this.mem.put(w.scales, `${name} scales`);
    }
    const zeroPoints = w.zeroPoints ? this.mem.put(w.zeroPoints, `${name} zero points`) : 0;
    const bias = w.bias ? this.mem.put(w.bias, `${name} bias`) : 0;
    const bytes = w.q.byteLength + w.scales.byteLength + (w.zeroPoints?.byteLength ?? 0) + (w.bias?.byteLength ?? 0);
    return { K, N, bits, blockSize: B, kBlocks, q, scales, zeroPoints, bias, bytes };
  }

  /** Frees an uploaded weight. */
  releaseNBits(w: NBitsWeight): void {
    for (const off of [w.q, w.scales, w.zeroPoints, w.bias]) this.mem.free(off);
  }

  /**
   * `y = a · Wᵀ` for an uploaded block-quantised weight, activations quantised to int8 per block.
   * @param a `[M, K]` float32
   * @returns `[M, N]` float32 (a fresh array)
   */
  matmulNBits(a: Float32Array, M: number, w: NBitsWeight): Float32Array {
    const { K, N, kBlocks, blockSize: B, bits } = w;
    if (a.length !== M * K) throw new TinyLlamaError('E_SHAPE', `MatMulNBits: input has ${a.length} values, expected ${M}x${K}`);
    // scratch: a [M, K] f32 | aq [M, Kp] i8 | ascale [M, kBlocks] f32 | asum [M, kBlocks] i32 | y [M, N] f32
    const [aqOff, asOff, amOff, yOff] = this.#quantizeActivations(a, M, w, [M * N * 4]);
    const ex = this.#exports;
    const pool = this.#pool;
    if (!pool || N < 64) {
      ex.matmul_nbits(aqOff, asOff, amOff, M, kBlocks, B, bits, w.q, w.scales, w.zeroPoints, w.bias, yOff!, N, 0, N);
    } else {
      const chunk = this.#columnChunk(N);
      const counter = this.#counter;
      pool.run(FN_MATMUL, [aqOff, asOff, amOff, M, kBlocks, B, bits, w.q, w.scales, w.zeroPoints, w.bias, yOff!, N, counter, chunk], () =>
        ex.matmul_nbits_chunked(aqOff, asOff, amOff, M, kBlocks, B, bits, w.q, w.scales, w.zeroPoints, w.bias, yOff!, N, counter, chunk),
      );
    }
    return this.mem.sliceF32(yOff!, M * N);
  }

  /**
   * SwiGLU of two projections of the same activations, `silu(a · Gᵀ) ⊙ (a · Uᵀ)` (an MLP's gate and up):
   * one activation quantisation and one dispatch for both matmuls, the SwiGLU applied by each thread to
   * the columns it computed. Bit-identical to two {@link matmulNBits} calls and {@link siluMul}.
   * @param a `[M, K]` float32
   * @returns `[M, N]` float32 (a fresh array)
   */
  matmulSwiGlu(a: Float32Array, M: number, gate: NBitsWeight, up: NBitsWeight): Float32Array {
    if (!swiGluPair(gate, up)) {
      throw new TinyLlamaError('E_SHAPE', `matmulSwiGlu: gate [${gate.N}, ${gate.K}] (${gate.bits}-bit, block ${gate.blockSize}) and up [${up.N}, ${up.K}] (${up.bits}-bit, block ${up.blockSize}) differ, or have a bias`);
    }
    const { K, N, kBlocks, blockSize: B, bits } = gate;
    if (a.length !== M * K) throw new TinyLlamaError('E_SHAPE', `matmulSwiGlu: input has ${a.length} values, expected ${M}x${K}`);
    // scratch: a | aq | ascale | asum (as matmulNBits) | gate output, then h [M, N] | up output [M, N]
    const [aqOff, asOff, amOff, gOff, uOff] = this.#quantizeActivations(a, M, gate, [M * N * 4, M * N * 4]);
    const ex = this.#exports;
    const pool = this.#pool;
    const counter = this.#counter;
    const args = [aqOff, asOff, amOff, M, kBlocks, B, bits, gate.q, gate.scales, gate.zeroPoints, up.q, up.scales, up.zeroPoints, gOff!, uOff!, N, counter] as const;
    if (!pool || N < 64) {
      this.mem.setI32(counter, 0);
      ex.matmul_nbits_swiglu_chunked(...args, N);
    } else {
      const chunk = this.#columnChunk(N);
      pool.run(FN_MATMUL_SWIGLU, [...args, chunk], () => ex.matmul_nbits_swiglu_chunked(...args, chunk));
    }
    return this.mem.sliceF32(gOff!, M * N);
  }

  /**
   * Lays out the scratch of a block-quantised matmul (`a` f32 | `aq` i8 | `ascale` f32 | `asum` i32,
   * then `extra` regions), copies `a` in and quantises it to int8 per block.
   * @returns offsets of aq, ascale, asum, then of each extra region
   */
  #quantizeActivations(a: Float32Array, M: number, w: NBitsWeight, extra: readonly number[]): number[] {
    const { K, kBlocks, blockSize: B, bits } = w;
    const Kp = kBlocks * B;
    const [aOff, aqOff, asOff, amOff, ...rest] = this.#scratchLayout([M * K * 4, M * Kp, M * kBlocks * 4, M * kBlocks * 4, ...extra]);
    this.mem.setF32(aOff!, a);
    this.#exports.q8_quantize_rows(aOff!, M, K, B, kBlocks, bits === 4 ? 1 : 0, aqOff!, asOff!, amOff!);
    return [aqOff!, asOff!, amOff!, ...rest];
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
    return this.#attention(q, kOff!, vOff!, T, dims, qOff!, oOff!, scOff!);
  }

  /**
   * {@link attention} over keys and values already in the kernels' memory (a KV cache from
   * {@link allocTensor}, at {@link tensorOffset}): `[Hkv, capacity, D]` at byte offsets `kOff` / `vOff`, the first `T` rows valid.
   */
  attentionAt(q: Float32Array, kOff: number, vOff: number, capacity: number, dims: AttentionDims): Float32Array {
    const { S, H, D, T } = dims;
    if (capacity < T) throw new TinyLlamaError('E_SHAPE', `attention: KV capacity ${capacity} < ${T} positions`);
    // scratch: q [S, H, D] | out [S, H, D] | scores [H, capacity]
    const [qOff, oOff, scOff] = this.#scratchLayout([S * H * D * 4, S * H * D * 4, H * capacity * 4]);
    return this.#attention(q, kOff, vOff, capacity, dims, qOff!, oOff!, scOff!);
  }

  #attention(q: Float32Array, kOff: number, vOff: number, capacity: number, dims: AttentionDims, qOff: number, oOff: number, scOff: number): Float32Array {
    const { S, T, H, Hkv, D, pastLen, scale } = dims;
    this.mem.setF32(qOff, q);
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
    return this.mem.sliceF32(oOff, S * H * D);
  }

  /**
   * A zero-filled float32 tensor living in the kernels' memory (the KV cache of a shared-buffer run):
   * kernels read and write it in place. Its `data` is a getter returning a fresh view (the memory may
   * have grown since). Free with {@link freeTensor}.
   */
  allocTensor(dims: readonly number[]): HostTensor {
    const n = numel(dims);
    if (!Number.isInteger(n) || n < 0) throw new TinyLlamaError('E_SHAPE', `wasm tensor: bad shape ${shapeToString(dims)}`);
    const mem = this.mem;
    const off = mem.alloc(n * 4, `tensor ${shapeToString(dims)}`);
    mem.u8.fill(0, off, off + n * 4);
    const t: HostTensor = {
      dtype: 'float32',
      dims: [...dims],
      get data() {
        return mem.f32.subarray(off >> 2, (off >> 2) + n);
      },
    };
    this.#tensors.set(t, off);
    return t;
  }

  /** Frees a tensor from {@link allocTensor}. Idempotent; other tensors are ignored. */
  freeTensor(t: HostTensor): void {
    const off = this.#tensors.get(t);
    if (off === undefined) return;
    this.#tensors.delete(t);
    this.mem.free(off);
  }

  /** Byte offset of a tensor from {@link allocTensor}, or undefined for other tensors. */
  tensorOffset(t: HostTensor): number | undefined {
    return this.#tensors.get(t);
  }

  /**
   * SwiGLU, `silu(gate) * up` element-wise (SIMD exp; relative error ~1e-7).
   * @returns a fresh array of `gate.length` values
   */
  siluMul(gate: Float32Array, up: Float32Array): Float32Array {
    const n = gate.length;
    if (up.length !== n) throw new TinyLlamaError('E_SHAPE', `siluMul: gate has ${n} values, up ${up.length}`);
    const [g, u, o] = this.#scratchLayout([n * 4, n * 4, n * 4]);
    this.mem.setF32(g!, gate);
    this.mem.setF32(u!, up);
    this.#exports.silu_mul(g!, u!, o!, n);
    return this.mem.sliceF32(o!, n);
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
    const len = w.length;
    const n = a.length;
    if (b.length !== n || len === 0 || n % len !== 0) throw new TinyLlamaError('E_SHAPE', `addRmsNorm: a has ${n} values, b ${b.length}, w ${len}`);
    const rows = n / len;
    // scratch: a, b [rows, len] | w [len] | sum, y [rows, len] | inv [rows]
    const [aOff, bOff, wOff, sOff, yOff, iOff] = this.#scratchLayout([n * 4, n * 4, len * 4, n * 4, n * 4, rows * 4]);
    this.mem.setF32(aOff!, a);
    this.mem.setF32(bOff!, b);
    this.mem.setF32(wOff!, w);
    this.#exports.add_rmsnorm(aOff!, bOff!, wOff!, rows, len, eps, sOff!, yOff!, iOff!);
    return { sum: this.mem.sliceF32(sOff!, n), y: this.mem.sliceF32(yOff!, n), inv: this.mem.sliceF32(iOff!, rows) };
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
  #scratchLayout(sizes: readonly number[]): number[] {
    const aligned = sizes.map((b) => Math.ceil(b / 64) * 64);
    let off = this.#ensureScratch(aligned.reduce((a, b) => a + b, 0));
    return aligned.map((b) => {
      const at = off;
      off += b;
      return at;
    });
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
  return gate.K === up.K && gate.N === up.N && gate.bits === up.bits && gate.blockSize === up.blockSize && gate.bias === 0 && up.bias === 0;
}
