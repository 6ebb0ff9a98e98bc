import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { COMPRESSION_NONE, COMPRESSION_ZSTD, decodePayload, encodePayload } from './compress';

describe('payload encoding', () => {
  it('compresses compressible data with zstd', () => {
    const raw = Buffer.from('lifeboat '.repeat(10_000));
    const enc = encodePayload(raw);
    expect(enc[0]).toBe(COMPRESSION_ZSTD);
    expect(enc.length).toBeLessThan(raw.length / 20);
    expect(decodePayload(enc, 'blob').equals(raw)).toBe(true);
  });

  it('stores incompressible and tiny data as is, at one byte of cost', () => {
    for (const raw of [randomBytes(100_000), Buffer.from('x'), Buffer.alloc(0)]) {
      const enc = encodePayload(raw);
      expect(enc[0]).toBe(COMPRESSION_NONE);
      expect(enc.length).toBe(raw.length + 1);
      expect(decodePayload(enc, 'blob').equals(raw)).toBe(true);
    }
  });

  it('names the object on bad input', () => {
    expect(() => decodePayload(Buffer.of(7, 1, 2), 'blob ab12')).toThrow('blob ab12: unknown compression byte 0x07');
    expect(() => decodePayload(Buffer.of(1, 1, 2, 3), 'blob ab12')).toThrow(/blob ab12: corrupt zstd data/);
    expect(() => decodePayload(Buffer.alloc(0), 'blob ab12')).toThrow(/empty payload/);
  });
});
