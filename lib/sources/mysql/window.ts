// What a MySQL/MariaDB point-in-time restore (point-in-time.ts) can reach, from a repository's snapshot list and
// a source's binlog archive listing: the recovery window runs from the oldest dump whose binlog run is archived
// without a gap to about the newest archived file (its archive time). And which dump a restore to a moment
// starts from. Pure, and light: the console imports it without the restore engine.
import type { SnapshotEntry } from '../../repo/snapshot';
import { BinlogArchiveError, binlogSequence, replayFiles, type ArchivedBinlog } from './binlog-archive';
import { readMysqlMeta, type BinlogPosition } from './format';

export class MysqlPointInTimeError extends Error {
  name = 'MysqlPointInTimeError';
}

/** A dump snapshot's binlog position (the first database's: one dump has one snapshot), or null without one. */
export function dumpBinlog(entry: SnapshotEntry): BinlogPosition | null {
  return readMysqlMeta(entry.snapshot, `snapshot ${entry.id.slice(0, 8)}`).databases.find((d) => d.binlog)?.binlog ?? null;
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
