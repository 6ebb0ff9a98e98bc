// Point-in-time restores of MySQL/MariaDB sources (docs/mysql.md §7), shared by the CLI (`database restore
// --to-time`) and the worker (the console's "Restore to a point in time"): the newest dump taken at or before the
// moment is restored into a NEW database and validated against its manifest, then the archived binary logs are
// replayed from the dump's recorded position up to that second. The replay is planned (archive complete up to
// the moment, no gap) before anything is restored; a replay that fails drops the database it created.
// The recovery window (recoveryWindowOf) is what such a restore can reach: from the oldest dump whose binlog run
// is archived without a gap to about the newest archived file.
import type { SnapshotEntry } from '../../repo/snapshot';
import { BinlogArchive, BinlogArchiveError, dropCreatedDatabase, planReplay, replayBinlogs, type BinlogRepo, type BinlogReplayResult } from './binlog';
import { binlogSequence, replayFiles, type ArchivedBinlog } from './binlog-archive';
import type { BinlogPosition } from './format';
import { mysqlDatabasesIn, restoreMysqlLogical, type MysqlRestoreOptions, type MysqlRestoreRepo, type MysqlRestoreResult } from './restore';
import { runSmokeQueries } from './validate';

export class MysqlPointInTimeError extends Error {
  name = 'MysqlPointInTimeError';
}

/** A dump snapshot's binlog position (the first database's: one dump has one snapshot), or null without one. */
export function dumpBinlog(entry: SnapshotEntry): BinlogPosition | null {
  return mysqlDatabasesIn(entry.snapshot).find((d) => d.binlog)?.binlog ?? null;
}

/** The MySQL/MariaDB dumps of `sourceName` (all sources when omitted), newest first. */
function dumpsOf(entries: readonly SnapshotEntry[], sourceName: string | undefined): SnapshotEntry[] {
  return entries.filter((e) => e.snapshot.source.kind === 'mysql' && (!sourceName || e.snapshot.source.name === sourceName)).sort((a, b) => b.snapshot.time.localeCompare(a.snapshot.time));
}

/** The newest MySQL/MariaDB dump taken at or before `t` (of `sourceName` when given). */
export function newestDumpBefore(entries: readonly SnapshotEntry[], t: Date, sourceName: string | undefined): SnapshotEntry {
  const dumps = dumpsOf(entries, sourceName);
  const before = dumps.find((e) => Date.parse(e.snapshot.time) <= t.getTime());
  if (!before) {
    const of = sourceName ? ` of source ${sourceName}` : '';
    throw new MysqlPointInTimeError(dumps.length ? `no MySQL/MariaDB dump${of} was taken before ${t.toISOString()} (the oldest: ${dumps.at(-1)!.snapshot.time})` : `the repository holds no MySQL/MariaDB dump${of}`);
  }
  return before;
}

export type MysqlRecoveryWindow = {
  /** The oldest moment a restore can reach (the oldest usable dump's time), null when none can. */
  from: string | null;
  /** About the newest moment: when the newest archived binlog file was archived. */
  to: string | null;
  newest: ArchivedBinlog | null;
  /** Dumps a replay can start from (their binlog run is archived without a gap), oldest first. */
  dumps: { snapshotId: string; time: string; binlog: BinlogPosition }[];
  /** The last archived file before a gap in the archive, when there is one after the oldest dump's start. */
  gapAfter: string | null;
};

/** What point-in-time restores of a source's dumps can reach with the binlogs archived (`archived`). Pure. */
export function recoveryWindowOf(entries: readonly SnapshotEntry[], sourceName: string, archived: readonly ArchivedBinlog[]): MysqlRecoveryWindow {
  const usable: MysqlRecoveryWindow['dumps'] = [];
  let gapAfter: string | null = null;
  let end: ArchivedBinlog | null = null;
  for (const e of dumpsOf(entries, sourceName).reverse()) {
    const binlog = dumpBinlog(e);
    if (!binlog) continue;
    try {
      const run = replayFiles(archived, binlog.file);
      usable.push({ snapshotId: e.id, time: e.snapshot.time, binlog });
      end = run.at(-1)!;
    } catch (err) {
      if (!(err instanceof BinlogArchiveError)) throw err;
      gapAfter ??= gapIn(archived, binlog.file);
    }
  }
  const newest = [...archived].sort((a, b) => a.time.getTime() - b.time.getTime()).at(-1) ?? null;
  // A dump taken after the newest archived file still has nothing to replay: no window until a later push.
  const reachable = usable.filter((d) => end && Date.parse(d.time) <= end.time.getTime());
  return { from: reachable[0]?.time ?? null, to: reachable.length && end ? end.time.toISOString() : null, newest, dumps: reachable, gapAfter };
}

