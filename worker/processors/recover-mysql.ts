// Processor half for MySQL/MariaDB sources of the point-in-time job (recover-database.ts dispatches here): the
// newest dump of the source taken at or before the target is restored into a NEW database on the staging
// server and validated against its manifest, then the binary logs archived under the source's name (`lifeboat
// database binlog-push`) are replayed up to the target second (lib/sources/mysql/point-in-time.ts), then the
// source's smoke queries run. "Latest" replays everything archived. A replay that fails drops the database.
import { mysqlConnectionOf } from '../../lib/catalog/database-connections';
import type { Db } from '../../lib/db/client';
import type { RecoverDatabaseData } from '../../lib/jobs/recover-database';
import type { JobReporter } from '../../lib/jobs/reporter';
import type { StorageTarget } from '../../lib/db/generated/client';
import { PermanentJobError, type JobOutcome } from '../processor';
import { databaseRestoreOutcome, loadRestoreSources, phaseProgress, restoredSummary, withLockedRepository } from './database-jobs';

const phaseSpan = { restore: [0.05, 0.7], validate: [0.7, 0.8], replay: [0.8, 0.97], smoke: [0.97, 0.99] } as const;
const phaseStep = { restore: 'loading the dump', validate: 'validating the dump’s row counts and checksums', replay: 'replaying archived binary logs', smoke: 'running smoke queries' } as const;

type Source = Parameters<typeof loadRestoreSources>[1] & { name: string; storageTarget: StorageTarget };

export async function recoverMysqlDatabase(data: RecoverDatabaseData, source: Source, ctx: { db: Db; reporter: JobReporter; signal: AbortSignal }): Promise<JobOutcome> {
  const { db, reporter } = ctx;
  const { server, target, backedUp, secretKey } = await loadRestoreSources(db, source, data.serverSourceId, 'mysql', 'a MySQL/MariaDB point-in-time restore goes into a MySQL/MariaDB server');

  // As the PostgreSQL recovery does: the lock keeps anything from removing the dump or the archive meanwhile.
  return withLockedRepository(db, source.storageTarget, secretKey, { jobRunId: data.jobRunId, reporter, signal: ctx.signal }, async (repo, signal) => {
    const { BinlogArchive } = await import('../../lib/sources/mysql/binlog');
    const { MysqlPointInTimeError, newestDumpBefore, recoveryWindowOf, restoreMysqlToTime } = await import('../../lib/sources/mysql/point-in-time');
    const { describeConnection } = await import('../../lib/sources/mysql');
    const entries = await repo.listSnapshots(signal);
    let toTime: Date;
    if (data.target.kind === 'time') toTime = new Date(data.target.time);
    else {
      const window = recoveryWindowOf(entries, source.name, await new BinlogArchive(repo.store, repo.masterKey, source.name).list(signal));
      if (!window.to) throw new PermanentJobError(`source ${source.name} has no recovery window: no dump with a binlog position whose binary logs are archived`);
      toTime = new Date(window.to);
    }
    const connection = mysqlConnectionOf(target.config, target.password, '');
    let result;
    let dump;
    try {
      dump = newestDumpBefore(entries, toTime, source.name);
      await reporter.step(`restoring dump ${dump.id.slice(0, 8)}`, { fraction: 0.03 });
      const onProgress = phaseProgress(reporter, phaseSpan, phaseStep, (p: { phase: keyof typeof phaseSpan; bytesDone: number; bytesTotal: number }) => ((p.phase === 'restore' || p.phase === 'replay') && p.bytesTotal ? p.bytesDone / p.bytesTotal : 0));
      result = await restoreMysqlToTime(repo, dump, {
        connection,
        targetDatabase: data.targetDatabase,
        database: data.database,
        validate: true,
        smokeQueries: backedUp.config.smokeQueries,
        toTime,
        signal,
        onProgress,
      });
    } catch (err) {
      if (err instanceof MysqlPointInTimeError) throw new PermanentJobError(err.message);
      throw err;
    }
    const summary = {
      engine: 'mysql',
      pointInTime: data.target.kind === 'time' ? data.target.time : 'latest',
      stoppedAt: result.replay.stopTime,
      dump: dump.id,
      dumpTime: dump.snapshot.time,
      binlogFilesReplayed: result.replay.files.length,
      binlogStart: `${result.replay.startFile}:${result.replay.startPosition}`,
      archivedUntil: result.replay.archivedUntil,
      ...restoredSummary(server, describeConnection(connection, result.targetDatabase), result),
    };
    return await databaseRestoreOutcome(db, data.jobRunId, summary, result, 'restored to the moment', 'the dump');
  });
}
