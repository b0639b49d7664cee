/**
 * Streams text while watching for stop strings: text that could still become a stop string is held
 * back until it is decided, and text from the first stop string on is never emitted.
 */
export class StopStringFilter {
  #pending = '';
  #stopped = false;

  constructor(readonly stopStrings: readonly string[]) {}

  /** True once a stop string was seen. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Adds decoded text; returns what can be emitted now. */
  push(text: string): string {
    if (this.#stopped) return '';
    this.#pending += text;
    let cut = -1;
    for (const s of this.stopStrings) {
      if (s === '') continue;
      const i = this.#pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.#stopped = true;
      const out = this.#pending.slice(0, cut);
      this.#pending = '';
      return out;
    }
    // Hold back the longest suffix that is a prefix of some stop string.
    let hold = 0;
    for (const s of this.stopStrings) {
      for (let k = Math.min(s.length - 1, this.#pending.length); k > hold; k--) {
        if (this.#pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const out = this.#pending.slice(0, this.#pending.length - hold);
    this.#pending = this.#pending.slice(this.#pending.length - hold);
    return out;
  }

  /** Releases held-back text at the end of generation. */
  flush(): string {
    const out = this.#stopped ? '' : this.#pending;
    this.#pending = '';
    return out;
  }
}
