import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startStaticServer, type StaticServer } from './static-server.ts';

const run = promisify(execFile);

/** packages/web */
export const PKG_DIR = resolve(import.meta.dirname, '..');
/** The compiled CLI used to make and build the tiny model and to compute the reference ids. */
export const CLI_BIN = resolve(PKG_DIR, '../cli/dist/bin.js');

/** The greedy request both sides run. */
export const PROMPT_IDS = [1, 5, 6];
export const MAX_TOKENS = 16;

/** Runs the compiled CLI with `args`. */
export const cli = (...args: string[]) => run(process.execPath, [CLI_BIN, ...args], { maxBuffer: 16 << 20 });

/** Builds the demo app with Vite's JS API into `outDir`. */
export async function buildApp(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(PKG_DIR, 'vite.config.ts'), root: PKG_DIR, logLevel: 'error', build: { outDir, emptyOutDir: true } });
}

/** Greedy ids of `tinyllama generate --temperature 0 --ignore-eos` for {@link PROMPT_IDS} on `model`. */
export async function referenceIds(model: string, maxTokens = MAX_TOKENS): Promise<number[]> {
  const { stdout } = await cli('generate', '--model', model, '--prompt-ids', PROMPT_IDS.join(','), '--max-tokens', String(maxTokens), '--temperature', '0', '--ignore-eos', '--json');
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { ids: number[] }).ids;
}

/** A built demo, a tiny built model, the Node reference, and a server for both. */
export interface DemoFixture {
  readonly server: StaticServer;
  /** Greedy ids of the Node CLI (onnxruntime-node) for {@link PROMPT_IDS}. */
  readonly referenceIds: number[];
  /** Page URL of the greedy request (append more query parameters with `&`). */
  readonly greedyUrl: string;
  dispose(): Promise<void>;
}

/**
 * Creates a tiny random checkpoint, builds it with the CLI (f32), computes the CLI's greedy ids,
 * builds the demo with Vite's JS API into a temporary directory and serves both (app at `/`,
 * model at `/model/`).
 */
export async function setUpDemo(): Promise<DemoFixture> {
  const tmp = await mkdtemp(join(tmpdir(), 'tinyllama-web-'));
  try {
    const ckpt = join(tmp, 'ckpt');
    const model = join(tmp, 'model');
    const app = join(tmp, 'app');
    const building = buildApp(app);
    await cli('random', '--out', ckpt, '--preset', 'tiny');
    await cli('build', '--model', ckpt, '--out', model, '--dtype', 'f32');
    const ids = await referenceIds(model);
    await building;
    const server = await startStaticServer({ '/': app, '/model/': model });
    return {
      server,
      referenceIds: ids,
      greedyUrl: `${server.url}?model=./model/&prompt-ids=${PROMPT_IDS.join(',')}&max-tokens=${MAX_TOKENS}&temperature=0&ignore-eos=1`,
      async dispose() {
        await server.close();
        await rm(tmp, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Why the browser tests cannot run here, or undefined when they can. */
export function skipReason(browserPath: string, install: string): string | undefined {
  if (!existsSync(browserPath)) return `${browserPath} not found (${install})`;
  if (!existsSync(CLI_BIN)) return `${CLI_BIN} not found (run pnpm build)`;
  return undefined;
}
