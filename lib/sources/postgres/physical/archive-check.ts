// Is a server set up to archive its WAL into this repository? Checks the settings (wal_level, archive_mode,
// archive_command), the archiver's own statistics (a failure newer than the last success means it is stuck),
// then forces a WAL switch and waits for that file to arrive in the repository: the only proof that matters.
import { BlobNotFoundError, type BlobStore } from '../../../blob';
import type { MasterKey } from '../../../repo/crypto/master-key';
import { closeClient, connectClient, describeConnection, type PgConnection } from '../connection';
import { WalArchive } from './wal-archive';

export type ArchiveCheck = { name: string; ok: boolean; detail: string };
export type ArchiveCheckResult = { ok: boolean; server: string; systemId: string; checks: ArchiveCheck[]; suggestedCommand: string };

type Row = {
  sysid: string; wal_level: string; archive_mode: string; archive_command: string; archive_library: string | null;
  archived_count: string; last_archived_wal: string | null; last_archived_time: Date | null;
  failed_count: string; last_failed_wal: string | null; last_failed_time: Date | null;
};

export async function checkArchiving(
  repo: { store: BlobStore; masterKey: MasterKey },
  conn: PgConnection,
  opts: { timeoutMs?: number; suggestedCommand: string; signal?: AbortSignal },
): Promise<ArchiveCheckResult> {
  const client = await connectClient(conn, conn.database, opts.signal);
  const checks: ArchiveCheck[] = [];
  try {
    const r = (await client.query<Row>(`
      SELECT (SELECT system_identifier::text FROM pg_control_system()) AS sysid, current_setting('wal_level') AS wal_level,
             current_setting('archive_mode') AS archive_mode, current_setting('archive_command') AS archive_command,
             current_setting('archive_library', true) AS archive_library, a.*
      FROM pg_stat_archiver a`)).rows[0]!;
    checks.push({ name: 'wal_level', ok: r.wal_level !== 'minimal', detail: r.wal_level === 'minimal' ? 'minimal: set wal_level = replica and restart' : r.wal_level });
    checks.push({ name: 'archive_mode', ok: r.archive_mode !== 'off', detail: r.archive_mode === 'off' ? 'off: set archive_mode = on and restart the server' : r.archive_mode });
    const usesLifeboat = /\bwal-push\b/.test(r.archive_command) && !r.archive_library;
    checks.push({
      name: 'archive_command',
      ok: usesLifeboat,
      detail: usesLifeboat ? r.archive_command : `${r.archive_library ? `archive_library is ${r.archive_library}; ` : ''}"${r.archive_command}" does not run lifeboat wal-push`,
    });
    const stuck = r.last_failed_time && (!r.last_archived_time || r.last_failed_time > r.last_archived_time);
    checks.push({
      name: 'archiver',
      ok: !stuck,
      detail: stuck
        ? `the last attempt failed: ${r.last_failed_wal} at ${r.last_failed_time!.toISOString()} (${r.failed_count} failures in all; the server log has the command's message)`
        : `${r.archived_count} files archived, last ${r.last_archived_wal ?? 'none'}${r.last_archived_time ? ` at ${r.last_archived_time.toISOString()}` : ''}; ${r.failed_count} failures`,
    });

    if (checks.every((c) => c.ok)) {
      const name = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
      const archive = new WalArchive(repo.store, repo.masterKey, r.sysid);
      const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
      let arrived = false;
      const t0 = Date.now();
      while (!arrived && Date.now() < deadline) {
        opts.signal?.throwIfAborted();
        try {
          await repo.store.head(archive.keyOf(name), { signal: opts.signal });
          arrived = true;
        } catch (err) {
          if (!(err instanceof BlobNotFoundError)) throw err;
          await new Promise((res) => setTimeout(res, 500));
        }
      }
      checks.push({
        name: 'WAL switch',
        ok: arrived,
        detail: arrived ? `${name} arrived in the repository after ${((Date.now() - t0) / 1000).toFixed(1)} s` : `${name} did not arrive in the repository within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s: archive_command archives elsewhere, or fails (see the server log)`,
      });
    }
    return { ok: checks.every((c) => c.ok), server: describeConnection(conn), systemId: r.sysid, checks, suggestedCommand: opts.suggestedCommand };
  } finally {
    await closeClient(client, conn, conn.database);
  }
}
