import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { contentId, generateMasterKey } from '../crypto/master-key';
import { BOX_OVERHEAD, IntegrityError, seal } from '../crypto/sealed-box';
import { objectKey } from '../layout';
import { sha256Hex } from '../objects';
import { HEADER_ENTRY_SIZE, openBlobFromPack, PackWriter, readPackHeader, sealBlob, storePackReader, type BlobType } from '.';

const key = generateMasterKey();

function makePack(blobs: { type: BlobType; data: Buffer }[], targetSize?: number) {
  const writer = new PackWriter(key, { targetSize });
  for (const b of blobs) {
    const { id, sealed } = sealBlob(key, b.data, 3);
    writer.add(b.type, id.toString('hex'), sealed, b.data.length);
  }
  return writer.finish();
}

const sample = () => [
  { type: 'data' as const, data: randomBytes(100_000) },
  { type: 'tree' as const, data: Buffer.from(JSON.stringify({ nodes: Array(500).fill({ name: 'x', type: 'file' }) })) },
  { type: 'data' as const, data: Buffer.alloc(0) },
  { type: 'data' as const, data: Buffer.alloc(300_000, 7) },
];

describe('pack files', () => {
  it('round-trips blobs: exact offsets, header parsed from the tail, id = SHA-256 of the bytes', async () => {
    const blobs = sample();
    const pack = makePack(blobs);
    expect(pack.id).toBe(sha256Hex(pack.bytes));
    const headerLength = pack.bytes.readUInt32LE(pack.bytes.length - 4);
    const blobArea = pack.entries.reduce((n, e) => n + e.length, 0);
    expect(blobArea + headerLength + 4).toBe(pack.bytes.length);
    // Uncompressed header: box overhead + compression byte + 41 bytes per entry (ids are random).
    expect(headerLength).toBe(BOX_OVERHEAD + 1 + blobs.length * HEADER_ENTRY_SIZE);
    expect(await readPackHeader(key, pack.bytes, `pack ${pack.id}`)).toEqual(pack.entries);
    let offset = 0;
    pack.entries.forEach((e, i) => {
      expect(e.offset).toBe(offset);
      offset += e.length;
      expect(e).toMatchObject({ type: blobs[i]!.type, rawLength: blobs[i]!.data.length, id: contentId(key, blobs[i]!.data).toString('hex') });
      const plain = openBlobFromPack(key, pack.bytes.subarray(e.offset, e.offset + e.length), e.id, { pack: pack.id, rawLength: e.rawLength });
      expect(plain.equals(blobs[i]!.data)).toBe(true);
    });
    // Compressible data is stored compressed.
    expect(pack.entries[3]!.length).toBeLessThan(10_000);
  });

  it('addWith seals straight into the pack buffer, and a finished pack\'s buffer can build the next pack', async () => {
    const blobs = sample();
    const first = new PackWriter(key, { targetSize: 64 * 1024 });
    for (const b of blobs) {
      const { id, sealed } = sealBlob(key, b.data, 3);
      // Written in place; the writer is told the most it may take and gets back what was written.
      first.addWith(b.type, id.toString('hex'), b.data.length, sealed.length + 100, (dest) => sealed.copy(dest));
    }
    expect(() => first.addWith('data', 'a'.repeat(64), 1, 10, () => 11)).toThrow(RangeError);
    const one = first.finish();
    expect(one.id).toBe(sha256Hex(one.bytes));
    expect(one.buffer.buffer).toBe(one.bytes.buffer);
    expect(await readPackHeader(key, one.bytes, 'pack one')).toEqual(one.entries);
    const oneCopy = Buffer.from(one.bytes);

    const second = new PackWriter(key, { targetSize: 64 * 1024, buffer: one.buffer });
    const more = sample();
    for (const b of more) {
      const { id, sealed } = sealBlob(key, b.data, 3);
      second.add(b.type, id.toString('hex'), sealed, b.data.length);
    }
    const two = second.finish();
    expect(two.buffer).toBe(one.buffer); // no new allocation
    expect(two.id).toBe(sha256Hex(two.bytes));
    expect(two.id).not.toBe(sha256Hex(oneCopy));
    for (const [i, e] of (await readPackHeader(key, two.bytes, 'pack two')).entries()) {
      expect(openBlobFromPack(key, two.bytes.subarray(e.offset, e.offset + e.length), e.id).equals(more[i]!.data)).toBe(true);
    }
    // A buffer too small for the writer's capacity is not used.
    const third = new PackWriter(key, { targetSize: 64 * 1024, buffer: Buffer.alloc(10) });
    third.add('data', 'b'.repeat(64), sealBlob(key, Buffer.from('x'), 3).sealed, 1);
    expect(third.finish().buffer.length).toBeGreaterThan(10);
  });

  it('reads the header through a store with ranged reads, also when it is larger than the first tail read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-pack-'));
    try {
      const store = new LocalBlobStore(dir, { fsync: false });
      const many = Array.from({ length: 2000 }, () => ({ type: 'data' as const, data: randomBytes(64) }));
      for (const pack of [makePack(sample()), makePack(many)]) {
        await store.put(objectKey('data', pack.id), () => pack.bytes);
        const reader = await storePackReader(store, pack.id);
        const reads: number[] = [];
        const counting = { size: reader.size, read: (o: number, l: number) => (reads.push(l), reader.read(o, l)) };
        expect(await readPackHeader(key, counting, pack.id)).toEqual(pack.entries);
        expect(reads.length).toBe(pack.entries.length > 700 ? 2 : 1);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('detects a tampered byte, naming the blob and the pack', async () => {
    const pack = makePack(sample());
    const e = pack.entries[0]!;
    const bytes = Buffer.from(pack.bytes);
    bytes[e.offset + 50]! ^= 0x01;
    const sealed = bytes.subarray(e.offset, e.offset + e.length);
    expect(() => openBlobFromPack(key, sealed, e.id, { pack: pack.id })).toThrow(IntegrityError);
    expect(() => openBlobFromPack(key, sealed, e.id, { pack: pack.id })).toThrow(`blob ${e.id} in pack ${pack.id}: authentication failed`);
  });

  it('refuses the right box under another id, a wrong length, and a box sealed with a mismatching id', () => {
    const pack = makePack(sample());
    const [a, b] = pack.entries as [typeof pack.entries[0], typeof pack.entries[0]];
    const boxA = pack.bytes.subarray(a.offset, a.offset + a.length);
    expect(() => openBlobFromPack(key, boxA, b.id, { pack: 'p' })).toThrow(`blob ${b.id} in pack p: authentication failed`);
    expect(() => openBlobFromPack(key, boxA, a.id, { pack: 'p', rawLength: a.rawLength + 1 })).toThrow(/plaintext is 100000 bytes, expected 100001/);
    // A writer bug: a box whose AAD is an id that is not the HMAC of its plaintext.
    const liar = sealBlob(key, Buffer.from('actual content'), 3, contentId(key, Buffer.from('claimed content')));
    expect(() => openBlobFromPack(key, liar.sealed, contentId(key, Buffer.from('claimed content')).toString('hex'), { pack: 'p' }))
      .toThrow(/content does not match its id \(HMAC differs\)/);
  });

  it('refuses damaged headers with IntegrityError naming the pack', async () => {
    const pack = makePack(sample());
    const flip = (at: number) => {
      const b = Buffer.from(pack.bytes);
      b[at]! ^= 0x10;
      return b;
    };
    await expect(readPackHeader(key, flip(pack.bytes.length - 10), 'pack P')).rejects.toThrow('pack P header: authentication failed');
    await expect(readPackHeader(key, flip(pack.bytes.length - 1), 'pack P')).rejects.toThrow(/pack P: header length \d+ is impossible/);
    await expect(readPackHeader(key, pack.bytes.subarray(0, 20), 'pack P')).rejects.toThrow(/pack P: truncated/);
    await expect(readPackHeader(key, pack.bytes.subarray(1), 'pack P')).rejects.toThrow(/pack P: pack header lists \d+ bytes of blobs but the pack holds \d+/);
    await expect(readPackHeader(generateMasterKey(), pack.bytes, 'pack P')).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses a header of a size that is not whole entries', async () => {
    const header = seal(key.encKey, Buffer.concat([Buffer.of(0), Buffer.alloc(40)]), Buffer.from('lifeboat/v1/pack-header'));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    await expect(readPackHeader(key, Buffer.concat([header, len]), 'pack Q')).rejects.toThrow('pack Q: pack header is 40 bytes, not a multiple of 41');
  });

  it('fills up to the target size and refuses misuse', () => {
    const w = new PackWriter(key, { targetSize: 1000 });
    expect(() => w.finish()).toThrow(/empty pack/);
    const { id, sealed } = sealBlob(key, randomBytes(600), 3);
    w.add('data', id.toString('hex'), sealed, 600);
    expect(w.isFull).toBe(false);
    const second = sealBlob(key, randomBytes(600), 3);
    w.add('data', second.id.toString('hex'), second.sealed, 600);
    expect(w.isFull).toBe(true);
    expect(w.sealedAt(1).equals(second.sealed)).toBe(true);
    w.finish();
    expect(() => w.add('data', id.toString('hex'), sealed, 600)).toThrow(/after finish/);
    expect(() => new PackWriter(key, { targetSize: 0 })).toThrow(RangeError);
  });
});
