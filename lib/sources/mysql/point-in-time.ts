// Point-in-time restores of MySQL/MariaDB sources (docs/mysql.md §7), shared by the CLI (`database restore
// --to-time`) and the worker (the console's "Restore to a point in time"): the newest dump taken at or before the
// moment is restored into a NEW database and validated against its manifest, then the archived binary logs are
// replayed from the dump's recorded position up to that second. The replay is planned (archive complete up to
// the moment, no gap) before anything is restored; a replay that fails drops the database it created.
// What such a restore can reach, and which dump it starts from: window.ts.
import type { SnapshotEntry } from '../../repo/snapshot';
import { BinlogArchive, BinlogArchiveError, dropCreatedDatabase, planReplay, replayBinlogs, type BinlogRepo, type BinlogReplayResult } from './binlog';
import { mysqlDatabasesIn, restoreMysqlLogical, type MysqlRestoreOptions, type MysqlRestoreProgress, type MysqlRestoreRepo, type MysqlRestoreResult } from './restore';
import { chooseDatabase } from '../database-choice';
import { runSmokeQueries } from './validate';
import { MysqlPointInTimeError } from './window';

export { MysqlPointInTimeError, newestDumpBefore, recoveryWindowOf, type MysqlRecoveryWindow } from './window';

/** The dump restore's phases, then the replay (bytes: of the archived binlog files it replays) and the smoke queries. */
export type MysqlPointInTimeProgress = MysqlRestoreProgress | { phase: 'replay'; bytesDone: number; bytesTotal: number };

export type MysqlPointInTimeOptions = Omit<MysqlRestoreOptions, 'overwrite' | 'onProgress'> & { toTime: Date; onProgress?: (p: MysqlPointInTimeProgress) => void };

export type MysqlPointInTimeResult = MysqlRestoreResult & {
  /** Where the replay started (the dump's snapshot) and what it replayed. */
  replay: BinlogReplayResult & { startFile: string; startPosition: number; stopTime: string };
};

/**
 * Restores dump `entry` into a new database and replays the archived binlogs up to `toTime`. Validation (of the
 * dump, before the replay) as restoreMysqlLogical does; smoke queries run after the replay. Throws
 * MysqlPointInTimeError before restoring anything when no database can be chosen, it has no binlog position, or
 * the archive does not reach the moment.
 */
export async function restoreMysqlToTime(repo: MysqlRestoreRepo & BinlogRepo, entry: SnapshotEntry, opts: MysqlPointInTimeOptions): Promise<MysqlPointInTimeResult> {
  const { toTime, signal } = opts;
  if (Date.parse(entry.snapshot.time) > toTime.getTime()) throw new MysqlPointInTimeError(`snapshot ${entry.id.slice(0, 8)} was taken at ${entry.snapshot.time}, after the moment ${toTime.toISOString()}`);
  // The database is chosen (or the choice named) before anything is planned or restored.
  const db = chooseDatabase(mysqlDatabasesIn(entry.snapshot), opts.database, `snapshot ${entry.id.slice(0, 8)}`);
  if (typeof db === 'string') throw new MysqlPointInTimeError(db);
  if (!db.binlog) throw new MysqlPointInTimeError(`snapshot ${entry.id.slice(0, 8)} recorded no binlog position for database ${db.name} (binary logging was off, or the backup user could not read it): it cannot start a point-in-time restore`);
  let plan;
  try {
    plan = await planReplay(new BinlogArchive(repo.store, repo.masterKey, entry.snapshot.source.name), db.binlog, toTime, signal);
  } catch (err) {
    if (err instanceof BinlogArchiveError) throw new MysqlPointInTimeError(err.message);
    throw err;
  }
  const result = await restoreMysqlLogical(repo, entry.snapshot, { ...opts, database: db.name, overwrite: false, smokeQueries: [] });
  const c = opts.connection;
  const replayBytes = plan.files.reduce((n, f) => n + f.size, 0);
  opts.onProgress?.({ phase: 'replay', bytesDone: 0, bytesTotal: replayBytes });
  let replay: BinlogReplayResult;
  try {
    replay = await replayBinlogs(plan, { connection: c, sourceDatabase: result.sourceDatabase, targetDatabase: result.targetDatabase, tempDir: opts.tempDir, binDir: opts.binDir, signal });
  } catch (err) {
    await dropCreatedDatabase(c, result.targetDatabase).catch(() => {});
    throw new Error(`replaying the binlogs into ${result.targetDatabase} failed, and the database was dropped again: ${(err as Error).message}`);
  }
  opts.onProgress?.({ phase: 'replay', bytesDone: replayBytes, bytesTotal: replayBytes });
  if (opts.smokeQueries?.length) opts.onProgress?.({ phase: 'smoke', bytesDone: 0, bytesTotal: 0 });
  const smoke = opts.smokeQueries?.length ? await runSmokeQueries({ ...c, database: result.targetDatabase }, opts.smokeQueries, signal) : [];
  return {
    ...result,
    smoke,
    ok: (result.validation?.ok ?? true) && smoke.every((x) => x.ok),
    seconds: result.seconds + replay.seconds,
    replay: { ...replay, startFile: plan.start.file, startPosition: plan.start.position, stopTime: plan.stopTime.toISOString() },
  };
}
