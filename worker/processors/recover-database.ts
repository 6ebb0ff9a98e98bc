// Processor: point-in-time recovery of one database of a WAL-archived PostgreSQL source into a NEW database on
// a staging server (lib/jobs/recover-database.ts); MySQL/MariaDB sources go to recover-mysql.ts. Picks the newest base backup of the source that fits the
// target, recovers the cluster into a private scratch directory with restore_command = `lifeboat wal-fetch`
// (the repository's location and password go to a 0600 file inside that directory, removed after recovery),
// copies the database to the staging server and validates the copy against the recovered cluster (row counts,
// checksums) and the source's smoke queries. A copy that fails validation is recorded as failed with the
// report. Defence in depth: a production target server is refused here too (approvals are not built yet).
import { fileURLToPath } from 'node:url';
import { pgConnectionOf } from '../../lib/catalog/database-connections';
import { repositoryPassword } from '../../lib/catalog/repository-password';
import type { recoverDatabaseJob } from '../../lib/jobs/recover-database';
import type { RecoverProgress } from '../../lib/sources/postgres/physical';
import type { CopyProgress } from '../../lib/sources/postgres/copy';
import { repositoryEnv } from '../../lib/repo/location';
import { blobConfigFor } from '../../lib/storage-targets/catalog';
import { PermanentJobError, type JobHandler } from '../processor';
import { databaseRestoreOutcome, loadRestoreSources, phaseProgress, restoredSummary, withLockedRepository } from './database-jobs';
import { recoverMysqlDatabase } from './recover-mysql';

type Phase = 'restore' | 'verify' | 'recover' | 'done' | 'copy' | 'validate' | 'smoke';
const phaseSpan: Record<Phase, readonly [number, number]> = { restore: [0.03, 0.4], verify: [0.4, 0.45], recover: [0.45, 0.7], done: [0.7, 0.72], copy: [0.72, 0.92], validate: [0.92, 0.97], smoke: [0.97, 0.99] };
const phaseStep: Record<Phase, string> = {
  restore: 'unpacking the base backup',
  verify: 'checking the base backup against its manifest',
  recover: 'replaying archived WAL',
  done: 'recovery finished',
  copy: 'copying the database to the staging server',
  validate: 'validating row counts and checksums',
  smoke: 'running smoke queries',
};
/** The CLI the recovered server runs as restore_command (`wal-fetch`). */
const CLI = fileURLToPath(new URL('../../bin/lifeboat.mjs', import.meta.url));

export const recoverDatabase: JobHandler<typeof recoverDatabaseJob.schema> = async (data, { db, reporter, signal }) => {
  const source = await db.source.findUnique({ where: { id: data.sourceId }, include: { storageTarget: true } });
  if (!source) throw new PermanentJobError(`source ${data.sourceId} no longer exists`);
  const storageTarget = source.storageTarget;
  if (!storageTarget) throw new PermanentJobError(`source ${source.name} has no storage target`);
  if (source.kind === 'mysql') return recoverMysqlDatabase(data, { ...source, storageTarget }, { db, reporter, signal });
  if (source.kind !== 'postgres') throw new PermanentJobError(`source ${source.name} is ${source.kind}: point-in-time recovery needs a PostgreSQL or MySQL/MariaDB source`);
  const { server, target, backedUp, secretKey } = await loadRestoreSources(db, source, data.serverSourceId, 'postgres', 'point-in-time recovery restores into a PostgreSQL server');

  return withLockedRepository(db, storageTarget, secretKey, { jobRunId: data.jobRunId, reporter, signal }, async (repo, jobSignal) => {
    const { WalArchive, baseBackupsIn, chooseBaseBackup, recoverToDatabase } = await import('../../lib/sources/postgres/physical');
    const bases = baseBackupsIn(await repo.listSnapshots(jobSignal)).filter((b) => b.snapshot.source.name === source.name && (!data.systemId || b.physical.systemId === data.systemId));
    const systemId = data.systemId ?? bases[0]?.physical.systemId;
    if (!systemId) throw new PermanentJobError(`the repository holds no base backup of source ${source.name}`);
    const archive = new WalArchive(repo.store, repo.masterKey, systemId, repo.config.compression.level);
    const wal = await archive.list(jobSignal);
    const recoveryTarget = data.target.kind === 'time' ? { kind: 'time' as const, time: new Date(data.target.time) } : { kind: 'latest' as const };
    let base;
    try {
      base = chooseBaseBackup(recoveryTarget, bases.filter((b) => b.physical.systemId === systemId), wal);
    } catch (err) {
      throw new PermanentJobError((err as Error).message);
    }
    await reporter.step(`recovering from base backup ${base.id.slice(0, 8)}`, { fraction: 0.02 });
    const walFetchEnv = { ...repositoryEnv(blobConfigFor(storageTarget, secretKey)), LIFEBOAT_PASSWORD: await repositoryPassword(db, storageTarget, secretKey), LIFEBOAT_CACHE_DIR: 'off' };

    const result = await recoverToDatabase(repo, base, {
      target: recoveryTarget,
      walFetch: { command: [process.execPath, CLI], env: walFetchEnv },
      wal,
      archive,
      role: backedUp.config.user,
      database: data.database,
      to: pgConnectionOf(target.config, target.password, target.config.maintenanceDatabase),
      targetDatabase: data.targetDatabase,
      smokeQueries: backedUp.config.smokeQueries,
      signal: jobSignal,
      onProgress: phaseProgress(reporter, phaseSpan, phaseStep, (p: RecoverProgress | CopyProgress) =>
        p.phase === 'recover' ? ('walFraction' in p ? (p.walFraction ?? 0) : 0) : p.bytesTotal ? p.bytesDone / p.bytesTotal : 0,
      ),
    });
    const c = result.copy;
    const summary = {
      engine: 'postgres',
      pointInTime: data.target.kind === 'time' ? data.target.time : 'latest',
      baseBackup: result.baseBackup,
      stoppedAt: result.stoppedAt,
      lastTransactionTime: result.lastTransactionTime,
      walFilesRestored: result.walFilesRestored,
      recoverySeconds: result.recoverySeconds,
      ...restoredSummary(server, `${target.config.user}@${target.config.host}:${target.config.port}/${c.targetDatabase}`, c, result.seconds),
    };
    return await databaseRestoreOutcome(db, data.jobRunId, summary, c, 'recovered', 'the recovered cluster');
  });
};
