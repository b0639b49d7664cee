import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { run, type CliIO } from '../src/index.js';

export const REPO = resolve(import.meta.dirname, '../../..');
export const SHARED = resolve(REPO, '../shared/fixtures');
export const HAS_SHARED = existsSync(join(SHARED, 'stories260k-hf', 'pytorch_model.bin'));
export const TINY = join(REPO, 'fixtures', 'tiny');

/** Runs the CLI in-process, capturing stdout/stderr. */
export async function cli(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const input = new PassThrough();
  input.end(stdin);
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), tty: false, stdin: input };
  const code = await run(argv, io);
  return { code, out, err };
}

/** The JSON object printed last by `--json` commands. */
export function lastJson(out: string): Record<string, unknown> {
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tinyllama-${prefix}-`));
}
