import type { AttrValue, HostTensor } from '@tinyllama/core';

/** A node's attributes by name. */
export type Attrs = Readonly<Record<string, AttrValue>>;

/**
 * A CPU operator kernel: takes the node's inputs (`undefined` for an omitted optional input, i.e. an
 * empty name in the node) and attributes, returns its outputs in order. Inputs are never mutated;
 * outputs are fresh tensors (they may alias an input's data only for pure views such as Reshape).
 */
export type OpKernel = (inputs: readonly (HostTensor | undefined)[], attrs: Attrs) => HostTensor[];

/** Key of an operator in a kernel table: `OpType` for the default domain, `domain:OpType` otherwise. */
export function opKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`;
}
