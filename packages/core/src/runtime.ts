import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { ArchitecturePlugin } from './architecture.js';
import { BackendRegistry, type Backend } from './backend.js';
import { TinyLlamaError } from './errors.js';
import type { AttentionStrategy } from './graph.js';
import { silentLogger, type Logger } from './logger.js';
import { Registry } from './registry.js';
import type { TokenizerLoader } from './tokenizer.js';
import type { CheckpointLoader } from './weights.js';

/** Injection tokens of the composition root. */
export const TOKENS = {
  Logger: Symbol.for('tinyllama.Logger'),
  Backends: Symbol.for('tinyllama.Backends'),
  Architectures: Symbol.for('tinyllama.Architectures'),
  Loaders: Symbol.for('tinyllama.Loaders'),
  Tokenizers: Symbol.for('tinyllama.Tokenizers'),
  Attention: Symbol.for('tinyllama.Attention'),
  Runtime: Symbol.for('tinyllama.Runtime'),
} as const;

/** A package's contribution to a runtime: registers its loaders, architectures, backends, ... */
export interface RuntimePlugin {
  readonly name: string;
  register(runtime: Runtime): void;
}

/**
 * The registries of one runtime instance. Nothing here is global: two runtimes can hold different
 * backends or architectures side by side.
 */
export class Runtime {
  constructor(
    readonly backends: BackendRegistry,
    readonly architectures: Registry<ArchitecturePlugin>,
    readonly loaders: Registry<CheckpointLoader>,
    readonly tokenizers: Registry<TokenizerLoader>,
    readonly attention: Registry<AttentionStrategy>,
    readonly logger: Logger,
  ) {}

  /** Registers a plugin's contributions. */
  use(plugin: RuntimePlugin): this {
    plugin.register(this);
    this.logger.debug('plugin registered', { plugin: plugin.name });
    return this;
  }

  /** The highest-priority architecture whose `matches` accepts the raw config. */
  findArchitecture(raw: Readonly<Record<string, unknown>>): ArchitecturePlugin {
    for (const { item } of this.architectures.list()) if (item.matches(raw)) return item;
    const kind = String(raw.model_type ?? (Array.isArray(raw.architectures) ? raw.architectures.join(',') : 'unknown'));
    throw new TinyLlamaError(
      'E_UNSUPPORTED',
      `no registered architecture handles model_type '${kind}' (registered: ${this.architectures.names().join(', ') || 'none'})`,
    );
  }

  /** The highest-priority checkpoint loader that recognises these file names. */
  findLoader(fileNames: readonly string[]): CheckpointLoader {
    for (const { item } of this.loaders.list()) if (item.detect(fileNames)) return item;
    throw new TinyLlamaError(
      'E_NOT_FOUND',
      `no checkpoint found: expected model.safetensors, pytorch_model.bin or a sharded index (loaders: ${this.loaders.names().join(', ') || 'none'})`,
    );
  }

  /** The highest-priority tokenizer loader that recognises these file names. */
  findTokenizerLoader(fileNames: readonly string[]): TokenizerLoader {
    for (const { item } of this.tokenizers.list()) if (item.detect(fileNames)) return item;
    throw new TinyLlamaError('E_NOT_FOUND', `no tokenizer file found (tokenizer loaders: ${this.tokenizers.names().join(', ') || 'none'})`);
  }

  /**
   * The attention strategy to use on `backend`: `name` when given (checked against the backend's
   * operator domains), else the highest-priority one the backend supports.
   */
  pickAttention(backend: Backend, name?: string): AttentionStrategy {
    const fits = (s: AttentionStrategy): boolean => s.requiredDomains.every((d) => backend.supportedDomains.includes(d));
    if (name) {
      const s = this.attention.get(name);
      if (!fits(s)) {
        throw new TinyLlamaError(
          'E_UNSUPPORTED',
          `attention '${name}' needs operator domains [${s.requiredDomains.join(', ')}] that backend '${backend.name}' lacks`,
        );
      }
      return s;
    }
    for (const { item } of this.attention.list()) if (fits(item)) return item;
    throw new TinyLlamaError('E_UNSUPPORTED', `no registered attention strategy runs on backend '${backend.name}'`);
  }
}

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  readonly plugins?: readonly RuntimePlugin[];
  readonly logger?: Logger;
  /**
   * Parent tsyringe container; a child is created for this runtime. Anything the parent already provides
   * under {@link TOKENS} (a logger, a shared backend registry, ...) is used instead of the default.
   */
  readonly container?: DependencyContainer;
}

/**
 * The composition root: a tsyringe child container holding this runtime's registries and logger
 * (factories, no decorator metadata), then the plugins registered in order.
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const c = (options.container ?? rootContainer).createChildContainer();
  const provide = (token: symbol, value: () => unknown): void => {
    if (!c.isRegistered(token, true)) c.register(token, { useValue: value() });
  };
  if (options.logger) c.register(TOKENS.Logger, { useValue: options.logger });
  provide(TOKENS.Logger, () => silentLogger);
  provide(TOKENS.Backends, () => new BackendRegistry());
  provide(TOKENS.Architectures, () => new Registry<ArchitecturePlugin>('architecture'));
  provide(TOKENS.Loaders, () => new Registry<CheckpointLoader>('checkpoint loader'));
  provide(TOKENS.Tokenizers, () => new Registry<TokenizerLoader>('tokenizer loader'));
  provide(TOKENS.Attention, () => new Registry<AttentionStrategy>('attention strategy'));
  const runtime = new Runtime(
    c.resolve<BackendRegistry>(TOKENS.Backends),
    c.resolve<Registry<ArchitecturePlugin>>(TOKENS.Architectures),
    c.resolve<Registry<CheckpointLoader>>(TOKENS.Loaders),
    c.resolve<Registry<TokenizerLoader>>(TOKENS.Tokenizers),
    c.resolve<Registry<AttentionStrategy>>(TOKENS.Attention),
    c.resolve<Logger>(TOKENS.Logger),
  );
  c.register(TOKENS.Runtime, { useValue: runtime });
  for (const p of options.plugins ?? []) runtime.use(p);
  return runtime;
}
