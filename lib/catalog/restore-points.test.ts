// Catalog sync against a real catalog database: restore points are rebuilt from the repository alone.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from '../blob';
import { createDb, type Db } from '../db/client';
import { Repository } from '../repo/repository';
import { backupFilesystem } from '../sources/filesystem/backup';
import { syncRestorePoints } from './restore-points';

let db: Db;
let work: string;

beforeAll(async () => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run through `npm test`, which creates a migrated test catalog');
  db = createDb(url);
  work = await mkdtemp(join(tmpdir(), 'lifeboat-sync-test-'));
});

afterAll(async () => {
  await db.$disconnect();
  await rm(work, { recursive: true, force: true });
});

it('rebuilds restore points (and missing sources) from the snapshots, and marks vanished ones forgotten', async () => {
  const suffix = Date.now().toString(36);
  await writeFile(join(work, 'a.txt'), 'hello');
  const repo = await Repository.init(new LocalBlobStore(join(work, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  const name = `synced-${suffix}`;
  const first = await backupFilesystem(repo, { source: { kind: 'filesystem', name }, paths: [join(work, 'a.txt')] });
  await backupFilesystem(repo, { source: { kind: 'filesystem', name }, paths: [join(work, 'a.txt')] });
  const target = await db.storageTarget.create({ data: { name: `sync-target-${suffix}`, kind: 'local', path: join(work, 'repo') } });

  const r1 = await syncRestorePoints(db, repo, target.id);
  expect(r1).toMatchObject({ snapshots: 2, added: 2, updated: 0, forgotten: 0, sourcesCreated: [name] });
  const points = await db.restorePoint.findMany({ where: { storageTargetId: target.id }, orderBy: { completedAt: 'asc' } });
  expect(points.map((p) => p.mode)).toEqual(['full', 'incremental']);
  expect(points[0]!.snapshotId).toBe(first.snapshotId);
  expect(Number(points[0]!.sizeBytes)).toBe(5);

  expect(await syncRestorePoints(db, repo, target.id)).toMatchObject({ added: 0, updated: 2, forgotten: 0, sourcesCreated: [] });

  await repo.deleteSnapshot(first.snapshotId);
  expect(await syncRestorePoints(db, repo, target.id)).toMatchObject({ snapshots: 1, forgotten: 1 });
  const forgotten = await db.restorePoint.findFirstOrThrow({ where: { snapshotId: first.snapshotId } });
  expect(forgotten.status).toBe('forgotten');
});