/** The last file before the first gap in the archived run that starts at `startFile`, or null. */
function gapIn(archived: readonly ArchivedBinlog[], startFile: string): string | null {
  const base = startFile.slice(0, startFile.lastIndexOf('.'));
  const seqs = archived.filter((f) => f.name.startsWith(`${base}.`)).map((f) => ({ name: f.name, seq: binlogSequence(f.name) })).filter((f) => f.seq >= binlogSequence(startFile)).sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < seqs.length; i++) if (seqs[i]!.seq !== seqs[i - 1]!.seq + 1) return seqs[i - 1]!.name;
  return null;
}

export type MysqlPointInTimeOptions = Omit<MysqlRestoreOptions, 'overwrite'> & { toTime: Date };

export type MysqlPointInTimeResult = MysqlRestoreResult & {
  /** Where the replay started (the dump's snapshot) and what it replayed. */
  replay: BinlogReplayResult & { startFile: string; startPosition: number; stopTime: string };
};

/**
 * Restores dump `entry` into a new database and replays the archived binlogs up to `toTime`. Validation (of the
 * dump, before the replay) as restoreMysqlLogical does; smoke queries run after the replay. Throws
 * MysqlPointInTimeError before restoring anything when the dump has no binlog position or the archive does not
 * reach the moment.
 */
export async function restoreMysqlToTime(repo: MysqlRestoreRepo & BinlogRepo, entry: SnapshotEntry, opts: MysqlPointInTimeOptions): Promise<MysqlPointInTimeResult> {
  const { toTime, signal } = opts;
  if (Date.parse(entry.snapshot.time) > toTime.getTime()) throw new MysqlPointInTimeError(`snapshot ${entry.id.slice(0, 8)} was taken at ${entry.snapshot.time}, after the moment ${toTime.toISOString()}`);
  const dbs = mysqlDatabasesIn(entry.snapshot);
  const db = opts.database === undefined ? (dbs.length === 1 ? dbs[0] : undefined) : dbs.find((d) => d.name === opts.database);
  if (db && !db.binlog) throw new MysqlPointInTimeError(`snapshot ${entry.id.slice(0, 8)} recorded no binlog position for database ${db.name} (binary logging was off, or the backup user could not read it): it cannot start a point-in-time restore`);
  let plan;
  if (db?.binlog) {
    try {
      plan = await planReplay(new BinlogArchive(repo.store, repo.masterKey, entry.snapshot.source.name), db.binlog, toTime, signal);
    } catch (err) {
      if (err instanceof BinlogArchiveError) throw new MysqlPointInTimeError(err.message);
      throw err;
    }
  }
  // Without a database chosen among several, the restore names the choice (restoreMysqlLogical refuses).
  const result = await restoreMysqlLogical(repo, entry.snapshot, { ...opts, overwrite: false, smokeQueries: [] });
  if (!plan) throw new MysqlPointInTimeError(`database ${result.sourceDatabase} has no binlog position to replay from`);
  const c = opts.connection;
  let replay: BinlogReplayResult;
  try {
    replay = await replayBinlogs(plan, { connection: c, sourceDatabase: result.sourceDatabase, targetDatabase: result.targetDatabase, tempDir: opts.tempDir, binDir: opts.binDir, signal });
  } catch (err) {
    await dropCreatedDatabase(c, result.targetDatabase).catch(() => {});
    throw new Error(`replaying the binlogs into ${result.targetDatabase} failed, and the database was dropped again: ${(err as Error).message}`);
  }
  const smoke = opts.smokeQueries?.length ? await runSmokeQueries({ ...c, database: result.targetDatabase }, opts.smokeQueries, signal) : [];
  return {
    ...result,
    smoke,
    ok: (result.validation?.ok ?? true) && smoke.every((x) => x.ok),
    seconds: result.seconds + replay.seconds,
    replay: { ...replay, startFile: plan.start.file, startPosition: plan.start.position, stopTime: plan.stopTime.toISOString() },
  };
}
