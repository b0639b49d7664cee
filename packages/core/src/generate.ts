import type { Runner } from './runner.js';
import { TinyLlamaError } from './errors.js';
import { Rng, sampleToken, validateSampling, type SamplingOptions } from './sampling.js';
import { StopStringFilter } from './stop.js';
import type { Tokenizer } from './tokenizer.js';

/** Options of {@link TextGenerator.stream}. */
export interface GenerateOptions extends SamplingOptions {
  /** Maximum number of new tokens (default 128). */
  readonly maxNewTokens?: number;
  /** Seed of the sampler; the same seed, prompt and options reproduce the output. Default: random. */
  readonly seed?: number;
  /** Extra token ids that end generation (not emitted). */
  readonly stopIds?: readonly number[];
  /** Strings that end generation; the text from the stop string on is not emitted. */
  readonly stopStrings?: readonly string[];
  /** Keep generating past EOS. */
  readonly ignoreEos?: boolean;
  /**
   * When prompt + maxNewTokens exceeds the context limit: `false` (default) throws `E_CONTEXT`;
   * `true` drops the oldest prompt tokens (keeping BOS) to fit.
   */
  readonly truncate?: boolean;
  /** Prepend BOS to a text prompt (default true). Ignored for id prompts. */
  readonly addBos?: boolean;
  /** Aborting ends the stream early with finishReason `aborted`. */
  readonly signal?: AbortSignal;
  /**
   * Called with each token as soon as it is sampled, before the next step runs (a stream's consumer
   * may see it a step later): for timing hooks such as {@link GenerationProfiler.token}.
   */
  readonly onToken?: (token: GeneratedToken) => void;
}

/** One streamed token. */
export interface GeneratedToken {
  readonly id: number;
  /** Newly completed text (may be '' mid UTF-8 sequence or while a stop string is undecided). */
  readonly text: string;
  /**
   * 0-based index among generated tokens. The last event may repeat the last index with text that was
   * held back until the end (an incomplete UTF-8 sequence or an undecided stop-string prefix).
   */
  readonly index: number;
}

/** Why generation ended. */
export type FinishReason = 'eos' | 'stop-id' | 'stop-string' | 'length' | 'context' | 'aborted';

/** Timings in milliseconds. */
export interface GenerationTimings {
  readonly promptTokens: number;
  /** From the call to the first generated token (prefill + first sample). */
  readonly ttftMs: number;
  /** From the first to the last generated token. */
  readonly decodeMs: number;
  /** (generated - 1) / decode seconds; 0 with fewer than 2 tokens. */
  readonly decodeTokensPerSecond: number;
}

/** Outcome of a generation. */
export interface GenerationResult {
  readonly promptIds: number[];
  /** Generated ids (the EOS / stop id that ended generation is not included). */
  readonly ids: number[];
  readonly text: string;
  readonly finishReason: FinishReason;
  /** The seed used (random when none was given). */
  readonly seed: number;
  readonly timings: GenerationTimings;
}

/** A token stream that also resolves to the {@link GenerationResult}. */
export interface GenerationStream extends AsyncIterable<GeneratedToken> {
  readonly result: Promise<GenerationResult>;
}

const now = (): number => performance.now();

/**
 * Text generation over a {@link Runner} (`DecoderRunner` or `ChunkedRunner`) and a {@link Tokenizer}: prefill, then one token at a
 * time with the KV cache. Calls are serialized (one KV cache).
 */
