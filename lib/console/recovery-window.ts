// The continuous recovery window of a PostgreSQL source whose WAL is archived into its storage target's
// repository (docs/postgres-pitr.md), or of a MySQL/MariaDB source whose binary logs are (docs/mysql.md §7,
// `lifeboat database binlog-push` from cron), as the console shows it next to the discrete restore points. PostgreSQL: for each
// cluster (system identifier) of this source's base backups, the window from the oldest usable base backup
// to about the newest archived segment of the newest one's unbroken run, the newest archived WAL file and
// the achieved RPO (now minus the window's end: with a gap, WAL past it cannot be replayed), and a gap warning.
// Read-only on the repository: it opens it as the worker does (lib/catalog/repositories.ts), lists snapshots
// and the WAL prefix, and never creates one. It records the window's end in Source.walArchivedAt, which the
// source list's RPO status counts like a restore point (the worker refreshes it too, worker/wal-status.ts).
// A source without base backups, a target without a repository or another kind answer available: false
// with the reason.
import type { Db } from '../db/client';
import { openTargetRepository } from '../catalog/repositories';
import { RepositoryNotFoundError } from '../repo/init';
// Direct modules, not the engine's index: the console needs no pg_basebackup or recovery code.
import { baseBackupsIn } from '../sources/postgres/physical/format';
import { WalArchive } from '../sources/postgres/physical/wal-archive';
import { recoveryWindow } from '../sources/postgres/physical/window';
import type { Repository } from '../repo/repository';
import { BinlogArchive, isBinlogSourceName } from '../sources/mysql/binlog-archive';
import { recoveryWindowOf } from '../sources/mysql/window';

export type PublicRecoveryWindow = {
  /** Which log the window replays: PostgreSQL WAL, or MySQL/MariaDB binary logs. */
  engine: 'postgres' | 'mysql';
  available: boolean;
  reason?: string;
  /** PostgreSQL: one per cluster (system identifier). MySQL/MariaDB: one, named after the source. */
  systems: {
    systemId: string;
    from: string | null;
    to: string | null;
    newestWal: { name: string; time: string } | null;
    rpoSeconds: number | null;
    /** Archived WAL segments, or binlog files. */
    walFiles: number;
    walBytes: number;
    /** Where a restore starts: base backups, or dumps with a binlog position (startWal: their binlog file). */
    baseBackups: { snapshotId: string; consistentFrom: string; startWal: string; walThrough: string | null }[];
    gapAfter: string | null;
  }[];
};

const none = (reason: string, engine: PublicRecoveryWindow['engine'] = 'postgres'): PublicRecoveryWindow => ({ engine, available: false, reason, systems: [] });

/** `beforeRead` runs on the opened repository first (the worker archives binlogs there: one open, not two). */
export async function recoveryWindowForSource(db: Db, sourceId: string, secretKey: string, now = Date.now(), signal?: AbortSignal, beforeRead?: (repo: Repository) => Promise<void>): Promise<PublicRecoveryWindow | null> {
  const source = await db.source.findUnique({ where: { id: sourceId }, include: { storageTarget: true } });
  if (!source) return null;
  if (source.kind !== 'postgres' && source.kind !== 'mysql') return none('Only database sources (PostgreSQL with archived WAL, MySQL/MariaDB with archived binary logs) have a recovery window');
  const engine = source.kind;
  if (!source.storageTarget) return none('This source has no storage target', engine);
  let opened;
  try {
    opened = await openTargetRepository(db, source.storageTarget, secretKey, { create: false, signal });
  } catch (err) {
    if (err instanceof RepositoryNotFoundError) return none(`Storage target ${source.storageTarget.name} holds no repository yet: back the source up first`, engine);
    throw err;
  }
  const { repo, close } = opened;
  try {
    await beforeRead?.(repo);
    if (engine === 'mysql') return await mysqlWindow(db, source, repo, now, signal);
    const bases = baseBackupsIn(await repo.listSnapshots(signal)).filter((b) => b.snapshot.source.name === source.name);
    const systemIds = [...new Set(bases.map((b) => b.physical.systemId))].sort();
    if (systemIds.length === 0) {
      await recordWalArchivedAt(db, source.id, source.walArchivedAt, []);
      return none('No base backup of this source yet: take one (backup kind physical) with WAL archiving set up, see docs/postgres-pitr.md');
    }
    const systems = await Promise.all(
      systemIds.map(async (systemId) => {
        const wal = await new WalArchive(repo.store, repo.masterKey, systemId).list(signal);
        const w = recoveryWindow(systemId, bases, wal);
        return {
          systemId,
          from: w.from?.toISOString() ?? null,
          to: w.to?.toISOString() ?? null,
          newestWal: w.newestWal ? { name: w.newestWal.name, time: w.newestWal.time.toISOString() } : null,
          rpoSeconds: w.to ? Math.max(0, Math.round((now - w.to.getTime()) / 1000)) : null,
          walFiles: wal.length,
          walBytes: wal.reduce((n, x) => n + x.size, 0),
          baseBackups: w.baseBackups.map((b) => ({ snapshotId: b.id, consistentFrom: b.stopTime, startWal: b.startWal, walThrough: b.run?.lastSegment ?? null })),
          gapAfter: w.gapAfter,
        };
      }),
    );
    await recordWalArchivedAt(db, source.id, source.walArchivedAt, systems);
    return { engine, available: systems.some((s) => s.from !== null), ...(systems.some((s) => s.from !== null) ? {} : { reason: 'The WAL of this source’s base backups is not archived in this repository: check archive_command (lifeboat database archive-check)' }), systems };
  } finally {
    close();
  }
}

