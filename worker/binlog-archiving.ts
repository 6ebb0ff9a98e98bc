// Binary-log archiving by the worker, for MySQL/MariaDB sources with archiveBinlogs on: after each dump (the
// backup job) and every LIFEBOAT_WAL_STATUS_SECONDS (wal-status.ts), the server's closed binlog files the
// repository lacks are copied into `binlog/<source name>/` (lib/sources/mysql/binlog.ts, what `lifeboat
// database binlog-push` does from cron). The interval is the source's RPO between dumps. A failure (binary
// logging off, missing privileges) is reported, never fatal: the dump it follows is still a restore point.
import type { DatabaseSource } from '../lib/catalog/database-connections';
import { mysqlConnectionOf } from '../lib/catalog/database-connections';
import type { BinlogRepo } from '../lib/sources/mysql/binlog';

export type BinlogArchiving = { pushed: string[]; newest: string | null } | { error: string };

export async function archiveSourceBinlogs(repo: BinlogRepo, src: Extract<DatabaseSource, { kind: 'mysql' }>, signal?: AbortSignal): Promise<BinlogArchiving> {
  const { pushBinlogs } = await import('../lib/sources/mysql/binlog');
  try {
    const r = await pushBinlogs(repo, { connection: mysqlConnectionOf(src.config, src.password, ''), source: src.name, signal });
    return { pushed: r.pushed.map((p) => p.name), newest: r.newest?.name ?? null };
  } catch (err) {
    signal?.throwIfAborted();
    return { error: (err as Error).message };
  }
}
