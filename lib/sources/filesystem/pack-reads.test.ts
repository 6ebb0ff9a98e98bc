// The read planner: which bytes of which packs a restore asks for, and in what order; and the buffers they land in.
import { describe, expect, it } from 'vitest';
import type { BlobLocation } from '../../repo/index';
import { MAX_READ, MERGE_GAP, mergeRanges, planPackReads, type NeededBlob } from './pack-reads';
import { ReadBuffers } from './blob-fetcher';

const KiB = 1024;
const MiB = 1024 * KiB;
const loc = (packId: string, offset: number, length: number): BlobLocation => ({ packId, type: 'data', offset, length, rawLength: length });
const blob = (id: string, offset: number, length: number, packId = 'p'): NeededBlob => ({ id, loc: loc(packId, offset, length) });
const spans = (reads: { offset: number; length: number; blobs: NeededBlob[] }[]) => reads.map((r) => [r.offset, r.length, r.blobs.map((b) => b.id).join('')]);

describe('mergeRanges', () => {
  it('reads adjacent and nearby blobs of a pack in one request, bytes in between included', () => {
    const reads = mergeRanges('p', [blob('c', 300 * KiB, 10 * KiB), blob('a', 0, 100 * KiB), blob('b', 100 * KiB, 50 * KiB)]);
    expect(spans(reads)).toEqual([[0, 310 * KiB, 'abc']]);
  });

  it('starts a new request when the gap reaches MERGE_GAP', () => {
    const justBelow = mergeRanges('p', [blob('a', 0, KiB), blob('b', KiB + MERGE_GAP - 1, KiB)]);
    expect(justBelow).toHaveLength(1);
    const atGap = mergeRanges('p', [blob('a', 0, KiB), blob('b', KiB + MERGE_GAP, KiB), blob('c', 2 * KiB + MERGE_GAP, KiB)]);
    expect(spans(atGap)).toEqual([[0, KiB, 'a'], [KiB + MERGE_GAP, 2 * KiB, 'bc']]);
  });

  it('keeps every request within MAX_READ, except a single larger blob read alone', () => {
    const four = Array.from({ length: 16 }, (_, i) => blob(String(i), i * 4 * MiB, 4 * MiB)); // 64 MiB
    expect(MAX_READ % (4 * MiB)).toBe(0);
    const full = Math.floor((64 * MiB) / MAX_READ);
    const expected = Array.from({ length: full }, (_, k) => [k * MAX_READ, MAX_READ]);
    if (full * MAX_READ < 64 * MiB) expected.push([full * MAX_READ, 64 * MiB - full * MAX_READ]);
    expect(spans(mergeRanges('p', four)).map(([o, l]) => [o, l])).toEqual(expected);
    const huge = mergeRanges('p', [blob('a', 0, KiB), blob('b', KiB, 40 * MiB), blob('c', 40 * MiB + KiB, KiB)]);
    expect(spans(huge)).toEqual([[0, KiB, 'a'], [KiB, 40 * MiB, 'b'], [40 * MiB + KiB, KiB, 'c']]);
  });

  it('honours other limits', () => {
    const reads = mergeRanges('p', [blob('a', 0, 10), blob('b', 20, 10), blob('c', 31, 10)], { gap: 11, maxRead: 30 });
    expect(spans(reads)).toEqual([[0, 30, 'ab'], [31, 10, 'c']]);
  });
});

describe('planPackReads', () => {
  it('orders packs by first use, skips repeated ids and returns ids the index lacks', () => {
    const where: Record<string, BlobLocation> = {
      a: loc('p2', 500, 10), b: loc('p1', 0, 10), c: loc('p2', 0, 10), d: loc('p1', 10, 10), e: loc('p3', 0, 10),
    };
    const { reads, unlocated } = planPackReads(['a', 'b', 'x', 'a', 'c', 'd', 'e', 'b', 'y'], (id) => where[id]);
    expect(reads.map((r) => [r.packId, r.offset, r.length, r.blobs.map((b) => b.id).join('')])).toEqual([
      ['p2', 0, 510, 'ca'], // first use of p2 is "a"; within the pack, offset order
      ['p1', 0, 20, 'bd'],
      ['p3', 0, 10, 'e'],
    ]);
    expect(unlocated).toEqual(['x', 'y']);
  });
});

describe('ReadBuffers', () => {
  it('makes every kept buffer the size of the largest planned read, and never keeps a larger one', () => {
    const largest = MAX_READ - MiB;
    const buffers = new ReadBuffers(largest);
    const a = buffers.take(3 * MiB);
    expect(a.length).toBe(largest);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    buffers.give(a);
    expect(buffers.take(largest)).toBe(a); // reused, not replaced
    const huge = buffers.take(MAX_READ + 3 * MiB);
    expect(huge.length).toBe(MAX_READ + 3 * MiB);
    buffers.give(huge);
    expect(buffers.take(1)).not.toBe(huge);
    expect(new ReadBuffers(64 * MiB).take(1).length).toBe(MAX_READ); // capped
  });
});
