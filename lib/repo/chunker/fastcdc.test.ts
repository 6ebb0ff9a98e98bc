import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chunker, chunkBuffer, deriveGearTable, DEFAULT_CHUNKER_PARAMS, type ChunkerParams } from './index';
import { keystream, split } from './testing';

const MiB = 1024 * 1024;
const idKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const gear = deriveGearTable(idKey);
const { minSize, avgSize, maxSize } = DEFAULT_CHUNKER_PARAMS;
const data = keystream(20 * MiB);
const reference = chunkBuffer(data, gear);
const lengths = (chunks: Buffer[]) => chunks.map((c) => c.length);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function pushAll(pieces: Buffer[], params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): Buffer[] {
  const chunker = new Chunker(gear, params);
  const out: Buffer[] = [];
  for (const piece of pieces) for (const c of chunker.push(piece)) out.push(c);
  const last = chunker.finish();
  if (last) out.push(last);
  return out;
}

describe('FastCDC chunker', () => {
  it('is deterministic and reassembles the input exactly', () => {
    expect(reference.length).toBeGreaterThan(10);
    expect(lengths(chunkBuffer(data, gear))).toEqual(lengths(reference));
    expect(Buffer.concat(reference).equals(data)).toBe(true);
  });

  it('keeps every chunk but the last within [minSize, maxSize]', () => {
    for (const c of reference.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(minSize);
      expect(c.length).toBeLessThanOrEqual(maxSize);
    }
    expect(reference.at(-1)!.length).toBeGreaterThan(0);
  });

  it('cuts the same boundaries whatever the push piece sizes', () => {
    const expected = lengths(reference);
    expect(lengths(pushAll([data]))).toEqual(expected);
    expect(lengths(pushAll(split(data, [64 * 1024])))).toEqual(expected);
    expect(lengths(pushAll(split(data, [1, 7, 65_536, 3, 1_000_003, 524_287, 2, 8 * MiB + 1])))).toEqual(expected);
  });

  it('cuts the same boundaries when fed one byte at a time', () => {
    const prefix = data.subarray(0, 5 * MiB); // several boundaries; 1-byte pushes of all 20 MiB take ~6 s
    const out = pushAll(split(prefix, [1]));
    expect(lengths(out)).toEqual(lengths(chunkBuffer(prefix, gear)));
    expect(out.length).toBeGreaterThanOrEqual(4);
    expect(Buffer.concat(out).equals(prefix)).toBe(true);
  });

  it('copies each chunk into its own buffer, not a view of the input', () => {
    const chunks = pushAll(split(data, [3 * MiB]));
    for (const c of chunks) expect(c.buffer).not.toBe(data.buffer);
  });

  it('survives an insertion near the start: only the first chunks change (dedup holds)', () => {
    const shifted = Buffer.concat([data.subarray(0, 1000), keystream(100, 7), data.subarray(1000)]);
    const before = new Set(reference.map(sha));
    const after = chunkBuffer(shifted, gear).map(sha);
    const fresh = after.filter((h) => !before.has(h));
    expect(fresh.length).toBeLessThanOrEqual(2);
    expect(after.length - fresh.length).toBeGreaterThanOrEqual(reference.length - 2);
  });

  it('cuts different boundaries under a different idKey', () => {
    const other = chunkBuffer(data, deriveGearTable(Buffer.alloc(32, 0xaa)));
    expect(lengths(other)).not.toEqual(lengths(reference));
    const shared = new Set(lengths(reference).slice(0, -1));
    expect(lengths(other).slice(0, -1).filter((n) => shared.has(n)).length).toBeLessThanOrEqual(1);
  });

  it('averages within 30% of avgSize on random data', () => {
    const big = keystream(64 * MiB, 3);
    const mean = big.length / chunkBuffer(big, gear).length;
    expect(mean / avgSize).toBeGreaterThan(0.7);
    expect(mean / avgSize).toBeLessThan(1.3);
    const small = { minSize: 4096, avgSize: 8192, maxSize: 65536 };
    const meanSmall = (16 * MiB) / chunkBuffer(keystream(16 * MiB, 4), gear, small).length;
    expect(meanSmall / small.avgSize).toBeGreaterThan(0.7);
    expect(meanSmall / small.avgSize).toBeLessThan(1.3);
  });

  it('cuts zero-filled input into maxSize chunks', () => {
    const zeros = Buffer.alloc(5 * maxSize + 123);
    expect(lengths(chunkBuffer(zeros, gear))).toEqual([maxSize, maxSize, maxSize, maxSize, maxSize, 123]);
    expect(lengths(pushAll(split(zeros, [65_536])))).toEqual([maxSize, maxSize, maxSize, maxSize, maxSize, 123]);
  });

  it('yields nothing for empty input', async () => {
    expect(chunkBuffer(Buffer.alloc(0), gear)).toEqual([]);
    const chunker = new Chunker(gear);
    expect(chunker.push(Buffer.alloc(0))).toEqual([]);
    expect(chunker.finish()).toBeNull();
  });

  it('returns input shorter than minSize as one chunk, and can be reused after finish', () => {
    const chunker = new Chunker(gear);
    expect(chunker.push(data.subarray(0, 1000))).toEqual([]);
    expect(chunker.finish()!.equals(data.subarray(0, 1000))).toBe(true);
    expect(lengths([...chunker.push(data), chunker.finish()!])).toEqual(lengths(reference));
  });
});
