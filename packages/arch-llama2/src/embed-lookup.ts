/**
 * Reads a bundle's embed graph (`embed.onnx`) as a row lookup of one table in its external data file,
 * so a runner can read rows on demand ({@link EmbeddingLookupSession}) instead of loading the table.
 */
import { BUNDLE_IO, IO, type AttrValue, type EmbeddingTableLayout, type RowDequantizer } from '@tinyllama/core';
import { decodeModel, type TensorDef } from '@tinyllama/onnx';
import { BLOCK_SIZES, dequantizeGatherBlock, type BlockSize } from '@tinyllama/quantize';

/** An embed graph's table: its layout and the external data file holding it. */
export interface EmbedLookup {
  readonly layout: EmbeddingTableLayout;
  /** The external data file (relative to the graph), e.g. `embed.onnx.data`. */
  readonly file: string;
  /** Decodes one row of a quantised table (`@tinyllama/quantize`'s `dequantizeGatherBlock`). */
  readonly dequantize?: RowDequantizer;
}

function intAttr(attrs: Readonly<Record<string, AttrValue>>, name: string, fallback: number): number {
  const a = attrs[name];
  return a?.type === 'int' ? a.value : fallback;
}

/**
 * The table of an embed graph of the shapes this architecture writes, or undefined for any other
 * graph (the caller then runs the graph itself):
 * - `GatherBlockQuantized(data uint8 [V, E·bits/8], input_ids, scales float32 [V, ceil(E/block)] [, zero points])`,
 *   `gather_axis` 0, `quantize_axis` 1, bits 4 or 8;
 * - `Gather(table float32 [V, E], input_ids)`, axis 0;
 * each followed by `Identity` → `hidden_states`, with every table tensor stored in one external file.
 */
export function embedLookupOf(embedOnnx: Uint8Array): EmbedLookup | undefined {
  let model;
  try {
    model = decodeModel(embedOnnx, { unsupportedAttributes: 'skip' });
  } catch {
    return undefined;
  }
  const { nodes, initializers } = model;
  if (nodes.length !== 2) return undefined;
  const [lookup, identity] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  if (identity.opType !== 'Identity' || identity.domain !== '' || identity.inputs[0] !== lookup.outputs[0] || identity.outputs[0] !== BUNDLE_IO.hidden) return undefined;
  if (model.inputs.length !== 1 || model.inputs[0]!.name !== IO.inputIds) return undefined;
  const init = new Map(initializers.map((t) => [t.name, t]));
  const external = (name: string | undefined): (TensorDef & { payload: { kind: 'external' } }) | undefined => {
    const t = name === undefined ? undefined : init.get(name);
    return t?.payload.kind === 'external' ? (t as TensorDef & { payload: { kind: 'external' } }) : undefined;
  };
  const io = { inputName: IO.inputIds, outputName: BUNDLE_IO.hidden };

  if (lookup.opType === 'Gather' && lookup.domain === '' && lookup.inputs[1] === IO.inputIds) {
    const table = external(lookup.inputs[0]);
    if (!table || table.dtype !== 'float32' || table.dims.length !== 2 || intAttr(lookup.attrs, 'axis', 0) !== 0) return undefined;
    const [rows, cols] = table.dims as [number, number];
    return { file: table.payload.location, layout: { ...io, rows, cols, encoding: 'float32', dataOffset: table.payload.offset } };
  }
  if (lookup.opType === 'GatherBlockQuantized' && lookup.domain === 'com.microsoft' && lookup.inputs[1] === IO.inputIds) {
    const data = external(lookup.inputs[0]);
    const scales = external(lookup.inputs[2]);
    const zp = lookup.inputs[3] ? external(lookup.inputs[3]) : undefined;
    if (lookup.inputs[3] && !zp) return undefined;
    const bits = intAttr(lookup.attrs, 'bits', 4);
    const blockSize = intAttr(lookup.attrs, 'block_size', 128);
    const gatherAxis = intAttr(lookup.attrs, 'gather_axis', 0);
    const quantizeAxis = intAttr(lookup.attrs, 'quantize_axis', 1);
    if (!data || !scales || data.dtype !== 'uint8' || scales.dtype !== 'float32' || data.dims.length !== 2) return undefined;
    if ((bits !== 4 && bits !== 8) || !(BLOCK_SIZES as readonly number[]).includes(blockSize) || gatherAxis !== 0 || (quantizeAxis !== 1 && quantizeAxis !== -1)) return undefined;
    const files = new Set([data.payload.location, scales.payload.location, ...(zp ? [zp.payload.location] : [])]);
    if (files.size !== 1) return undefined;
    const [rows, rowBytes] = data.dims as [number, number];
    const cols = (rowBytes * 8) / bits;
    const blocks = Math.ceil(cols / blockSize);
    if (scales.dims.reduce((a, b) => a * b, 1) !== rows * blocks) return undefined;
    return {
      file: data.payload.location,
      dequantize: (codes, rowScales, zeroPoints) => dequantizeGatherBlock({ V: 1, E: cols, bits, blockSize: blockSize as BlockSize, data: codes, scales: rowScales, zeroPoints }),
      layout: {
        ...io,
        rows,
        cols,
        encoding: 'block-quantized',
        bits,
        blockSize,
        dataOffset: data.payload.offset,
        scalesOffset: scales.payload.offset,
        zeroPointsOffset: zp?.payload.offset,
      },
    };
  }
  return undefined;
}
