/**
 * Typed errors. Every error the framework raises is a {@link TinyLlamaError} with a stable `code`,
 * a message naming the offending file/tensor/option, and the underlying `cause` chained.
 */

/** Stable error codes. */
export type ErrorCode =
  | 'E_CONFIG' // bad or unsupported model configuration
  | 'E_ARGUMENT' // bad user argument / option
  | 'E_NOT_FOUND' // missing file or tensor
  | 'E_SHAPE' // tensor shape mismatch
  | 'E_DTYPE' // unsupported or mismatched dtype
  | 'E_CORRUPT' // truncated or corrupt file
  | 'E_UNSAFE_PICKLE' // pickle references a global outside the allow-list
  | 'E_UNSUPPORTED' // valid input the framework does not support (yet)
  | 'E_TOKENIZER' // tokenizer model could not be loaded / used
  | 'E_BACKEND' // no backend could be initialised, or a backend failed
  | 'E_CONTEXT' // the context limit would be exceeded
  | 'E_ABORTED' // the caller aborted (AbortSignal)
  | 'E_IO'; // filesystem / network failure

/** Base class of all framework errors. */
export class TinyLlamaError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TinyLlamaError';
    this.code = code;
  }
}

/** True when `e` is a {@link TinyLlamaError} (optionally with the given code). */
export function isTinyLlamaError(e: unknown, code?: ErrorCode): e is TinyLlamaError {
  return e instanceof TinyLlamaError && (code === undefined || e.code === code);
}
