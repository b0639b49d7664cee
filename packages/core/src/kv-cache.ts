import { jsTensorAllocator, type TensorAllocator } from './backend.js';
import type { DecoderShape } from './decoder.js';
import { TinyLlamaError } from './errors.js';
import type { HostTensor } from './tensor.js';

/** Options of {@link SharedKvCache}. */
export interface SharedKvCacheOptions {
  /** Where the buffers live (default: JS memory). */
  readonly allocator?: TensorAllocator;
  /** Rows per KV head allocated at first (default 256, at most the context limit). */
  readonly initialCapacity?: number;
}

/**
 * The KV cache of the `shared` mode: per layer one key and one value tensor `[1, Hkv, capacity, D]`,
 * fed as `past` and bound as the in-place `present` output, so a step writes only its new rows (the
 * valid length travels in `attention_mask`). The capacity grows by doubling up to the context limit:
 * a short generation does not pay for a 2048-row cache.
 */
export class SharedKvCache {
  #tensors: HostTensor[] = [];
  #capacity: number;
  #length = 0;
  #released = false;
  readonly #allocator: TensorAllocator;

  constructor(
    readonly shape: DecoderShape,
    options: SharedKvCacheOptions = {},
  ) {
    this.#allocator = options.allocator ?? jsTensorAllocator;
    const initial = options.initialCapacity ?? 256;
    if (!Number.isInteger(initial) || initial < 1) throw new TinyLlamaError('E_ARGUMENT', `KV cache initial capacity must be a positive integer, got ${initial}`);
    this.#capacity = Math.min(initial, shape.maxPositionEmbeddings);
    this.#tensors = this.#allocate(this.#capacity);
  }

  /** Valid rows (tokens) per head. */
  get length(): number {
    return this.#length;
  }

  /** Allocated rows per head. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Layer `i`'s key tensor `[1, Hkv, capacity, D]` (a new object after a {@link reserve} that grew; read
   * its `data` when you use it).
   */
  key(i: number): HostTensor {
    return this.#tensor(2 * i);
  }

  /** Layer `i`'s value tensor `[1, Hkv, capacity, D]` (as {@link key}). */
  value(i: number): HostTensor {
    return this.#tensor(2 * i + 1);
  }

  /**
   * Makes room for `total` rows: grows the capacity (doubling, capped at the context limit) by
   * allocating new tensors and copying the valid rows of every head; the old tensors are freed.
   */
  reserve(total: number): void {
    this.#live();
    const max = this.shape.maxPositionEmbeddings;
    if (total > max) throw new TinyLlamaError('E_CONTEXT', `context limit exceeded: ${total} tokens > ${max}`);
    if (total <= this.#capacity) return;
    let capacity = this.#capacity;
    while (capacity < total) capacity *= 2;
    capacity = Math.min(capacity, max);
    const { numKeyValueHeads: Hkv, headDim: D } = this.shape;
    const old = this.#tensors;
    const next = this.#allocate(capacity);
    const rows = this.#length * D;
    const from = this.#capacity * D; // head stride before and after
    const to = capacity * D;
    for (let t = 0; t < old.length; t++) {
      // views read after every allocation (an allocator may move its memory when it grows)
      const src = old[t]!.data as Float32Array; // [1, Hkv, oldCapacity, D]
      const dst = next[t]!.data as Float32Array; // [1, Hkv, capacity, D]
      for (let h = 0; h < Hkv; h++) dst.set(src.subarray(h * from, h * from + rows), h * to);
    }
    for (const t of old) this.#allocator.free(t);
    this.#tensors = next;
    this.#capacity = capacity;
  }

  /** Marks rows `[0, total)` valid (after a successful step). */
  commit(total: number): void {
    this.#live();
    if (!Number.isInteger(total) || total < 0 || total > this.#capacity) throw new TinyLlamaError('E_ARGUMENT', `KV cache commit of ${total} rows: not in [0, capacity ${this.#capacity}]`);
    this.#length = total;
  }

  /** Empties the cache (the buffers stay; rows past `length` are never read). */
  reset(): void {
    this.#length = 0;
  }

  /** Frees the buffers. The cache is unusable afterwards. Idempotent. */
  release(): void {
    for (const t of this.#tensors) this.#allocator.free(t);
    this.#tensors = [];
    this.#length = 0;
    this.#released = true;
  }

  #tensor(i: number): HostTensor {
    this.#live();
    const t = this.#tensors[i];
    if (!t) throw new TinyLlamaError('E_ARGUMENT', `KV cache has no tensor ${i} (${this.shape.numLayers} layers)`);
    return t;
  }

  #live(): void {
    if (this.#released) throw new TinyLlamaError('E_ARGUMENT', 'the KV cache was released');
  }

  #allocate(capacity: number): HostTensor[] {
    const { numLayers, numKeyValueHeads: Hkv, headDim: D } = this.shape;
    const out: HostTensor[] = [];
    try {
      for (let i = 0; i < 2 * numLayers; i++) out.push(this.#allocator.allocate([1, Hkv, capacity, D])); // [1, Hkv, capacity, D]
    } catch (e) {
      for (const t of out) this.#allocator.free(t);
      throw e;
    }
    return out;
  }
}
