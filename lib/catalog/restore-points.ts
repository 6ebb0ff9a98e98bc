// Restore points in the catalog are an index over the snapshots in the repositories: recorded by the worker
// right after a snapshot is written, and rebuilt from the bucket by syncRestorePoints (`lifeboat catalog
// sync`) when the catalog was lost or a CLI backup happened behind its back. Idempotent on
// (storageTargetId, snapshotId).
import type { Db } from '../db/client';
import type { Repository } from '../repo/repository';
import type { Snapshot } from '../repo/snapshot';

export async function recordRestorePoint(db: Db, r: { sourceId: string; storageTargetId: string; snapshotId: string; snapshot: Snapshot }) {
  const s = r.snapshot;
  const data = {
    sourceId: r.sourceId,
    mode: s.mode,
    status: s.status,
    startedAt: new Date(s.startTime),
    completedAt: new Date(s.time),
    sizeBytes: BigInt(s.summary.bytes),
    storedBytes: BigInt(s.summary.addedBytes),
    fileCount: s.summary.files,
    tags: s.tags,
    summary: { paths: s.paths, hostname: s.hostname, ...s.summary, meta: s.meta } as object,
  };
  return db.restorePoint.upsert({
    where: { storageTargetId_snapshotId: { storageTargetId: r.storageTargetId, snapshotId: r.snapshotId } },
    create: { storageTargetId: r.storageTargetId, snapshotId: r.snapshotId, ...data },
    update: data,
  });
}

export type SyncResult = { snapshots: number; added: number; updated: number; forgotten: number; sourcesCreated: string[] };

/** Makes the catalog's restore points for `storageTargetId` match the snapshots in `repo`. */
export async function syncRestorePoints(db: Db, repo: Repository, storageTargetId: string): Promise<SyncResult> {
  const snapshots = await repo.listSnapshots();
  const result: SyncResult = { snapshots: snapshots.length, added: 0, updated: 0, forgotten: 0, sourcesCreated: [] };
  const existing = new Set((await db.restorePoint.findMany({ where: { storageTargetId }, select: { snapshotId: true } })).map((r) => r.snapshotId));
  for (const { id, snapshot } of snapshots) {
    let source = await db.source.findUnique({ where: { name: snapshot.source.name } });
    if (!source) {
      source = await db.source.create({ data: { name: snapshot.source.name, kind: snapshot.source.kind, config: { paths: snapshot.paths }, storageTargetId } });
      result.sourcesCreated.push(source.name);
    }
    await recordRestorePoint(db, { sourceId: source.id, storageTargetId, snapshotId: id, snapshot });
    if (existing.has(id)) result.updated++;
    else result.added++;
  }
  const live = snapshots.map((s) => s.id);
  const gone = await db.restorePoint.updateMany({ where: { storageTargetId, snapshotId: { notIn: live }, status: { not: 'forgotten' } }, data: { status: 'forgotten' } });
  result.forgotten = gone.count;
  return result;
}
