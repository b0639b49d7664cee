import { TinyLlamaError } from '@tinyllama/core';

const PAGE = 65536;
/** wasm32 limit: 65536 pages. */
const MAX_PAGES = 65536;
/** Allocations are 64-byte aligned (cache lines; SIMD loads need 16). */
const ALIGN = 64;

/**
 * The kernels' linear memory: one shared `WebAssembly.Memory` (so worker threads see the same bytes),
 * with a first-fit allocator over it. The first pages are the C code's reserved stack area (the
 * kernels use no stack, but the region is left alone). Views must be made afresh after any
 * allocation: growing the memory replaces `buffer`.
 */
export class LinearMemory {

  readonly memory: WebAssembly.Memory;
  /** Free ranges `[offset, end)`, sorted by offset. */
  readonly #free: { offset: number; end: number }[] = [];
  readonly #sizes = new Map<number, number>();
  #used = 0;
  #peak = 0;
  /** End of the highest range ever handed out: the memory above it is still the zeros it grew with. */
  #highWater = 0;
  /** Views over the whole memory, made again only when it grows (`memory.buffer` is costly to read). */
  #u8!: Uint8Array;
  #f32!: Float32Array;
  #i32!: Int32Array;
  /** Every buffer object the memory has had (growing a shared memory gives a new one over the same bytes). */
  readonly #buffers = new WeakSet<ArrayBufferLike>();

  /** @param reserved bytes at the start that are never handed out (the C stack area) */
  constructor(reserved: number, options: { initialPages?: number; shared?: boolean } = {}) {
    const pages = Math.max(options.initialPages ?? 64, Math.ceil(reserved / PAGE) + 1);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: options.shared ?? true });
    const start = Math.ceil(reserved / ALIGN) * ALIGN;
    this.#free.push({ offset: start, end: pages * PAGE });
    this.#refreshViews();
  }

  #refreshViews(): void {
    const buffer = this.memory.buffer;
    this.#buffers.add(buffer);
    this.#u8 = new Uint8Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#i32 = new Int32Array(buffer);
  }

  /** The whole memory as bytes (valid until the next allocation that grows it). */
  get u8(): Uint8Array {
    return this.#u8;
  }

  /** The whole memory as float32 values (valid until the next allocation that grows it). */
  get f32(): Float32Array {
    return this.#f32;
  }

  /** True when `view` looks at this memory (e.g. a staged file): its `byteOffset` is an address here. */
  owns(view: ArrayBufferView): boolean {
    return this.#buffers.has(view.buffer) && view.buffer.byteLength > 0;
  }

  /** True for a shared memory (threads): views made before it grows stay valid; a local memory's do not. */
  get shared(): boolean {
    return typeof SharedArrayBuffer !== 'undefined' && this.memory.buffer instanceof SharedArrayBuffer;
  }

  /** Bytes currently allocated. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Largest `usedBytes` seen. */
  get peakBytes(): number {
    return this.#peak;
  }

  /** Size of the linear memory (it only grows). */
  get capacityBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * Allocates `bytes` (64-byte aligned); grows the memory when no free range fits. `what` names the
   * buffer in errors (a function: built only then, off the per-step path).
   */
  alloc(bytes: number, what: string | (() => string) = 'buffer'): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = this.#free.findIndex((r) => r.end - r.offset >= size);
    if (i < 0) {
      this.#grow(size, what);
      i = this.#free.findIndex((r) => r.end - r.offset >= size);
    }
    const r = this.#free[i]!;
    const offset = r.offset;
    r.offset += size;
    if (r.offset === r.end) this.#free.splice(i, 1);
    this.#sizes.set(offset, size);
    this.#used += size;
    this.#peak = Math.max(this.#peak, this.#used);
    this.#highWater = Math.max(this.#highWater, offset + size);
    return offset;
  }

  /**
   * Allocates `bytes` of zeros. Only the part that earlier allocations used is cleared: memory never
   * handed out is still zero, and its pages stay untouched (not resident) until written, so a KV cache
   * sized for 256 positions costs the rows actually filled.
   */
  allocZeroed(bytes: number, what?: string | (() => string)): number {
    const before = this.#highWater;
    const offset = this.alloc(bytes, what);
    if (offset < before) this.#u8.fill(0, offset, Math.min(offset + bytes, before));
    return offset;
  }

  /** Returns an allocation to the free list (coalescing neighbours). Freeing 0 is a no-op. */
  free(offset: number): void {
    if (offset === 0) return;
    const size = this.#sizes.get(offset);
    if (size === undefined) throw new TinyLlamaError('E_ARGUMENT', `wasm memory: free of unknown offset ${offset}`);
    this.#sizes.delete(offset);
    this.#used -= size;
    const end = offset + size;
    let i = 0;
    while (i < this.#free.length && this.#free[i]!.offset < offset) i++;
    this.#free.splice(i, 0, { offset, end });
    // merge with the next and previous ranges
    const cur = this.#free[i]!;
    const next = this.#free[i + 1];
    if (next && next.offset === cur.end) {
      cur.end = next.end;
      this.#free.splice(i + 1, 1);
    }
    const prev = this.#free[i - 1];
    if (prev && prev.end === cur.offset) {
      prev.end = cur.end;
      this.#free.splice(i, 1);
    }
  }

  /** Copies bytes in at `offset`. */
  write(offset: number, bytes: ArrayBufferView): void {
    this.#u8.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
  }

  /** Allocates and copies `bytes` in. */
  put(bytes: ArrayBufferView, what?: string): number {
    const off = this.alloc(bytes.byteLength, what);
    this.write(off, bytes);
    return off;
  }

  /** Copies float32 values in at `offset` (4-byte aligned). */
  setF32(offset: number, values: Float32Array): void {
    this.#f32.set(values, offset >> 2);
  }

  /** Writes one int32 at `offset` (4-byte aligned). */
  setI32(offset: number, value: number): void {
    this.#i32[offset >> 2] = value;
  }

  /** Copies `length` float32 values out of `offset` into a fresh array. */
  sliceF32(offset: number, length: number): Float32Array {
    return this.#f32.slice(offset >> 2, (offset >> 2) + length);
  }

  #grow(size: number, label: string | (() => string)): void {
    const what = typeof label === 'function' ? label() : label;
    const current = this.memory.buffer.byteLength / PAGE;
    const last = this.#free[this.#free.length - 1];
    const tailFree = last && last.end === current * PAGE ? last.end - last.offset : 0;
    // grow by at least the shortfall, and by 1/8 of the memory to amortise
    const need = Math.ceil((size - tailFree) / PAGE);
    const pages = Math.min(MAX_PAGES - current, Math.max(need, Math.ceil(current / 8)));
    if (pages < need) {
      throw new TinyLlamaError('E_BACKEND', `wasm memory: cannot allocate ${what} (${size} bytes): the 4 GiB wasm32 limit is reached`);
    }
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new TinyLlamaError('E_BACKEND', `wasm memory: cannot grow by ${pages * PAGE} bytes for ${what}`, { cause: e });
    }
    this.#refreshViews();
    const end = (current + pages) * PAGE;
    if (tailFree > 0 && last) last.end = end;
    else this.#free.push({ offset: current * PAGE, end });
  }
}
