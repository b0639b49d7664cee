import { describe, expect, it } from 'vitest';
import { EmbeddingLookupSession, TinyLlamaError, type ByteRangeReader, type EmbeddingTableLayout, type RowDequantizer } from '../src/index.js';

/** A reader over bytes in memory that counts reads. */
function memoryReader(bytes: Uint8Array): ByteRangeReader & { reads: number; closed: boolean } {
  return {
    size: bytes.length,
    reads: 0,
    closed: false,
    async read(offset, length) {
      this.reads++;
      return bytes.slice(offset, offset + length);
    },
    async close() {
      this.closed = true;
    },
  };
}

/** Deterministic pseudo-random bytes. */
function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

const io = { inputName: 'input_ids', outputName: 'hidden_states' } as const;

/** A plain GatherBlockQuantized row decoder for the test (the real one comes from the format's package). */
function rowDequantizer(bits: 4 | 8, blockSize: number, cols: number): RowDequantizer {
  return (codes, scales, zps) =>
    Float32Array.from({ length: cols }, (_, e) => {
      const b = Math.floor(e / blockSize);
      const q = bits === 8 ? codes[e]! : (codes[e >> 1]! >> (4 * (e & 1))) & 15;
      const z = !zps ? (bits === 8 ? 128 : 8) : bits === 8 ? zps[b]! : (zps[b >> 1]! >> (4 * (b & 1))) & 15;
      return (q - z) * scales[b]!;
    });
}

describe('EmbeddingLookupSession', () => {
  for (const [bits, blockSize, cols, withZp] of [
    [4, 16, 40, false], // ragged last block
    [4, 32, 64, true],
    [8, 16, 24, true],
    [8, 32, 32, false],
  ] as const) {
    it(`${bits}-bit, block ${blockSize}, ${cols} columns${withZp ? ', zero points' : ''}: rows equal (q - zp) * scale`, async () => {
      const rows = 7;
      const rowBytes = Math.ceil((cols * bits) / 8);
      const nb = Math.ceil(cols / blockSize);
      const zpRow = Math.ceil((nb * bits) / 8);
      const codes = bytesOf(rows * rowBytes, 3);
      const scales = Float32Array.from({ length: rows * nb }, (_, i) => 0.01 * (i + 1) * (i % 2 ? -1 : 1));
      const zps = bytesOf(rows * zpRow, 9);
      // file: 5 bytes of padding, codes, scales, zero points
      const scalesOffset = 8 + codes.length + ((4 - (codes.length % 4)) % 4);
      const zpOffset = scalesOffset + scales.byteLength;
      const file = new Uint8Array(zpOffset + zps.length + 3);
      file.set(codes, 8);
      file.set(new Uint8Array(scales.buffer), scalesOffset);
      file.set(zps, zpOffset);
      const layout: EmbeddingTableLayout = { ...io, rows, cols, encoding: 'block-quantized', bits, blockSize, dataOffset: 8, scalesOffset, zeroPointsOffset: withZp ? zpOffset : undefined };
      const reader = memoryReader(file);
      const s = new EmbeddingLookupSession(layout, reader, 'table', rowDequantizer(bits, blockSize, cols));
      const ids = [3, 0, 6, 3, -1];
      const out = await s.run({ input_ids: { dtype: 'int64', dims: [1, 5], data: BigInt64Array.from(ids.map(BigInt)) } });
      const h = out.hidden_states!;
      expect(h.dims).toEqual([1, 5, cols]);
      for (let t = 0; t < ids.length; t++) {
        const r = ids[t]! < 0 ? ids[t]! + rows : ids[t]!;
        for (let e = 0; e < cols; e++) {
          const b = Math.floor(e / blockSize);
          const q = bits === 8 ? codes[r * rowBytes + e]! : (codes[r * rowBytes + (e >> 1)]! >> (4 * (e & 1))) & 15;
          const z = !withZp ? (bits === 8 ? 128 : 8) : bits === 8 ? zps[r * zpRow + b]! : (zps[r * zpRow + (b >> 1)]! >> (4 * (b & 1))) & 15;
          expect(h.data[t * cols + e]).toBe(Math.fround((q - z) * scales[r * nb + b]!));
        }
      }
      expect(reader.reads).toBe(3 + (withZp ? 2 : 1)); // rows 3, 0, 6 (-1), all scales (+ all zero points)
      expect(s.reads).toBe(reader.reads);
      await s.run({ input_ids: { dtype: 'int32', dims: [2], data: Int32Array.from([1, 1]) } });
      expect(reader.reads).toBe(3 + (withZp ? 2 : 1) + 1); // scales are kept: one read per new row
      await s.release();
      expect(reader.closed).toBe(true);
      await expect(s.run({ input_ids: { dtype: 'int64', dims: [1], data: new BigInt64Array(1) } })).rejects.toThrow(/released/);
    });
  }

  it('float32 tables and int32 ids', async () => {
    const table = Float32Array.from({ length: 4 * 3 }, (_, i) => i / 7);
    const file = new Uint8Array(16 + table.byteLength);
    file.set(new Uint8Array(table.buffer), 16);
    const s = new EmbeddingLookupSession({ ...io, rows: 4, cols: 3, encoding: 'float32', dataOffset: 16 }, memoryReader(file), 't');
    const out = await s.run({ input_ids: { dtype: 'int32', dims: [2], data: Int32Array.from([2, 1]) } });
    expect(Array.from(out.hidden_states!.data as Float32Array)).toEqual([...table.subarray(6, 9), ...table.subarray(3, 6)]);
  });

  it('errors: ids out of range, a layout past the end of the file, a short read', async () => {
    const file = new Uint8Array(64);
    const layout: EmbeddingTableLayout = { ...io, rows: 4, cols: 4, encoding: 'float32', dataOffset: 0 };
    const s = new EmbeddingLookupSession(layout, memoryReader(file), 'emb.data');
    await expect(s.run({ input_ids: { dtype: 'int64', dims: [1], data: BigInt64Array.from([4n]) } })).rejects.toThrow(/id 4 out of range for 4 rows/);
    expect(() => new EmbeddingLookupSession({ ...layout, rows: 5 }, memoryReader(file), 'emb.data')).toThrow(/'emb.data': rows end past the file/);
    const quantized: EmbeddingTableLayout = { ...layout, encoding: 'block-quantized', bits: 4, blockSize: 4, scalesOffset: 8 };
    expect(() => new EmbeddingLookupSession(quantized, memoryReader(file), 'emb.data')).toThrow(/'emb.data': no row dequantizer/);
    const short: ByteRangeReader = { size: 64, read: async () => new Uint8Array(3), close: async () => {} };
    const err = await new EmbeddingLookupSession(layout, short, 'emb.data').run({ input_ids: { dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TinyLlamaError);
    expect((err as TinyLlamaError).code).toBe('E_CORRUPT');
  });
});
