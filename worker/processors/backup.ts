// Processor: back up a source: files (filesystem, config) here, databases (postgres, mysql) in
// backup-database.ts. The snapshot is the restore point: it is recorded in the catalog only after the
// engine has written it (all data durably stored, format §11).
import { backupJob } from '../../lib/jobs/backup';
import { readEnv } from '../../lib/config/env';
import { filesystemConfig } from '../../lib/catalog/sources';
import { abortStaleUploadsFor, openTargetRepository } from '../../lib/catalog/repositories';
import { recordRestorePoint } from '../../lib/catalog/restore-points';
import { backupFilesystem } from '../../lib/sources/filesystem/backup';
import { indexLeftoverPacks } from '../../lib/repo/leftover-packs';
import { mergeIndexAfterBackup } from '../../lib/repo/maintenance';
import type { Repository } from '../../lib/repo/repository';
import type { Logger } from '../../lib/log';
import { isDatabaseKind } from '../../lib/catalog/database-config';
import { backupDatabase } from './backup-database';
import { PermanentJobError, type JobHandler } from '../processor';

export const backup: JobHandler<typeof backupJob.schema> = async (data, { db, reporter, signal, log }) => {
  const source = await db.source.findUnique({ where: { id: data.sourceId }, include: { storageTarget: true } });
  if (!source) throw new PermanentJobError(`source ${data.sourceId} no longer exists`);
  if (!source.storageTarget) throw new PermanentJobError(`source ${source.name} has no storage target`);
  const database = isDatabaseKind(source.kind);
  const config = database ? null : filesystemConfig.safeParse(source.config);
  if (config && !config.success) throw new PermanentJobError(`source ${source.name} has invalid settings: ${config.error.issues.map((i) => i.message).join('; ')}`);

  await reporter.step('opening the repository', { fraction: 0.01 });
  const { LIFEBOAT_SECRET_KEY } = readEnv(['LIFEBOAT_SECRET_KEY']);
  const { repo, close } = await openTargetRepository(db, source.storageTarget, LIFEBOAT_SECRET_KEY, { create: true, signal });
  try {
    // A backup killed before writing its index left packs behind: index them so this run reuses them.
    await indexLeftoverPacks(repo, signal).catch(() => undefined);
    await abortStaleUploadsFor(source.storageTarget, LIFEBOAT_SECRET_KEY, 3_600_000, signal).catch(() => 0);
    if (database) {
      const r = await backupDatabase(repo, source, { secretKey: LIFEBOAT_SECRET_KEY, backupKind: data.backupKind, reporter, signal });
      const point = await recordRestorePoint(db, { sourceId: source.id, storageTargetId: source.storageTarget.id, snapshotId: r.snapshotId, snapshot: r.snapshot });
      await db.jobRun.update({ where: { id: data.jobRunId }, data: { restorePointId: point.id, bytesDone: BigInt(r.snapshot.summary.bytes), filesDone: r.snapshot.summary.files } });
      await mergeIndexWhenLarge(repo, signal, log);
      return { status: 'succeeded', result: { snapshotId: r.snapshotId, restorePointId: point.id, ...r.summary, bytes: r.snapshot.summary.bytes, addedBytes: r.snapshot.summary.addedBytes } };
    }
    const fs = config!.data!;
    await reporter.step(data.mode === 'full' ? 'reading every file (full)' : 'reading changed files');
    const { snapshotId, snapshot } = await backupFilesystem(repo, {
      source: { kind: source.kind as 'filesystem' | 'config', name: source.name },
      paths: fs.paths,
      excludes: fs.excludes,
      includes: fs.includes.length ? fs.includes : undefined,
      oneFileSystem: fs.oneFileSystem,
      full: data.mode === 'full',
      signal,
      onProgress: (p) =>
        void reporter.progress({
          fraction: p.bytesTotal ? Math.min(0.98, p.bytesDone / p.bytesTotal) : undefined,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          filesDone: p.filesDone,
          filesTotal: p.filesTotal,
        }),
    });
    const point = await recordRestorePoint(db, { sourceId: source.id, storageTargetId: source.storageTarget.id, snapshotId, snapshot });
    await db.jobRun.update({ where: { id: data.jobRunId }, data: { restorePointId: point.id, bytesDone: BigInt(snapshot.summary.bytes), filesDone: snapshot.summary.files } });
    await mergeIndexWhenLarge(repo, signal, log);
    const result = { snapshotId, restorePointId: point.id, summary: snapshot.summary };
    return snapshot.status === 'partial'
      ? { status: 'partial', result, error: `${snapshot.summary.errors.length} file(s) could not be read` }
      : { status: 'succeeded', result };
  } finally {
    close();
  }
};

/** Every backup adds an index file: once there are many, merge them (best effort; skipped while the repository is in use). */
async function mergeIndexWhenLarge(repo: Repository, signal: AbortSignal, log: Logger): Promise<void> {
  const merged = await mergeIndexAfterBackup(repo, signal, (err) => log.warn({ err }, 'could not merge index files'));
  if (merged) log.info({ indexCompaction: merged }, 'merged index files');
}
