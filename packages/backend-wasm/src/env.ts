/** True in Node.js (including Node with a global `Worker`). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** A dynamic import bundlers leave alone: Node-only modules are never bundled for browsers. */
export const importRuntime = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);
