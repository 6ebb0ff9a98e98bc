// The continuous recovery window of a PostgreSQL source whose WAL is archived into its storage target's
// repository (docs/postgres-pitr.md), as the console shows it next to the discrete restore points: for each
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

export type PublicRecoveryWindow = {
  available: boolean;
  reason?: string;
  systems: {
    systemId: string;
    from: string | null;
    to: string | null;
    newestWal: { name: string; time: string } | null;
    rpoSeconds: number | null;
    walFiles: number;
    walBytes: number;
    baseBackups: { snapshotId: string; consistentFrom: string; startWal: string; walThrough: string | null }[];
    gapAfter: string | null;
  }[];
};

const none = (reason: string): PublicRecoveryWindow => ({ available: false, reason, systems: [] });

export async function recoveryWindowForSource(db: Db, sourceId: string, secretKey: string, now = Date.now(), signal?: AbortSignal): Promise<PublicRecoveryWindow | null> {
  const source = await db.source.findUnique({ where: { id: sourceId }, include: { storageTarget: true } });
  if (!source) return null;
  if (source.kind !== 'postgres') return none('Only PostgreSQL sources archive WAL for point-in-time recovery');
  if (!source.storageTarget) return none('This source has no storage target');
  let opened;
  try {
    opened = await openTargetRepository(db, source.storageTarget, secretKey, { create: false, signal });
  } catch (err) {
    if (err instanceof RepositoryNotFoundError) return none(`Storage target ${source.storageTarget.name} holds no repository yet: back the source up first`);
    throw err;
  }
  const { repo, close } = opened;
  try {
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
    return { available: systems.some((s) => s.from !== null), ...(systems.some((s) => s.from !== null) ? {} : { reason: 'The WAL of this source’s base backups is not archived in this repository: check archive_command (lifeboat database archive-check)' }), systems };
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