/** Source.walArchivedAt = the newest end of a usable window (null without one); written only when it changed. */
async function recordWalArchivedAt(db: Db, sourceId: string, current: Date | null, systems: { from: string | null; to: string | null }[]): Promise<void> {
  const ends = systems.filter((s) => s.from !== null && s.to !== null).map((s) => Date.parse(s.to!));
  const next = ends.length ? new Date(Math.max(...ends)) : null;
  if ((current?.getTime() ?? null) === (next?.getTime() ?? null)) return;
  await db.source.update({ where: { id: sourceId }, data: { walArchivedAt: next } });
}

/** A MySQL/MariaDB source's window: its dumps with a binlog position and the binlogs archived under its name. */
async function mysqlWindow(db: Db, source: { id: string; name: string; walArchivedAt: Date | null }, repo: Repository, now: number, signal?: AbortSignal): Promise<PublicRecoveryWindow> {
  if (!isBinlogSourceName(source.name)) return none(`The source's name "${source.name}" cannot name a binlog archive (letters, digits, ".", "_" and "-" only): rename it to archive binary logs`, 'mysql');
  const entries = await repo.listSnapshots(signal);
  const archived = await new BinlogArchive(repo.store, repo.masterKey, source.name).list(signal);
  const w = recoveryWindowOf(entries, source.name, archived);
  const system = {
    systemId: source.name,
    from: w.from,
    to: w.to,
    newestWal: w.newest ? { name: w.newest.name, time: w.newest.time.toISOString() } : null,
    rpoSeconds: w.to ? Math.max(0, Math.round((now - Date.parse(w.to)) / 1000)) : null,
    walFiles: archived.length,
    walBytes: archived.reduce((n, x) => n + x.size, 0),
    baseBackups: w.dumps.map((d) => ({ snapshotId: d.snapshotId, consistentFrom: d.time, startWal: d.binlog.file, walThrough: w.newest?.name ?? null })),
    gapAfter: w.gapAfter,
  };
  await recordWalArchivedAt(db, source.id, source.walArchivedAt, [system]);
  if (w.from !== null) return { engine: 'mysql', available: true, systems: [system] };
  const reason = !entries.some((e) => e.snapshot.source.kind === 'mysql' && e.snapshot.source.name === source.name)
    ? 'No dump of this source yet: back it up first, with binary logging on'
    : archived.length === 0
      ? `No binary logs archived for this source: run \`lifeboat database binlog-push --source-name ${source.name}\` from cron (docs/mysql.md §7)`
      : 'The archived binary logs do not reach back to a dump of this source (or the dumps recorded no binlog position): take a dump, then archive again';
  return { engine: 'mysql', available: false, reason, systems: [system] };
}
