import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../src/protobuf.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ProtoWriter', () => {
  it('encodes varints, including multi-byte and negative int64', () => {
    expect(hex(new ProtoWriter().varint(1, 0).toBytes())).toBe('0800');
    expect(hex(new ProtoWriter().varint(1, 300).toBytes())).toBe('08ac02');
    expect(hex(new ProtoWriter().varint(2, 2 ** 40).toBytes())).toBe('108080808080' + '20');
    // -1 as int64: ten bytes of two's complement
    expect(hex(new ProtoWriter().int64(3, -1).toBytes())).toBe('18ffffffffffffffffff01');
    expect(() => new ProtoWriter().varint(1, 1.5)).toThrow(RangeError);
  });

  it('encodes floats, strings and nested messages', () => {
    const inner = new ProtoWriter().string(1, 'ab');
    const w = new ProtoWriter().float(2, 1).message(3, inner);
    expect(hex(w.toBytes())).toBe('150000803f' + '1a04' + '0a026162');
  });

  it('references large byte payloads without copying and keeps the length right', () => {
    const big = new Uint8Array(10_000).fill(7);
    const w = new ProtoWriter().varint(1, 5).bytes(2, big).varint(3, 1);
    const chunks = w.chunks;
    expect(chunks.some((c) => c === big)).toBe(true);
    const bytes = w.toBytes();
    expect(bytes.byteLength).toBe(w.byteLength);
    // tag 0x12, length 10000 = 0x90 0x4e
    expect(hex(bytes.subarray(0, 5))).toBe('080512904e');
    expect(bytes[bytes.byteLength - 2]).toBe(0x18);
    const outer = new ProtoWriter().message(1, w);
    expect(outer.byteLength).toBe(w.byteLength + 1 + 2);
  });
});