export class TextGenerator {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly runner: Runner,
    readonly tokenizer: Tokenizer,
    /** Ids that end generation besides the tokenizer's EOS (e.g. config eos ids). */
    readonly eosIds: readonly number[] = [],
  ) {}

  /** Context limit in tokens. */
  get contextLength(): number {
    return this.runner.shape.maxPositionEmbeddings;
  }

  /** Generates to completion. */
  async generate(prompt: string | readonly number[], options: GenerateOptions = {}): Promise<GenerationResult> {
    const s = this.stream(prompt, options);
    for await (const _ of s) {
      // drain
    }
    return s.result;
  }

  /** Streams tokens; iterate it, then await `.result` (or only await `.result`). */
  stream(prompt: string | readonly number[], options: GenerateOptions = {}): GenerationStream {
    const tokens: GeneratedToken[] = [];
    let notify: (() => void) | undefined;
    let done = false;
    const wake = (): void => {
      notify?.();
      notify = undefined;
    };
    const run = async (): Promise<GenerationResult> => {
      try {
        return await this.#run(prompt, options, (t) => {
          options.onToken?.(t);
          tokens.push(t);
          wake();
        });
      } finally {
        done = true;
        wake();
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    result.catch(() => undefined); // surfaced through the iterator or .result
    return {
      result,
      async *[Symbol.asyncIterator]() {
        let i = 0;
        for (;;) {
          if (i < tokens.length) {
            yield tokens[i++];
            continue;
          }
          if (done) break;
          await new Promise<void>((r) => (notify = r));
        }
        await result; // rethrows a failure
      },
    };
  }

  /** Encodes and checks the prompt against the context limit. */
  preparePrompt(prompt: string | readonly number[], options: GenerateOptions): { promptIds: number[]; maxNewTokens: number } {
    const maxNewTokens = options.maxNewTokens ?? 128;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new TinyLlamaError('E_ARGUMENT', `maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
    }
    let promptIds =
      typeof prompt === 'string' ? this.tokenizer.encode(prompt, { addBos: options.addBos ?? true }) : [...prompt];
    if (promptIds.length === 0) throw new TinyLlamaError('E_ARGUMENT', 'the prompt is empty (no tokens)');
    const ctx = this.contextLength;
    if (promptIds.length + maxNewTokens > ctx) {
      if (!options.truncate) {
        throw new TinyLlamaError(
          'E_CONTEXT',
          `prompt (${promptIds.length} tokens) + max new tokens (${maxNewTokens}) exceeds the context limit of ${ctx} tokens; ` +
            'shorten the prompt, lower the max new tokens, or enable truncation',
        );
      }
      const keep = Math.max(1, ctx - maxNewTokens);
      if (promptIds.length > keep) {
        const bos = promptIds[0] === this.tokenizer.bosId ? [promptIds[0]] : [];
        promptIds = [...bos, ...promptIds.slice(promptIds.length - (keep - bos.length))];
      }
    }
    return { promptIds, maxNewTokens };
  }

  async #run(
    prompt: string | readonly number[],
    options: GenerateOptions,
    emit: (t: GeneratedToken) => void,
  ): Promise<GenerationResult> {
    const t0 = now();
    validateSampling(options);
    const { promptIds, maxNewTokens } = this.preparePrompt(prompt, options);
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    const rng = new Rng(seed);
    const eos = new Set(options.ignoreEos ? [] : [this.tokenizer.eosId, ...this.eosIds]);
    const stopIds = new Set(options.stopIds ?? []);
    const stopper = new StopStringFilter(options.stopStrings ?? []);
    const decoder = this.tokenizer.createDecoder();
    const ids: number[] = [];
    let text = '';
    let finishReason: FinishReason = 'length';
    let tFirst = 0;
    let tLast = 0;

    this.runner.reset();
    if (maxNewTokens > 0 && !options.signal?.aborted) {
      let logits = await this.runner.forward(promptIds);
      for (;;) {
        if (options.signal?.aborted) {
          finishReason = 'aborted';
          break;
        }
        const id = sampleToken(logits, options, rng);
        if (eos.has(id)) {
          finishReason = 'eos';
          break;
        }
        if (stopIds.has(id)) {
          finishReason = 'stop-id';
          break;
        }
        ids.push(id);
        tLast = now();
        if (ids.length === 1) tFirst = tLast;
        const piece = stopper.push(decoder.push(id));
        text += piece;
        emit({ id, text: piece, index: ids.length - 1 });
        if (stopper.stopped) {
          finishReason = 'stop-string';
          break;
        }
        if (ids.length >= maxNewTokens) break;
        if (this.runner.length >= this.contextLength) {
          finishReason = 'context';
          break;
        }
        logits = await this.runner.forward([id]);
      }
    }
    if (!stopper.stopped) {
      const tail = stopper.push(decoder.flush()) + stopper.flush();
      if (tail) {
        text += tail;
        if (ids.length > 0) emit({ id: ids[ids.length - 1], text: tail, index: ids.length - 1 });
      }
    }
    const decodeMs = ids.length > 1 ? tLast - tFirst : 0;
    return {
      promptIds,
      ids,
      text,
      finishReason,
      seed,
      timings: {
        promptTokens: promptIds.length,
        ttftMs: tFirst > 0 ? tFirst - t0 : 0,
        decodeMs,
        decodeTokensPerSecond: decodeMs > 0 ? ((ids.length - 1) * 1000) / decodeMs : 0,
      },
    };
  }
}
