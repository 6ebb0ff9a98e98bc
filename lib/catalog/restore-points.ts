// Restore points in the catalog are an index over the snapshots in the repositories: recorded by the worker
// right after a snapshot is written, and rebuilt from the bucket by syncRestorePoints (`lifeboat catalog
// sync`) when the catalog was lost or a CLI backup happened behind its back. Idempotent on
// (storageTargetId, snapshotId).
// Database snapshots carry their validation manifest (every table's row count and checksum) in
// snapshot.meta; the catalog keeps only a digest of it per database (name, dump bytes, manifest mode, table
// and row counts; binlog position, base-backup WAL range), since the full manifest stays in the repository
// where the restore reads it. restorePointContent() says what a restore point holds, for the console.
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
    summary: { paths: s.paths, hostname: s.hostname, ...s.summary, meta: catalogMeta(s.meta) } as object,
  };
  return db.restorePoint.upsert({
    where: { storageTargetId_snapshotId: { storageTargetId: r.storageTargetId, snapshotId: r.snapshotId } },
    create: { storageTargetId: r.storageTargetId, snapshotId: r.snapshotId, ...data },
    update: data,
  });
}

type DbDigest = { name?: unknown; tables?: unknown } & Record<string, unknown>;

/** snapshot.meta with each database's table list replaced by its table and row counts. */
export function catalogMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...meta };
  for (const key of ['postgres', 'mysql']) {
    const m = meta[key] as { databases?: DbDigest[] } | undefined;
    if (!m || !Array.isArray(m.databases)) continue;
    out[key] = {
      ...m,
      databases: m.databases.map(({ tables, ...d }) =>
        Array.isArray(tables) ? { ...d, tableCount: tables.length, rows: (tables as { rows?: number }[]).reduce((n, t) => n + (t.rows ?? 0), 0) } : d,
      ),
    };
  }
  return out;
}

export type RestorePointContent = 'files' | 'postgres-logical' | 'postgres-physical' | 'mysql-logical';

/** What a restore point holds, from its catalog summary: files, a logical dump (with its databases) or a base backup. */
export function restorePointContent(summary: unknown): { content: RestorePointContent; databases: string[] } {
  const meta = ((summary ?? {}) as { meta?: Record<string, unknown> }).meta ?? {};
  const names = (m: unknown) => (((m as { databases?: { name?: unknown }[] })?.databases ?? []).map((d) => d.name).filter((n): n is string => typeof n === 'string'));
  if (meta.postgresPhysical) return { content: 'postgres-physical', databases: [] };
  if (meta.postgres) return { content: 'postgres-logical', databases: names(meta.postgres) };
  if (meta.mysql) return { content: 'mysql-logical', databases: names(meta.mysql) };
  return { content: 'files', databases: [] };
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
      // A database source rebuilt from the bucket has no connection settings: an admin fills them in.
      const config = snapshot.source.kind === 'postgres' || snapshot.source.kind === 'mysql' ? {} : { paths: snapshot.paths };
      source = await db.source.create({ data: { name: snapshot.source.name, kind: snapshot.source.kind, config, storageTargetId } });
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
