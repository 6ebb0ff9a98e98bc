import { describe, expect, it } from 'vitest';
import { BlobNotFoundError } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { AAD, IntegrityError } from '../crypto/sealed-box';
import { saveObject } from '../objects';
import { SnapshotFormatError } from './schema';
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot } from './store';
import { makeSnapshot, testStoreKinds } from './testing';

const key = generateMasterKey();
describe.each(testStoreKinds('snapshot'))('snapshots in $name', (kind) => {
  it('saves, loads, lists oldest first and deletes', async () => {
    const store = await kind.fresh();
    const times = ['2024-03-01T00:00:00Z', '2024-01-01T00:00:00Z', '2024-02-01T12:00:00+02:00'];
    const ids: string[] = [];
    for (const time of times) ids.push(await saveSnapshot(store, key, makeSnapshot({ time, startTime: time, meta: { rows: 42 } })));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await loadSnapshot(store, key, ids[0]!)).toEqual(makeSnapshot({ time: times[0], startTime: times[0], meta: { rows: 42 } }));
    const list = await listSnapshots(store, key);
    expect(list.map((e) => e.id)).toEqual([ids[1], ids[2], ids[0]]);
    await deleteSnapshot(store, ids[2]!);
    await deleteSnapshot(store, ids[2]!); // idempotent
    expect((await listSnapshots(store, key)).map((e) => e.id)).toEqual([ids[1], ids[0]]);
    await expect(loadSnapshot(store, key, ids[2]!)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('lists many snapshots with bounded concurrency', async () => {
    const store = await kind.fresh();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const time = new Date(Date.UTC(2024, 0, 1) + i * 3600_000).toISOString();
      return saveSnapshot(store, key, makeSnapshot({ time, startTime: time }));
    }));
    const list = await listSnapshots(store, key, { concurrency: 3 });
    expect(list.map((e) => e.id)).toEqual(ids);
  });

  it('refuses to save an invalid snapshot and stores nothing', async () => {
    const store = await kind.fresh();
    await expect(saveSnapshot(store, key, makeSnapshot({ tree: 'nope' }))).rejects.toThrow(/snapshot to save: not a valid snapshot: tree: tree must be 64 lowercase hex/);
    expect(await listSnapshots(store, key)).toEqual([]);
  });

  it('names a malformed snapshot and the bad fields; onError lets the listing go on', async () => {
    const store = await kind.fresh();
    const good = await saveSnapshot(store, key, makeSnapshot());
    const { tree: _tree, ...noTree } = makeSnapshot();
    const bad = await saveObject(store, 'snapshots', key, AAD.snapshot, { ...noTree, version: 2, summary: { files: -1 } });
    const err = await loadSnapshot(store, key, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotFormatError);
    const msg = (err as Error).message;
    expect(msg).toContain(`snapshots/${bad}: not a valid snapshot`);
    expect(msg).toContain('unsupported snapshot version 2');
    expect(msg).toContain('tree:');
    expect(msg).toContain('summary.files');
    await expect(listSnapshots(store, key)).rejects.toBeInstanceOf(SnapshotFormatError);
    const skipped: string[] = [];
    const list = await listSnapshots(store, key, { onError: (id) => skipped.push(id) });
    expect(list.map((e) => e.id)).toEqual([good]);
    expect(skipped).toEqual([bad]);
  });

  it('reports a snapshot sealed for another role or with another key as an IntegrityError', async () => {
    const store = await kind.fresh();
    const wrongAad = await saveObject(store, 'snapshots', key, AAD.lock, makeSnapshot());
    await expect(loadSnapshot(store, key, wrongAad)).rejects.toThrow(IntegrityError);
    const good = await saveSnapshot(store, key, makeSnapshot());
    await expect(loadSnapshot(store, generateMasterKey(), good)).rejects.toThrow(new RegExp(`snapshots/${good}: authentication failed`));
  });
});
