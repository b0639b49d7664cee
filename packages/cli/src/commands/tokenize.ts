import { createInterface } from 'node:readline';
import { TinyLlamaError, type Tokenizer } from '@tinyllama/core';
import { readFile } from 'node:fs/promises';
import { listModelDir } from '@tinyllama/core/node';
import { parseCommand } from '../args.js';
import { createNodeRuntime } from '../compose.js';
import type { CliIO } from '../io.js';

export const TOKENIZE_HELP = `tinyllama tokenize (--model DIR | --tokenizer FILE) [--bos] [--jsonl] [TEXT]

Prints the token ids of TEXT (or of stdin) as a JSON array; no BOS unless --bos.
With --jsonl, reads one JSON string per stdin line and writes one JSON array per line.
`;

/** `tinyllama tokenize`. */
export async function tokenizeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseCommand('tokenize', { args: argv, options: { model: { type: 'string' }, tokenizer: { type: 'string' }, bos: { type: 'boolean' }, jsonl: { type: 'boolean' }, verbose: { type: 'boolean' } },
    allowPositionals: true,
  });
  if ((v.model === undefined) === (v.tokenizer === undefined)) {
    throw new TinyLlamaError('E_ARGUMENT', 'tokenize: give exactly one of --model DIR or --tokenizer FILE');
  }
  const rt = createNodeRuntime();
  let tok: Tokenizer;
  if (v.model !== undefined) {
    tok = await rt.findTokenizerLoader(await listModelDir(v.model)).loadFromDir(v.model);
  } else {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(v.tokenizer as string);
    } catch (e) {
      throw new TinyLlamaError('E_NOT_FOUND', `tokenizer file '${v.tokenizer}' cannot be read`, { cause: e });
    }
    tok = await rt.tokenizers.list()[0].item.loadFromBytes(bytes);
  }
  const addBos = v.bos ?? false;
  if (v.jsonl) {
    if (positionals.length > 0) throw new TinyLlamaError('E_ARGUMENT', 'tokenize: --jsonl reads stdin; do not also pass TEXT');
    const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
    let line = 0;
    for await (const text of rl) {
      line++;
      if (text.trim() === '') continue;
      let s: unknown;
      try {
        s = JSON.parse(text);
      } catch (e) {
        throw new TinyLlamaError('E_ARGUMENT', `tokenize --jsonl: line ${line} is not JSON`, { cause: e });
      }
      if (typeof s !== 'string') throw new TinyLlamaError('E_ARGUMENT', `tokenize --jsonl: line ${line} is not a JSON string`);
      io.out(`${JSON.stringify(tok.encode(s, { addBos }))}\n`);
    }
    return 0;
  }
  let text: string;
  if (positionals.length > 0) text = positionals.join(' ');
  else {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(Buffer.from(c as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  }
  io.out(`${JSON.stringify(tok.encode(text, { addBos }))}\n`);
  return 0;
}
