// Index compaction on a local directory store (the CLI suite runs it against RADOS Gateway too): the
// master index is the same before and after, dead files are dropped rather than revived, an interrupted
// run leaves a loadable index, and batches stay within their bounds.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore, type BlobStore } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { listObjectIds } from '../objects';
import type { PackEntry } from '../pack';
import { compactIndex, loadMasterIndex, readIndexFile, writeIndexForPacks, type MasterIndex, type StoredPack } from '.';

const key = generateMasterKey();
const hex = () => randomBytes(32).toString('hex');

function fakePack(n: number): StoredPack {
  const entries: PackEntry[] = Array.from({ length: n }, (_, i) => ({ id: hex(), type: i % 3 ? 'data' : 'tree', offset: i * 100, length: 100, rawLength: 71 }));
  return { id: hex(), size: n * 100 + 200, entries };
}

/** Every blob with all its distinct locations, sorted: what readers see. */
function snapshotOf(ix: MasterIndex): string[] {
  return [...ix.entries()].flatMap(([id]) => ix.lookupAll(id).map((l) => `${id} ${l.packId} ${l.type} ${l.offset} ${l.length} ${l.rawLength}`)).sort();
}

let dir: string;
let store: LocalBlobStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-compact-'));
  store = new LocalBlobStore(dir, { fsync: false });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('compactIndex', () => {
  it('merges small files into few, keeping every blob location, and leaves large files alone', async () => {
    const shared = fakePack(4);
    for (let i = 0; i < 12; i++) await writeIndexForPacks(store, key, i === 3 || i === 7 ? [fakePack(2), shared] : [fakePack(1 + (i % 3))]);
    const large = await writeIndexForPacks(store, key, [fakePack(30)]);
    const before = snapshotOf(await loadMasterIndex(store, key));

    const r = await compactIndex(store, key, { targetBlobs: 40 });
    expect(r.before).toBe(13);
    expect(r.written.length).toBeGreaterThan(0);
    expect(r.removed).toHaveLength(12);
    expect(r.removed).not.toContain(large.id);
    const ids = await listObjectIds(store, 'index');
    expect(ids.sort()).toEqual([large.id, ...r.written].sort());
    expect(r.after).toBe(ids.length);
    expect(snapshotOf(await loadMasterIndex(store, key))).toEqual(before);
    // The pack listed by two files appears once, with each blob once.
    for (const id of r.written) {
      const file = await readIndexFile(store, key, id);
      expect(file.packs.reduce((n, p) => n + p.blobs.length, 0)).toBeLessThanOrEqual(40);
      expect(new Set(file.packs.map((p) => p.id)).size).toBe(file.packs.length);
      const sharedEntry = file.packs.find((p) => p.id === shared.id);
      if (sharedEntry) expect(sharedEntry.blobs).toHaveLength(4);
    }
    // A second run finds nothing worth merging.
    expect((await compactIndex(store, key, { targetBlobs: 40 })).written).toEqual([]);
  });

  it('deletes superseded files without merging them (their entries stay dropped)', async () => {
    const p1 = fakePack(3);
    const a = await writeIndexForPacks(store, key, [p1]);
    // b supersedes a and drops p1's first blob, as a prune would.
    const b = await writeIndexForPacks(store, key, [{ ...p1, entries: p1.entries.slice(1) }], { supersedes: [a.id] });
    const c = await writeIndexForPacks(store, key, [fakePack(2)]);
    const before = snapshotOf(await loadMasterIndex(store, key));
    expect(before.some((l) => l.startsWith(p1.entries[0]!.id))).toBe(false);

    const r = await compactIndex(store, key);
    expect(r.removed.sort()).toEqual([a.id, b.id, c.id].sort());
    expect(r.written).toHaveLength(1);
    const merged = await readIndexFile(store, key, r.written[0]!);
    expect(merged.supersedes.sort()).toEqual([a.id, b.id, c.id].sort());
    expect(merged.packs.flatMap((p) => p.blobs.map((x) => x.id))).not.toContain(p1.entries[0]!.id);
    expect(snapshotOf(await loadMasterIndex(store, key))).toEqual(before);
  });

  it('leaves a loadable index when interrupted between writing and deleting, and finishes on the next run', async () => {
    for (let i = 0; i < 5; i++) await writeIndexForPacks(store, key, [fakePack(2)]);
    const before = snapshotOf(await loadMasterIndex(store, key));
    let deletes = 0;
    const failing = new Proxy(store, {
      get(target, prop) {
        if (prop === 'delete') {
          return async (k: string, o?: object) => {
            if (++deletes > 2) throw new Error('connection reset');
            return target.delete(k, o);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as BlobStore;
    await expect(compactIndex(failing, key)).rejects.toThrow('connection reset');
    expect(await listObjectIds(store, 'index')).toHaveLength(4); // 5 - 2 deleted + 1 written
    expect(snapshotOf(await loadMasterIndex(store, key))).toEqual(before);

    // The three files left are dead now (the merged file supersedes them): deleted, not merged again.
    const again = await compactIndex(store, key);
    expect(again.written).toEqual([]);
    expect(again.removed).toHaveLength(3);
    expect(await listObjectIds(store, 'index')).toHaveLength(1);
    expect(snapshotOf(await loadMasterIndex(store, key))).toEqual(before);
  });

  it('does not carry ids already deleted in supersedes', async () => {
    for (let i = 0; i < 3; i++) await writeIndexForPacks(store, key, [fakePack(2)]);
    const first = await compactIndex(store, key);
    await writeIndexForPacks(store, key, [fakePack(2)]);
    const second = await compactIndex(store, key);
    expect(second.written).toHaveLength(1);
    const merged = await readIndexFile(store, key, second.written[0]!);
    expect(merged.supersedes.sort()).toEqual(second.removed.sort());
    expect(merged.supersedes).not.toContain(first.removed[0]);
  });

  it('writes at most maxBatches files per run, and refuses bad bounds', async () => {
    for (let i = 0; i < 9; i++) await writeIndexForPacks(store, key, [fakePack(3)]);
    const r = await compactIndex(store, key, { targetBlobs: 8, maxBatches: 2 });
    expect(r.written).toHaveLength(2);
    expect(r.removed).toHaveLength(4);
    expect(r.after).toBe(7);
    await expect(compactIndex(store, key, { targetBlobs: 1 })).rejects.toThrow('targetBlobs must be an integer of at least 2, got 1');
    await expect(compactIndex(store, key, { maxBatches: 0 })).rejects.toThrow('maxBatches must be a positive integer, got 0');
  });
});
