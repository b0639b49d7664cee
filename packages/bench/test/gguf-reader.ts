/**
 * A minimal GGUF reader written independently of the writer (test helper): header, metadata,
 * tensor infos, and raw tensor bytes.
 */
export interface ReadTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}

export interface ReadGguf {
  version: number;
  metadata: Map<string, { type: number; value: unknown }>;
  tensors: ReadTensor[];
  alignment: number;
  dataStart: number;
  data(name: string, byteLength: number): Uint8Array;
}

const ELEM: Record<number, { size: number; get: (dv: DataView, o: number) => unknown }> = {
  0: { size: 1, get: (dv, o) => dv.getUint8(o) },
  1: { size: 1, get: (dv, o) => dv.getInt8(o) },
  2: { size: 2, get: (dv, o) => dv.getUint16(o, true) },
  3: { size: 2, get: (dv, o) => dv.getInt16(o, true) },
  4: { size: 4, get: (dv, o) => dv.getUint32(o, true) },
  5: { size: 4, get: (dv, o) => dv.getInt32(o, true) },
  6: { size: 4, get: (dv, o) => dv.getFloat32(o, true) },
  7: { size: 1, get: (dv, o) => dv.getInt8(o) !== 0 },
  10: { size: 8, get: (dv, o) => dv.getBigUint64(o, true) },
  11: { size: 8, get: (dv, o) => dv.getBigInt64(o, true) },
  12: { size: 8, get: (dv, o) => dv.getFloat64(o, true) },
};

export function readGguf(buf: Uint8Array): ReadGguf {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const u32 = (): number => { const v = dv.getUint32(p, true); p += 4; return v; };
  const u64 = (): number => { const v = Number(dv.getBigUint64(p, true)); p += 8; return v; };
  const str = (): string => { const n = u64(); const s = new TextDecoder().decode(buf.subarray(p, p + n)); p += n; return s; };
  const value = (type: number): unknown => {
    if (type === 8) return str();
    const e = ELEM[type];
    if (!e) throw new Error(`unknown GGUF value type ${type} at ${p}`);
    const v = e.get(dv, p);
    p += e.size;
    return v;
  };
  const magic = new TextDecoder().decode(buf.subarray(0, 4));
  if (magic !== 'GGUF') throw new Error(`bad magic ${magic}`);
  p = 4;
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  const metadata = new Map<string, { type: number; value: unknown }>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32();
    if (type === 9) {
      const itemType = u32();
      const n = u64();
      const values: unknown[] = [];
      for (let j = 0; j < n; j++) values.push(value(itemType));
      metadata.set(key, { type, value: values });
    } else {
      metadata.set(key, { type, value: value(type) });
    }
  }
  const tensors: ReadTensor[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(u64());
    const type = u32();
    const offset = u64();
    tensors.push({ name, dims, type, offset });
  }
  const alignment = (metadata.get('general.alignment')?.value as number | undefined) ?? 32;
  const dataStart = Math.ceil(p / alignment) * alignment;
  return {
    version,
    metadata,
    tensors,
    alignment,
    dataStart,
    data(name, byteLength) {
      const t = tensors.find((x) => x.name === name);
      if (!t) throw new Error(`no tensor ${name}`);
      // a copy in a plain Uint8Array of its own (not a view into a Buffer pool)
      return Uint8Array.from(buf.subarray(dataStart + t.offset, dataStart + t.offset + byteLength));
    },
  };
}
