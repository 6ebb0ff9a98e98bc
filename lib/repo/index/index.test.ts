import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { AAD, IntegrityError } from '../crypto/sealed-box';
import { saveObject } from '../objects';
import type { PackEntry } from '../pack';
import {
  IndexFormatError, MasterIndex, indexFileFor, indexFileSchema, loadMasterIndex, parseIndexFile, readIndexFile, writeIndexForPacks,
  type IndexFile, type StoredPack,
} from '.';
import { isPlainValidIndexFile } from './schema';

const key = generateMasterKey();
const hex = () => randomBytes(32).toString('hex');

function fakePack(n: number): StoredPack {
  const entries: PackEntry[] = Array.from({ length: n }, (_, i) => ({ id: hex(), type: 'data', offset: i * 100, length: 100, rawLength: 71 }));
  return { id: hex(), size: n * 100 + 200, entries };
}

describe('index file schema', () => {
  it('accepts what indexFileFor writes', () => {
    const file = indexFileFor([fakePack(3), fakePack(1)], [hex()]);
    expect(parseIndexFile(JSON.parse(JSON.stringify(file)), 'index/x')).toEqual(file);
  });

  it('names the index file and the bad fields', () => {
    const file = indexFileFor([fakePack(2)]) as unknown as { packs: { id: string; blobs: Record<string, unknown>[] }[] };
    file.packs[0]!.id = 'nope';
    file.packs[0]!.blobs[1]!.type = 'blob';
    file.packs[0]!.blobs[0]!.length = -1;
    const err = (() => {
      try {
        parseIndexFile(file, 'index/abc');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(IndexFormatError);
    expect(err?.message).toMatch(/^index\/abc: invalid index file:/);
    expect(err?.message).toContain('packs[0].id');
    expect(err?.message).toContain('packs[0].blobs[1].type');
    expect(err?.message).toContain('packs[0].blobs[0].length');
  });

  it('refuses unknown versions, non-objects and blobs outside their pack', () => {
    expect(() => parseIndexFile({ version: 2, supersedes: [], packs: [] }, 'index/v2')).toThrow('index/v2: unsupported index version 2 (this Lifeboat reads version 1)');
    expect(() => parseIndexFile([], 'index/arr')).toThrow('index/arr: not an index file');
    const file = indexFileFor([fakePack(2)]);
    file.packs[0]!.size = 150;
    expect(() => parseIndexFile(file, 'index/small')).toThrow(/index\/small: packs\[0\]\.blobs\[1\] \(offset 100, length 100\) lies outside pack/);
  });

  it('takes the quick path only where zod accepts the file unchanged', () => {
    const good = JSON.parse(JSON.stringify(indexFileFor([fakePack(2)], [hex()]))) as IndexFile;
    expect(isPlainValidIndexFile(good)).toBe(true);
    const mutations: ((f: Record<string, any>) => void)[] = [
      (f) => (f.extra = 1), (f) => (f.supersedes = ['x']), (f) => (f.supersedes = 'x'), (f) => (f.packs = {}),
      (f) => (f.packs[0].id = 'A'.repeat(64)), (f) => (f.packs[0].size = -1), (f) => (f.packs[0].size = 1.5), (f) => (f.packs[0].blobs = []),
      (f) => (f.packs[0].more = true), (f) => (f.packs[0].blobs[0].type = 'blob'), (f) => (f.packs[0].blobs[0].offset = '0'),
      (f) => (f.packs[0].blobs[0].length = 5), (f) => (f.packs[0].blobs[0].rawLength = 2 ** 32), (f) => (f.packs[0].blobs[0].note = ''),
      (f) => delete f.packs[0].blobs[0].rawLength, (f) => (f.packs[0].blobs[0] = null),
    ];
    for (const mutate of mutations) {
      const f = structuredClone(good) as Record<string, any>;
      mutate(f);
      const zod = indexFileSchema.safeParse(f);
      expect(isPlainValidIndexFile(f), JSON.stringify(f).slice(0, 200)).toBe(false);
      if (zod.success) expect(zod.data).not.toEqual(f); // zod accepts only by stripping the unknown key
    }
  });
});

describe('MasterIndex', () => {
  const A = hex();
  const B = hex();
  const C = hex();
  const p1 = fakePack(3);
  const p2 = fakePack(2);
  const p3 = { ...fakePack(1), entries: [p1.entries[0]!] }; // a second copy of p1's first blob, elsewhere
  const fileA = indexFileFor([p1]);
  const fileB = indexFileFor([p2, { ...p1, entries: p1.entries.slice(0, 2) }], [A]); // prune: rewrites A without its third blob
  const fileC = indexFileFor([p3]);

  function check(ix: MasterIndex) {
    expect(ix.has(p1.entries[0]!.id)).toBe(true);
    expect(ix.has(p1.entries[1]!.id)).toBe(true);
    expect(ix.has(p1.entries[2]!.id)).toBe(false);
    expect(ix.has(p2.entries[0]!.id)).toBe(true);
    const { id: _id, ...where } = p2.entries[1]!;
    expect(ix.lookup(p2.entries[1]!.id)).toMatchObject({ ...where, packId: p2.id });
    expect(ix.lookupAll(p1.entries[0]!.id).map((l) => l.packId).sort()).toEqual([p1.id, p3.id].sort());
    expect(ix.lookupAll(p1.entries[1]!.id).map((l) => l.packId)).toEqual([p1.id]);
    expect(ix.size).toBe(4);
    expect([...ix.packs()].map((p) => p.id).sort()).toEqual([p1.id, p2.id, p3.id].sort());
    expect(ix.indexIds().sort()).toEqual([B, C].sort());
  }

  it('honours supersedes whatever the order the files arrive in', () => {
    const orders: [string, IndexFile][][] = [
      [[A, fileA], [B, fileB], [C, fileC]],
      [[B, fileB], [A, fileA], [C, fileC]],
      [[C, fileC], [A, fileA], [B, fileB]],
    ];
    for (const order of orders) {
      for (const deferPurge of [false, true]) {
        const ix = new MasterIndex();
        for (const [id, file] of order) ix.add(id, file, { deferPurge });
        ix.purge();
        check(ix);
      }
    }
  });

  it('drops a pack whose only index is superseded by one that no longer lists it', () => {
    const ix = new MasterIndex();
    ix.add(A, fileA);
    ix.add(hex(), indexFileFor([p2], [A]));
    expect([...ix.packs()].map((p) => p.id)).toEqual([p2.id]);
    expect(ix.has(p1.entries[0]!.id)).toBe(false);
  });
});

describe('index files in storage', () => {
  let dir: string;
  let store: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-index-'));
    store = new LocalBlobStore(dir, { fsync: false });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes, reads and loads the master index honouring supersedes', async () => {
    const p1 = fakePack(3);
    const p2 = fakePack(2);
    const a = await writeIndexForPacks(store, key, [p1]);
    expect(await readIndexFile(store, key, a.id)).toEqual(a.file);
    const b = await writeIndexForPacks(store, key, [p2, { ...p1, entries: p1.entries.slice(1) }], { supersedes: [a.id] });
    const ix = await loadMasterIndex(store, key, { concurrency: 1 });
    expect(ix.indexIds()).toEqual([b.id]);
    expect(ix.has(p1.entries[0]!.id)).toBe(false);
    expect(ix.lookup(p1.entries[1]!.id)?.packId).toBe(p1.id);
    expect(ix.size).toBe(4);
  });

  it('fails the load on a damaged or malformed index file, naming it', async () => {
    const bad = await saveObject(store, 'index', key, AAD.index, { version: 1, supersedes: 'x', packs: [] });
    await expect(loadMasterIndex(store, key)).rejects.toThrow(new RegExp(`^index/${bad}: invalid index file`));
    await store.delete(`index/${bad}`);
    const wrongAad = await saveObject(store, 'index', key, AAD.snapshot, indexFileFor([]));
    const err = await loadMasterIndex(store, key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(`index/${wrongAad}: authentication failed`);
    await store.delete(`index/${wrongAad}`);
  });
});
