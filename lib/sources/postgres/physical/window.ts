// The continuous recovery window of a WAL-archived cluster, and which base backup serves a recovery target.
// A base backup B can recover to any point from B.stopTime (its consistency point, conservatively) up to the
// end of the unbroken run of archived segments that starts at B.startWal. The window is the union over base
// backups; a hole in the archive (a segment missing) ends the run: recovery cannot replay past it. The time
// of a segment is when it was archived (its object's modification time), so the window's end is "about".
// Pure functions over a snapshot list and an archive listing: the console and the CLI show the same thing.
import { isSegmentName, parseLsn, parseSegmentName, type ArchivedWal } from './wal-archive';
import type { BaseBackupEntry } from './format';

export type RecoveryTarget = { kind: 'latest' } | { kind: 'immediate' } | { kind: 'time'; time: Date } | { kind: 'lsn'; lsn: string };

export type WalRun = { firstSegment: string; lastSegment: string; segments: number; endTime: Date };

export type RecoveryWindow = {
  systemId: string;
  /** Earliest point any base backup can recover to (oldest base backup's stopTime); null without base backups. */
  from: Date | null;
  /** About the latest point recoverable: archive time of the last segment of the newest base backup's run. */
  to: Date | null;
  /** Newest archived WAL file of any kind (the achieved RPO is now minus its time). */
  newestWal: ArchivedWal | null;
  baseBackups: { id: string; stopTime: string; startWal: string; run: WalRun | null }[];
  /** A segment missing after a base backup's start (recovery through it is impossible), if any. */
  gapAfter: string | null;
};

const SEGMENTS_PER_LOG_16M = 256;

/** Position of a segment in the WAL sequence, ignoring its timeline. */
function sequenceNumber(name: string, perLog: number): number {
  const { log, seg } = parseSegmentName(name);
  return log * perLog + seg;
}

/**
 * The unbroken run of segments from `startWal` onwards. For each position the highest timeline archived wins
 * (after a promotion, the new timeline's segments carry on from the switch point).
 */
export function walRunFrom(startWal: string, wal: readonly ArchivedWal[], perLog = SEGMENTS_PER_LOG_16M): { run: WalRun | null; gapAfter: string | null } {
  const startTimeline = parseSegmentName(startWal).timeline;
  const byPosition = new Map<number, ArchivedWal>();
  for (const w of wal) {
    if (!isSegmentName(w.name) || parseSegmentName(w.name).timeline < startTimeline) continue;
    const pos = sequenceNumber(w.name, perLog);
    const have = byPosition.get(pos);
    if (!have || have.name < w.name) byPosition.set(pos, w);
  }
  const start = sequenceNumber(startWal, perLog);
  if (!byPosition.has(start)) return { run: null, gapAfter: null };
  let pos = start;
  let endTime = byPosition.get(start)!.time;
  while (byPosition.has(pos + 1)) {
    pos++;
    const t = byPosition.get(pos)!.time;
    if (t > endTime) endTime = t;
  }
  const maxPos = Math.max(...byPosition.keys());
  const last = byPosition.get(pos)!;
  return {
    run: { firstSegment: byPosition.get(start)!.name, lastSegment: last.name, segments: pos - start + 1, endTime },
    gapAfter: pos < maxPos ? last.name : null,
  };
}

export function recoveryWindow(systemId: string, bases: readonly BaseBackupEntry[], wal: readonly ArchivedWal[]): RecoveryWindow {
  const sorted = [...bases].filter((b) => b.physical.systemId === systemId).sort((a, b) => Date.parse(a.physical.stopTime) - Date.parse(b.physical.stopTime));
  let gapAfter: string | null = null;
  const baseBackups = sorted.map((b) => {
    const r = walRunFrom(b.physical.startWal, wal);
    gapAfter = r.gapAfter ?? gapAfter;
    return { id: b.id, stopTime: b.physical.stopTime, startWal: b.physical.startWal, run: r.run };
  });
  const usable = baseBackups.filter((b) => b.run);
  const newest = usable[usable.length - 1];
  const newestWal = wal.reduce<ArchivedWal | null>((n, w) => (!n || w.time > n.time ? w : n), null);
  return {
    systemId,
    from: usable[0] ? new Date(usable[0].stopTime) : null,
    to: newest?.run ? new Date(Math.max(newest.run.endTime.getTime(), Date.parse(newest.stopTime))) : null,
    newestWal,
    baseBackups,
    gapAfter,
  };
}

/**
 * The base backup to start a recovery to `target` from: the newest one that finished before the target
 * (time: stopTime <= target; lsn: stopLsn <= target) and whose WAL run is archived. Throws an Error that says
 * what is available when none fits.
 */
export function chooseBaseBackup(target: RecoveryTarget, bases: readonly BaseBackupEntry[], wal: readonly ArchivedWal[]): BaseBackupEntry {
  const withRun = bases.filter((b) => walRunFrom(b.physical.startWal, wal).run);
  const describe = () =>
    bases.length === 0
      ? 'the repository holds no PostgreSQL base backup for this cluster (take one with `lifeboat database base-backup`)'
      : `base backups: ${bases.map((b) => `${b.id.slice(0, 8)} (consistent from ${b.physical.stopTime}${walRunFrom(b.physical.startWal, wal).run ? '' : ', its WAL is NOT archived'})`).join(', ')}`;
  let candidates = withRun;
  if (target.kind === 'time') candidates = withRun.filter((b) => Date.parse(b.physical.stopTime) <= target.time.getTime());
  if (target.kind === 'lsn') {
    const want = parseLsn(target.lsn);
    candidates = withRun.filter((b) => b.physical.stopLsn !== null && parseLsn(b.physical.stopLsn) <= want);
  }
  const chosen = candidates.sort((a, b) => Date.parse(a.physical.stopTime) - Date.parse(b.physical.stopTime))[candidates.length - 1];
  if (!chosen) {
    const what = target.kind === 'time' ? `time ${target.time.toISOString()}` : target.kind === 'lsn' ? `LSN ${target.lsn}` : 'the latest point';
    throw new Error(`no base backup can recover to ${what}: ${describe()}`);
  }
  if (target.kind === 'time') {
    const run = walRunFrom(chosen.physical.startWal, wal).run!;
    const end = Math.max(run.endTime.getTime(), Date.parse(chosen.physical.stopTime));
    if (target.time.getTime() > end) {
      throw new Error(`time ${target.time.toISOString()} is after the end of the archived WAL (about ${new Date(end).toISOString()}, segment ${run.lastSegment}): recover to --latest instead, or wait for more WAL to be archived`);
    }
  }
  return chosen;
}
