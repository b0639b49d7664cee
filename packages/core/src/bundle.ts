/**
 * The chunked model bundle format (`model_manifest.json`): an embed graph, one graph per group of
 * decoder layers, a head graph, the tokenizer and config, each file listed with its size and sha256.
 * See docs/bundles.md.
 */
import { TinyLlamaError } from './errors.js';

/** File name of a bundle's manifest; its presence marks a directory (or URL base) as a bundle. */
export const BUNDLE_MANIFEST_FILE = 'model_manifest.json';

/** Current bundle format (the manifest's `format` field). */
export const BUNDLE_FORMAT = 'tinyllama-bundle/1';

/**
 * Input/output names of bundle graphs besides core's `IO`: the embed graph outputs `hidden_states`
 * [B, S, E]; a chunk takes `hidden_states` (plus `attention_mask`, `position_ids` and its layers'
 * `past_key_values.{i}.*`) and outputs `hidden_states_out` (plus `present.{i}.*`); the head takes
 * `hidden_states` and outputs `logits`.
 */
export const BUNDLE_IO = {
  hidden: 'hidden_states',
  hiddenOut: 'hidden_states_out',
} as const;

/** What a bundle file is. */
export type BundleFileRole = 'embed' | 'head' | 'chunk' | 'weights' | 'tokenizer' | 'config' | 'metadata';

/** One file of a bundle, checked against `size` and `sha256` before use. */
export interface BundleFile {
  /** Path relative to the bundle root (a plain file name). */
  readonly path: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the whole file. */
  readonly sha256: string;
  readonly role: BundleFileRole;
}

/** One graph of a bundle: its `.onnx` file and the files it needs (the graph itself and its external data). */
export interface BundleGraph {
  /** The `.onnx` file. */
  readonly path: string;
  /** Every file the graph needs, the `.onnx` first. */
  readonly files: readonly string[];
  /** Total bytes of `files`. */
  readonly bytes: number;
}

/** A layer chunk: a {@link BundleGraph} with the global indices of its layers. */
export interface BundleChunk extends BundleGraph {
  readonly index: number;
  readonly layers: readonly number[];
}

/** The parsed `model_manifest.json`. */
export interface BundleManifest {
  readonly format: string;
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  /** Parameter count of the model. */
  readonly parameters: number;
  /** Weight storage: dtype, block size, accuracy level, symmetry. */
  readonly quantization: Readonly<Record<string, unknown>>;
  readonly bundle_size_mb: number;
  readonly tokenizer: { readonly type: string; readonly file: string };
  readonly streaming: {
    readonly enabled: boolean;
    readonly total_chunks: number;
    /** Size of the largest chunk (graph + external data). */
    readonly chunk_size_mb: number;
    readonly layers_per_chunk: number;
    /** Chunks a streaming runtime loads before the first token. */
    readonly preload_chunks: number;
  };
  /** Memory estimates from file sizes (MB): all chunks resident, and embed + head + one chunk. */
  readonly performance: { readonly resident_weights_mb: number; readonly min_streaming_weights_mb: number };
  readonly features: readonly string[];
  /** Attention strategy the graphs were built with. */
  readonly attention: string;
  readonly graphs: { readonly embed: BundleGraph; readonly head: BundleGraph; readonly chunks: readonly BundleChunk[] };
  readonly files: readonly BundleFile[];
}

function fail(where: string, what: string): never {
  throw new TinyLlamaError('E_CONFIG', `bundle manifest '${where}': ${what}`);
}

function isPlainName(p: unknown): p is string {
  return typeof p === 'string' && p !== '' && p !== '.' && p !== '..' && !/[\\/]/.test(p);
}

function checkGraph(g: unknown, name: string, files: ReadonlyMap<string, BundleFile>, where: string): BundleGraph {
  if (typeof g !== 'object' || g === null) fail(where, `graphs.${name} is missing`);
  const o = g as Record<string, unknown>;
  if (!isPlainName(o.path)) fail(where, `graphs.${name}.path must be a plain file name`);
  if (!Array.isArray(o.files) || o.files.length === 0 || o.files[0] !== o.path) fail(where, `graphs.${name}.files must start with its path`);
  for (const f of o.files) if (!isPlainName(f) || !files.has(f)) fail(where, `graphs.${name} needs '${String(f)}', which is not in files`);
  return o as unknown as BundleGraph;
}

/**
 * Parses and validates a manifest (structure, file names, chunk layout); `where` names it in errors
 * (`E_CONFIG`).
 */
export function parseBundleManifest(text: string, where: string): BundleManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TinyLlamaError('E_CONFIG', `bundle manifest '${where}' is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.format !== BUNDLE_FORMAT) fail(where, `unsupported format '${String(m.format)}' (expected '${BUNDLE_FORMAT}')`);
  if (!Array.isArray(m.files)) fail(where, 'files must be an array');
  const files = new Map<string, BundleFile>();
  for (const f of m.files as unknown[]) {
    const o = f as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || !isPlainName(o.path)) fail(where, 'every files[] entry needs a plain file name as path');
    if (!Number.isSafeInteger(o.size) || (o.size as number) < 0) fail(where, `files '${o.path}': bad size`);
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) fail(where, `files '${o.path}': bad sha256`);
    files.set(o.path, o as unknown as BundleFile);
  }
  const graphs = m.graphs as Record<string, unknown> | undefined;
  if (typeof graphs !== 'object' || graphs === null) fail(where, 'graphs is missing');
  checkGraph(graphs.embed, 'embed', files, where);
  checkGraph(graphs.head, 'head', files, where);
  if (!Array.isArray(graphs.chunks) || graphs.chunks.length === 0) fail(where, 'graphs.chunks must be a non-empty array');
  let nextLayer = 0;
  (graphs.chunks as unknown[]).forEach((c, i) => {
    checkGraph(c, `chunks[${i}]`, files, where);
    const o = c as Record<string, unknown>;
    if (o.index !== i) fail(where, `graphs.chunks[${i}].index must be ${i}`);
    const layers = o.layers;
    if (!Array.isArray(layers) || layers.length === 0) fail(where, `graphs.chunks[${i}].layers must be non-empty`);
    for (const l of layers) {
      if (l !== nextLayer++) fail(where, `graphs.chunks[${i}].layers must continue the layer sequence at ${nextLayer - 1}`);
    }
  });
  const s = m.streaming as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null || s.total_chunks !== graphs.chunks.length) fail(where, 'streaming.total_chunks must equal the number of chunks');
  const tok = m.tokenizer as Record<string, unknown> | undefined;
  if (typeof tok !== 'object' || tok === null || !isPlainName(tok.file) || !files.has(tok.file)) fail(where, 'tokenizer.file must name a listed file');
  return m as unknown as BundleManifest;
}
