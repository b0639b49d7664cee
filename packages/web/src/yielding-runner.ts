import type { DecoderShape, Runner } from '@tinyllama/core';

/**
 * Wraps a {@link Runner} so every `forward` first yields to the event loop (one macrotask). A worker
 * generating tokens otherwise only runs microtasks between steps and would not see a `stop` message
 * until the whole generation ended.
 */
export class YieldingRunner implements Runner {
  readonly #channel = new MessageChannel();
  readonly #waiting: Array<() => void> = [];

  constructor(readonly inner: Runner) {
    this.#channel.port1.onmessage = () => this.#waiting.shift()?.();
  }

  /** The wrapped runner's shape. */
  get shape(): DecoderShape {
    return this.inner.shape;
  }

  /** Tokens in the wrapped runner's cache. */
  get length(): number {
    return this.inner.length;
  }

  /** Empties the wrapped runner's cache. */
  reset(): void {
    this.inner.reset();
  }

  /** Yields one macrotask, then runs the wrapped `forward`. */
  async forward(ids: readonly number[], allLogits?: boolean): Promise<Float32Array> {
    await new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#channel.port2.postMessage(null);
    });
    return this.inner.forward(ids, allLogits);
  }

  /** Closes the channel used for yielding. */
  close(): void {
    this.#channel.port1.close();
  }
}
