/**
 * runContentStoreSuite: the ContentStore cases every storage backend must pass (local directory, RADOS
 * Gateway). Registers vitest suites; each case works in its own prefix of the harness's store.
 * Cases on failures, ordering and backpressure are in suite-faults.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBuffer, type BlobStore } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { IntegrityError } from '../crypto/sealed-box';
import { readIndexFile, writeIndexForPacks } from '../index/index';
import { objectKey } from '../layout';
import { listObjectIds } from '../objects';
import { readPackHeader, storePackReader } from '../pack';
import { BlobNotInIndexError, ContentStore, type ContentStoreConfig } from '.';
import { runContentFaultCases } from './suite-faults';
import { SMALL, keysUnder, randomBlobs, saveAll, type SuiteContext, type TestStores } from './testing';

export function runContentStoreSuite(name: string, setup: () => Promise<TestStores>, variant: Partial<ContentStoreConfig> = {}): void {
  const label = Object.entries(variant).map(([k, v]) => `${k} ${v}`).join(', ');
  describe(`ContentStore: ${name}${label ? ` (${label})` : ''}`, () => {
    let stores: TestStores | undefined;
    const ctx: SuiteContext = {
      key: generateMasterKey(),
      fresh: () => stores!.makeStore(`cs-${randomBytes(6).toString('hex')}`),
      config: (c = {}) => ({ ...SMALL, ...c, ...variant }),
    };
    beforeAll(async () => {
      stores = await setup();
    });
    afterAll(async () => {
      await stores?.cleanup();
    });
    const { key, config: cfg } = ctx;

    it('saves, flushes and reopens: a new instance reads identical data', async () => {
      const store = ctx.fresh();
      const cs = await ContentStore.create(store, key, cfg());
      const blobs = [...randomBlobs(40, 100_000), Buffer.alloc(500_000, 'a'), Buffer.alloc(0)];
      const ids = await saveAll(cs, blobs);
      // Readable before flush, from the open pack, an uploading pack or a stored one.
      for (const [i, id] of ids.entries()) expect((await cs.loadBlob(id)).equals(blobs[i]!)).toBe(true);
      const indexId = await cs.flush();
      expect(indexId).toMatch(/^[0-9a-f]{64}$/);
      expect(await cs.flush()).toBeNull();
      const distinct = new Set(ids).size;
      const stats = cs.stats();
      expect(stats).toMatchObject({ blobsStored: distinct, blobsDeduplicated: blobs.length - distinct, indexesWritten: 1 });
      const packs = await keysUnder(store, 'data/');
      expect(stats.packsUploaded).toBe(packs.length);
      let uploaded = 0;
      for (const k of packs) uploaded += (await store.head(k)).size;
      expect(stats.bytesUploaded).toBe(uploaded);
      expect(stats.bytesStored).toBeLessThan(uploaded);
      expect(stats.bytesRaw).toBe(blobs.reduce((n, b) => n + b.length, 0)); // the only duplicates are empty blobs

      const again = await ContentStore.create(store, key, cfg());
      expect(again.masterIndex.size).toBe(distinct);
      for (const [i, id] of ids.entries()) expect((await again.loadBlob(id)).equals(blobs[i]!)).toBe(true);
      expect(again.masterIndex.lookup(ids[1]!)?.type).toBe('data');
      expect(again.masterIndex.lookup(ids[5]!)?.type).toBe('tree');
    });

    it('deduplicates within a session and across sessions', async () => {
      const store = ctx.fresh();
      const blobs = randomBlobs(30, 50_000).filter((b) => b.length > 0);
      const one = await ContentStore.create(store, key, cfg());
      await saveAll(one, blobs);
      const repeat = await one.saveBlob('data', blobs[3]!);
      expect(repeat).toMatchObject({ stored: false, rawLength: blobs[3]!.length });
      expect(await repeat.storedLength).toBe(0);
      await one.flush();
      expect(one.stats()).toMatchObject({ blobsStored: blobs.length, blobsDeduplicated: 1 });
      const packsBefore = await keysUnder(store, 'data/');
      const indexesBefore = await listObjectIds(store, 'index');

      const two = await ContentStore.create(store, key, cfg());
      const results = await Promise.all(blobs.map((b) => two.saveBlob('data', b)));
      expect(results.every((r) => !r.stored)).toBe(true);
      expect(await Promise.all(results.map((r) => r.storedLength))).toEqual(results.map(() => 0));
      expect(await two.flush()).toBeNull();
      expect(two.stats()).toMatchObject({
        blobsStored: 0, bytesStored: 0, bytesRaw: 0, packsUploaded: 0, bytesUploaded: 0, indexesWritten: 0,
        blobsDeduplicated: blobs.length, bytesDeduplicated: blobs.reduce((n, b) => n + b.length, 0),
      });
      expect(await keysUnder(store, 'data/')).toEqual(packsBefore);
      expect(await listObjectIds(store, 'index')).toEqual(indexesBefore);
    });

    it('stores identical content saved concurrently exactly once', async () => {
      const store = ctx.fresh();
      const cs = await ContentStore.create(store, key, cfg());
      const a = randomBytes(70_000);
      const b = randomBytes(90_000);
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => cs.saveBlob('data', Buffer.from(i % 2 ? a : b))));
      expect(results.filter((r) => r.stored)).toHaveLength(2);
      expect(new Set(results.map((r) => r.id)).size).toBe(2);
      await cs.flush();
      expect(cs.stats()).toMatchObject({ blobsStored: 2, blobsDeduplicated: 58 });
      const file = await readIndexFile(store, key, (await listObjectIds(store, 'index'))[0]!);
      expect(file.packs.flatMap((p) => p.blobs)).toHaveLength(2);
    });

    it('spreads many small blobs over several packs whose headers match the index', async () => {
      const store = ctx.fresh();
      const cs = await ContentStore.create(store, key, cfg());
      const blobs = Array.from({ length: 600 }, () => randomBytes(3000));
      const ids = await saveAll(cs, blobs);
      await cs.flush();
      const packs = [...cs.masterIndex.packs()];
      expect(packs.length).toBeGreaterThanOrEqual(6);
      expect((await keysUnder(store, 'data/')).sort()).toEqual(packs.map((p) => objectKey('data', p.id)).sort());
      const fromHeaders = new Map<string, string>();
      const blobAreas: number[] = [];
      for (const p of packs) {
        const reader = await storePackReader(store, p.id);
        expect(reader.size).toBe(p.size);
        const entries = await readPackHeader(key, reader, p.id);
        blobAreas.push(entries.reduce((n, e) => n + e.length, 0));
        for (const e of entries) {
          expect(cs.masterIndex.lookup(e.id)).toMatchObject({ packId: p.id, offset: e.offset, length: e.length, rawLength: e.rawLength });
          fromHeaders.set(e.id, p.id);
        }
      }
      expect(fromHeaders.size).toBe(new Set(ids).size);
      // Trees and data never share a pack (tree packs are cached whole, lib/repo/cache/tree-cache.ts).
      for (const p of packs) expect(p.treesOnly, `pack ${p.id}`).toBe(ids.filter((_, i) => i % 5 === 0).includes([...fromHeaders].find(([, pack]) => pack === p.id)![0]));
      expect(packs.filter((p) => p.treesOnly).length).toBeGreaterThanOrEqual(1);
      // Every pack but the last one of each type reaches its target (a quarter for trees: 4 MiB of 16),
      // and none exceeds it by more than a blob.
      expect(blobAreas.filter((n, i) => n < (packs[i]!.treesOnly ? Math.min(SMALL.packTargetSize, 4 * 1024 * 1024) : SMALL.packTargetSize)).length).toBeLessThanOrEqual(2);
      expect(Math.max(...blobAreas)).toBeLessThan(SMALL.packTargetSize + 3100);
    });

    it('reports unknown ids, tampered packs and missing packs clearly', async () => {
      const store = ctx.fresh();
      const cs = await ContentStore.create(store, key, cfg());
      const ids = [(await cs.saveBlob('data', randomBytes(20_000))).id, (await cs.saveBlob('data', randomBytes(20_000))).id]; // one pack
      await cs.flush();
      const missing = randomBytes(32).toString('hex');
      await expect(cs.loadBlob(missing)).rejects.toThrow(new BlobNotInIndexError(missing).message);
      await expect(cs.loadBlob(missing)).rejects.toBeInstanceOf(BlobNotInIndexError);

      const loc = cs.masterIndex.lookup(ids[1]!)!;
      const packKey = objectKey('data', loc.packId);
      const bytes = await getBuffer(store, packKey);
      bytes[loc.offset + 100]! ^= 0x04;
      await store.put(packKey, () => bytes);
      const reader = await ContentStore.create(store, key, cfg());
      const err = await reader.loadBlob(ids[1]!).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toContain(`blob ${ids[1]} in pack ${loc.packId}`);
      await store.delete(packKey);
      await expect(reader.loadBlob(ids[0]!)).rejects.toThrow(`blob ${ids[0]}: pack ${packKey} listed in the index is missing from storage`);
    });

    it('honours supersedes when loading: blobs of dropped packs are gone, the rest stays readable', async () => {
      const store = ctx.fresh();
      const cs = await ContentStore.create(store, key, cfg());
      const first = Array.from({ length: 100 }, () => randomBytes(6000));
      const firstIds = await saveAll(cs, first);
      const indexA = (await cs.flush())!;
      const second = await saveAll(cs, [randomBytes(1000)]);
      const indexB = (await cs.flush())!;
      const fileA = await readIndexFile(store, key, indexA);
      expect(fileA.packs.length).toBeGreaterThan(1);
      const [dropped, ...kept] = fileA.packs;
      const keptPacks = await Promise.all(kept.map(async (p) => ({ id: p.id, size: p.size, entries: await readPackHeader(key, await storePackReader(store, p.id)) })));
      const indexC = await writeIndexForPacks(store, key, keptPacks, { supersedes: [indexA] });

      const reader = await ContentStore.create(store, key, cfg());
      expect(reader.masterIndex.indexIds().sort()).toEqual([indexB, indexC.id].sort());
      const droppedIds = new Set(dropped!.blobs.map((b) => b.id));
      for (const [i, id] of firstIds.entries()) {
        if (droppedIds.has(id)) await expect(reader.loadBlob(id)).rejects.toBeInstanceOf(BlobNotInIndexError);
        else expect((await reader.loadBlob(id)).equals(first[i]!)).toBe(true);
      }
      expect(await reader.loadBlob(second[0]!)).toHaveLength(1000);
      // Saving a dropped blob again stores it anew (the old pack is no longer indexed).
      const again = await reader.saveBlob('data', first[firstIds.indexOf([...droppedIds][0]!)]!);
      expect(again.stored).toBe(true);
    });

    runContentFaultCases(ctx);
  });
}
