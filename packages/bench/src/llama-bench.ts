/**
 * Parsing of llama.cpp `llama-bench` output: `-o json` (an array of test records), `-o jsonl` (one
 * record a line) or the default markdown table. A prompt-processing test (`ppN`) gives the prompt
 * throughput, a text-generation test (`tgN`) the decode throughput.
 */
import { TinyLlamaError } from '@tinyllama/core';

/** One llama-bench test result. */
export interface LlamaBenchRecord {
  /** Model file (json) or model description (markdown). */
  readonly model: string;
  /** llama.cpp's description, e.g. `llama 1B Q4_0` (json only; '' otherwise). */
  readonly modelType: string;
  readonly threads: number | null;
  /** llama.cpp's `build_commit` (json only; '' otherwise). */
  readonly buildCommit: string;
  /** Prompt tokens of the test (pp), 0 for tg. */
  readonly nPrompt: number;
  /** Generated tokens of the test (tg), 0 for pp. */
  readonly nGen: number;
  /** Tokens/s: median of llama-bench's repetitions (json `samples_ts`), else its mean (`avg_ts`, markdown). */
  readonly tokensPerSecond: number;
}

/** Per-model summary of a llama-bench run: the pp and tg throughputs. */
export interface LlamaBenchModelResult {
  readonly model: string;
  readonly modelType: string;
  readonly threads: number | null;
  readonly buildCommit: string;
  readonly nPrompt: number | null;
  readonly nGen: number | null;
  /** Prompt processing tokens/s (pp test), null when not run. */
  readonly promptTokensPerSecond: number | null;
  /** Decode tokens/s (tg test), null when not run. */
  readonly decodeTokensPerSecond: number | null;
}

function num(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function fromJsonRecord(o: Record<string, unknown>): LlamaBenchRecord | null {
  // the median of the repetitions when llama-bench lists them, else its mean
  const samples = Array.isArray(o.samples_ts) ? o.samples_ts.map(num).filter((x): x is number => x !== null) : [];
  const ts = samples.length > 0 ? medianOf(samples) : num(o.avg_ts);
  if (ts === null) return null;
  return {
    model: String(o.model_filename ?? o.model_type ?? ''),
    modelType: String(o.model_type ?? ''),
    threads: num(o.n_threads),
    buildCommit: typeof o.build_commit === 'string' ? o.build_commit : '',
    nPrompt: num(o.n_prompt) ?? 0,
    nGen: num(o.n_gen) ?? 0,
    tokensPerSecond: ts,
  };
}

function parseJson(text: string): LlamaBenchRecord[] | null {
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start >= 0 && end > start) {
    try {
      const arr = JSON.parse(text.slice(start, end + 1)) as unknown;
      if (Array.isArray(arr)) {
        const recs = arr.map((o) => (o && typeof o === 'object' ? fromJsonRecord(o as Record<string, unknown>) : null));
        if (recs.length > 0 && recs.every((r) => r !== null)) return recs as LlamaBenchRecord[];
      }
    } catch {
      // not a JSON array: try the other formats
    }
  }
  const lines = text.split('\n').filter((l) => l.trim().startsWith('{'));
  const recs: LlamaBenchRecord[] = [];
  for (const l of lines) {
    try {
      const r = fromJsonRecord(JSON.parse(l) as Record<string, unknown>);
      if (r) recs.push(r);
    } catch {
      // a log line that happens to start with '{'
    }
  }
  return recs.length > 0 ? recs : null;
}

function parseMarkdown(text: string): LlamaBenchRecord[] | null {
  const rows = text.split('\n').filter((l) => l.trim().startsWith('|')).map((l) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
  const header = rows.find((r) => r.includes('test') && r.includes('t/s'));
  if (!header) return null;
  const col = (name: string): number => header.indexOf(name);
  const recs: LlamaBenchRecord[] = [];
  for (const r of rows) {
    if (r === header || r.every((c) => /^[-: ]*$/.test(c))) continue;
    const test = r[col('test')] ?? '';
    const m = /^(pp|tg)(\d+)/.exec(test);
    const ts = num((r[col('t/s')] ?? '').split('±')[0].trim());
    if (!m || ts === null) continue;
    const n = Number(m[2]);
    recs.push({
      model: r[col('model')] ?? '',
      modelType: '',
      threads: col('threads') >= 0 ? num(r[col('threads')]) : null,
      buildCommit: '',
      nPrompt: m[1] === 'pp' ? n : 0,
      nGen: m[1] === 'tg' ? n : 0,
      tokensPerSecond: ts,
    });
  }
  return recs.length > 0 ? recs : null;
}

/**
 * Parses llama-bench's stdout (json, jsonl or markdown).
 * @throws `E_CORRUPT` when no test result can be found in it.
 */
export function parseLlamaBenchOutput(text: string): LlamaBenchRecord[] {
  const recs = parseJson(text) ?? parseMarkdown(text);
  if (!recs) throw new TinyLlamaError('E_CORRUPT', `no llama-bench results in the baseline output (${text.length} chars): run llama-bench with -o json`);
  return recs;
}

/**
 * Groups records by model: the pp test gives the prompt throughput, the tg test the decode throughput
 * (a combined `pp+tg` record, with both counts set, is ignored).
 */
export function summarizeLlamaBench(records: readonly LlamaBenchRecord[]): LlamaBenchModelResult[] {
  const byModel = new Map<string, { first: LlamaBenchRecord; pp?: LlamaBenchRecord; tg?: LlamaBenchRecord }>();
  for (const r of records) {
    const key = `${r.model}\u0000${r.threads ?? ''}`;
    const e = byModel.get(key) ?? { first: r };
    if (r.nPrompt > 0 && r.nGen === 0) e.pp ??= r;
    else if (r.nGen > 0 && r.nPrompt === 0) e.tg ??= r;
    byModel.set(key, e);
  }
  return [...byModel.values()].map(({ first, pp, tg }) => ({
    model: first.model,
    modelType: first.modelType,
    threads: first.threads,
    buildCommit: first.buildCommit,
    nPrompt: pp?.nPrompt ?? null,
    nGen: tg?.nGen ?? null,
    promptTokensPerSecond: pp?.tokensPerSecond ?? null,
    decodeTokensPerSecond: tg?.tokensPerSecond ?? null,
  }));
}
