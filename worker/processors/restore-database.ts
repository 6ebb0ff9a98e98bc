// Processor: restore one database of a logical restore point into a NEW database on the server of a catalog
// source (the backed-up source, or a staging source of the same kind; the console decided which, see
// lib/catalog/database-restore.ts), then validate it: row counts and checksums against the manifest taken
// with the dump, and the backed-up source's smoke queries. The engines refuse an existing target database
// (no overwrite from the console) and drop what they created on failure. The outcome (validation report,
// smoke results, seconds, bytes) is the job result; a restore whose validation or smoke queries fail is
// recorded as failed with that result. The password is opened here and given only to the engine.
// Defence in depth: a server source marked production is refused here too (approvals are not built yet).
import { readEnv } from '../../lib/config/env';
import { loadDatabaseSource, mysqlConnectionOf, pgConnectionOf, type DatabaseSource } from '../../lib/catalog/database-connections';
import { openTargetRepository } from '../../lib/catalog/repositories';
import type { restoreDatabaseJob } from '../../lib/jobs/restore-database';
import { PermanentJobError, type JobHandler } from '../processor';
import { databaseRestoreOutcome, failRestoreRequest, phaseProgress, restoredSummary, stagingServerSource } from './database-jobs';

const phaseSpan = { globals: [0.03, 0.05], restore: [0.05, 0.85], validate: [0.85, 0.97], smoke: [0.97, 0.99] } as const;
const phaseStep = { globals: 'applying roles', restore: 'loading the dump', validate: 'validating row counts and checksums', smoke: 'running smoke queries' } as const;

export const restoreDatabase: JobHandler<typeof restoreDatabaseJob.schema> = async (data, { db, reporter, signal }) => {
  const point = await db.restorePoint.findUnique({ where: { id: data.restorePointId }, include: { storageTarget: true, source: true } });
  if (!point) throw new PermanentJobError(`restore point ${data.restorePointId} no longer exists`);
  const server = await stagingServerSource(db, data.serverSourceId, point.source.kind, `the restore point is a ${point.source.kind} backup`);
  const { LIFEBOAT_SECRET_KEY } = readEnv(['LIFEBOAT_SECRET_KEY']);
  let target: DatabaseSource;
  let backedUp: DatabaseSource | null = null;
  try {
    target = loadDatabaseSource(server, LIFEBOAT_SECRET_KEY);
    backedUp = point.source.id === server.id ? target : safeLoad(point.source, LIFEBOAT_SECRET_KEY);
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
  const smokeQueries = backedUp?.config.smokeQueries ?? [];

  await reporter.step('opening the repository', { fraction: 0.01 });
  const { repo, close } = await openTargetRepository(db, point.storageTarget, LIFEBOAT_SECRET_KEY, { create: false, signal });
  const onProgress = phaseProgress(reporter, phaseSpan, phaseStep, (p: { phase: keyof typeof phaseSpan; bytesDone: number; bytesTotal: number }) =>
    p.phase === 'restore' && p.bytesTotal ? p.bytesDone / p.bytesTotal : 0,
  );
  try {
    await reporter.step('loading the dump', { fraction: 0.03 });
    const common = { targetDatabase: data.targetDatabase, database: data.database, validate: true, smokeQueries, signal, onProgress };
    let result;
    let serverText: string;
    if (target.kind === 'postgres') {
      const { restorePostgresLogical, describeConnection } = await import('../../lib/sources/postgres');
      const connection = pgConnectionOf(target.config, target.password, target.config.maintenanceDatabase);
      serverText = describeConnection(connection, data.targetDatabase);
      // A staging server rarely has the source's tablespaces: every table goes into its default one.
      result = await restorePostgresLogical(repo, point.snapshotId, { ...common, connection, noTablespaces: true });
    } else {
      const { restoreMysqlLogical, describeConnection } = await import('../../lib/sources/mysql');
      const connection = mysqlConnectionOf(target.config, target.password, '');
      serverText = describeConnection(connection, data.targetDatabase);
      result = await restoreMysqlLogical(repo, point.snapshotId, { ...common, connection });
    }
    const summary = {
      engine: target.kind,
      ...restoredSummary(server, serverText, result),
    };
    return await databaseRestoreOutcome(db, data.jobRunId, summary, result, 'restored', 'the backup');
  } catch (err) {
    await failRestoreRequest(db, data.jobRunId);
    throw err;
  } finally {
    close();
  }
};

/** The backed-up source's settings for its smoke queries; null when they no longer parse (the restore still runs). */
function safeLoad(source: Parameters<typeof loadDatabaseSource>[0], secretKey: string): DatabaseSource | null {
  try {
    return loadDatabaseSource(source, secretKey);
  } catch {
    return null;
  }
}
