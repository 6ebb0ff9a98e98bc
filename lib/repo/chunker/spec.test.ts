// The fast chunker against a literal reading of docs/repository-format.md §6.1, and the published vectors.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkBuffer, Chunker, ChunkerParamsError, deriveGearTable, judgementMask, masksFor, validateChunkerParams, type ChunkerParams } from './index';
import { keystream, referenceChunkLengths, sourceLikeText, split } from './testing';

const idKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const gear = deriveGearTable(idKey);

describe('gear table', () => {
  it('is HMAC-SHA-256(idKey, "lifeboat/v1/gear" || byte(i)), first 4 bytes big-endian', () => {
    for (const i of [0, 1, 127, 255]) {
      const mac = createHmac('sha256', idKey).update(Buffer.concat([Buffer.from('lifeboat/v1/gear'), Buffer.of(i)])).digest();
      expect(gear[i]! >>> 0).toBe(mac.readUInt32BE(0));
    }
    // Published in §6.1.
    expect([0, 1, 2, 255].map((i) => (gear[i]! >>> 0).toString(16).padStart(8, '0'))).toEqual(['d317c97e', '39805909', '7b84b63d', 'b688f887']);
  });

  it('needs a 32-byte key and a 256-entry table', () => {
    expect(() => deriveGearTable(Buffer.alloc(16))).toThrow(/32-byte idKey, got 16 bytes/);
    expect(() => new Chunker(new Int32Array(10))).toThrow(/Int32Array of 256 entries/);
  });
});

describe('masks', () => {
  it('packs the one-bits at bits 30 downwards (published constants)', () => {
    expect(masksFor(1 << 13)).toEqual({ maskS: 0x7fff0000, maskL: 0x7ff00000 });
    expect(masksFor(1 << 16)).toEqual({ maskS: 0x7fffe000, maskL: 0x7ffe0000 });
    expect(masksFor(1 << 18)).toEqual({ maskS: 0x7ffff800, maskL: 0x7fff8000 });
    expect(masksFor(1 << 20)).toEqual({ maskS: 0x7ffffe00, maskL: 0x7fffe000 });
    expect(masksFor(1 << 22)).toEqual({ maskS: 0x7fffff80, maskL: 0x7ffff800 });
    expect(judgementMask(27)).toBe(0x7ffffff0);
    expect(judgementMask(6)).toBe(0x7e000000);
  });
});

describe('published test vector (§6.1)', () => {
  it('cuts 16 MiB of AES-256-CTR keystream as published', () => {
    const expected = [1156092, 1147859, 1241598, 1130415, 1061051, 1251896, 732458, 1060520, 914198, 1206710, 1192325, 2400196, 856041, 1211131, 214726];
    expect(chunkBuffer(keystream(16 * 1024 * 1024), gear).map((c) => c.length)).toEqual(expected);
  });
});

describe('fast loop equals the spec text', () => {
  const paramSets: ChunkerParams[] = [
    { minSize: 64, avgSize: 256, maxSize: 1024 },
    { minSize: 100, avgSize: 1024, maxSize: 3000 },
    { minSize: 777, avgSize: 4096, maxSize: 16_385 },
    { minSize: 2048, avgSize: 8192, maxSize: 8193 },
  ];
  const inputs: Record<string, Buffer> = {
    random: keystream(400_000, 9),
    text: sourceLikeText(400_000),
    zeros: Buffer.alloc(100_000),
    pattern: Buffer.from('abcabcabd'.repeat(20_000)),
  };
  for (const p of paramSets) {
    for (const [name, input] of Object.entries(inputs)) {
      it(`${name}, ${p.minSize}/${p.avgSize}/${p.maxSize}`, () => {
        const expected = referenceChunkLengths(input, gear, p);
        expect(chunkBuffer(input, gear, p).map((c) => c.length)).toEqual(expected);
        const chunker = new Chunker(gear, p);
        const out = split(input, [1, 2, 3, 5, 333, 4096]).flatMap((piece) => chunker.push(piece));
        const last = chunker.finish();
        expect([...out, ...(last ? [last] : [])].map((c) => c.length)).toEqual(expected);
      });
    }
  }
});

describe('parameter validation', () => {
  const ok = { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 };
  it('accepts the defaults and non-power-of-two min/max', () => {
    expect(validateChunkerParams()).toEqual(ok);
    expect(validateChunkerParams({ minSize: 300_000, avgSize: 1 << 20, maxSize: 5_000_000 })).toEqual({ minSize: 300_000, avgSize: 1 << 20, maxSize: 5_000_000 });
  });
  it.each([
    [{ ...ok, avgSize: 1_000_000 }, /avgSize must be a power of two of at least 256 bytes, got 1000000/],
    [{ ...ok, avgSize: 128, minSize: 64 }, /avgSize must be a power of two of at least 256/],
    [{ ...ok, minSize: 1024 * 1024 }, /minSize \(1048576\) must be less than avgSize \(1048576\)/],
    [{ ...ok, maxSize: 1024 * 1024 }, /maxSize \(1048576\) must be greater than avgSize/],
    [{ ...ok, maxSize: 128 * 1024 * 1024 }, /maxSize must be at most 67108864 bytes, got 134217728/],
    [{ ...ok, minSize: 10 }, /minSize must be at least 64 bytes, got 10/],
    [{ ...ok, minSize: 1.5 }, /minSize must be a positive integer number of bytes, got 1.5/],
    [{ ...ok, maxSize: '8M' }, /maxSize must be a positive integer number of bytes, got 8M/],
    [{ minSize: 1 }, /avgSize must be a positive integer number of bytes, got undefined/],
    [null, /chunker params must be an object, got null/],
  ])('rejects %j', (params, message) => {
    expect(() => validateChunkerParams(params)).toThrow(ChunkerParamsError);
    expect(() => validateChunkerParams(params)).toThrow(message);
    expect(() => new Chunker(gear, params as ChunkerParams)).toThrow(message);
  });
});
