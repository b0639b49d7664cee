import { TinyLlamaError } from './errors.js';

interface Entry<T> {
  readonly name: string;
  readonly item: T;
  readonly priority: number;
  readonly order: number;
}

/**
 * A named registry with priorities (higher first; ties keep registration order). One instance per
 * runtime: there are no module-level registries.
 */
export class Registry<T> {
  readonly #entries = new Map<string, Entry<T>>();
  #order = 0;

  /** @param kind What is registered, used in error messages (e.g. `backend`). */
  constructor(readonly kind: string) {}

  /** Registers (or replaces) `name`. */
  register(name: string, item: T, priority = 0): this {
    if (!name) throw new TinyLlamaError('E_ARGUMENT', `${this.kind} name must not be empty`);
    this.#entries.set(name, { name, item, priority, order: this.#order++ });
    return this;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The item registered as `name`; throws `E_NOT_FOUND` listing the known names. */
  get(name: string): T {
    const e = this.#entries.get(name);
    if (!e) {
      throw new TinyLlamaError('E_NOT_FOUND', `unknown ${this.kind} '${name}' (known: ${this.names().join(', ') || 'none'})`);
    }
    return e.item;
  }

  /** Names, highest priority first. */
  names(): string[] {
    return this.list().map((e) => e.name);
  }

  /** Entries, highest priority first. */
  list(): { name: string; item: T; priority: number }[] {
    return [...this.#entries.values()].sort((a, b) => b.priority - a.priority || a.order - b.order);
  }
}
