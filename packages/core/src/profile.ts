/**
 * Operator timings of one generation, split at the first token (`bench --profile`, the demo's
 * `profile=1`).
 * @packageDocumentation
 */

/** Milliseconds per operator type of one generation. */
export interface GenerationProfile {
  /** Up to the first token: the prompt's forward pass. */
  readonly prefill: Readonly<Record<string, number>>;
  /** Every decode step after the first token, together. */
  readonly decode: Readonly<Record<string, number>>;
  /** Decode steps in `decode` (generated tokens minus one). */
  readonly decodeSteps: number;
}

/**
 * Splits the timings a backend adds to one map (e.g. `WasmKernelsBackendOptions.profile`) into a
 * {@link GenerationProfile}: call {@link start} before the generation, {@link token} from
 * `GenerateOptions.onToken` (called before the next step runs, unlike a stream's consumer) and
 * {@link result} at the end.
 */
export class GenerationProfiler {
  #prefill: Record<string, number> | undefined;

  /** @param timings the map the backend's sessions add milliseconds per operator type to */
  constructor(readonly timings: Map<string, number>) {}

  /** Forgets earlier timings (a warm-up, the load). */
  start(): void {
    this.timings.clear();
    this.#prefill = undefined;
  }

  /** At each streamed token: the first one closes the prefill part. */
  token(): void {
    if (this.#prefill) return;
    this.#prefill = Object.fromEntries(this.timings);
    this.timings.clear();
  }

  /**
   * The profile of a generation of `tokens` tokens; undefined when no token came or nothing was timed
   * (a backend that does not time its operators).
   */
  result(tokens: number): GenerationProfile | undefined {
    const prefill = this.#prefill;
    if (!prefill || (Object.keys(prefill).length === 0 && this.timings.size === 0)) return undefined;
    return { prefill, decode: Object.fromEntries(this.timings), decodeSteps: Math.max(0, tokens - 1) };
  }
}
