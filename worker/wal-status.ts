// Keeps the achieved RPO of WAL-archived PostgreSQL sources (and MySQL/MariaDB sources with archived binlogs)
// current without anyone opening their page, and archives the binlogs of MySQL/MariaDB sources that ask for it
// (archiveBinlogs, binlog-archiving.ts) first: every LIFEBOAT_WAL_STATUS_SECONDS (default 5 min) the worker reads
// the recovery window of each database source that has restore points, which records the window's end in
// Source.walArchivedAt (lib/console/recovery-window.ts). The server archives WAL by itself (archive_command), and
// a cron line pushes binlogs (`lifeboat database binlog-push`), so nothing else would tell the catalog. A source whose
// repository cannot be read is logged and skipped; the next round tries again.
import type { Db } from '../lib/db/client';
import type { Logger } from 'pino';
import { recoveryWindowForSource } from '../lib/console/recovery-window';
import { loadDatabaseSource } from '../lib/catalog/database-connections';
import type { BinlogRepo } from '../lib/sources/mysql/binlog';
import { archiveSourceBinlogs } from './binlog-archiving';

export async function refreshWalStatus(db: Db, secretKey: string, log: Pick<Logger, 'warn'>, signal?: AbortSignal): Promise<number> {
  const sources = await db.source.findMany({ where: { kind: { in: ['postgres', 'mysql'] }, storageTargetId: { not: null }, restorePoints: { some: {} } }, select: { id: true, name: true, kind: true, config: true, secretsEnc: true } });
  let read = 0;
  for (const s of sources) {
    if (signal?.aborted) break;
    try {
      await recoveryWindowForSource(db, s.id, secretKey, Date.now(), signal, binlogArchiver(s, secretKey, log, signal));
      read++;
    } catch (err) {
      log.warn({ source: s.name, err: (err as Error).message }, 'could not read the WAL or binlog archive for the achieved RPO');
    }
  }
  return read;
}

/** Runs refreshWalStatus now and then every `seconds` (never overlapping); returns a stop function. */
export function scheduleWalStatus(db: Db, secretKey: string, seconds: number, log: Pick<Logger, 'warn'>): () => void {
  if (seconds <= 0) return () => {};
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    await refreshWalStatus(db, secretKey, log, abort.signal).catch((err) => log.warn({ err: (err as Error).message }, 'WAL status round failed'));
    if (!abort.signal.aborted) timer = setTimeout(() => void round(), seconds * 1000).unref();
  };
  timer = setTimeout(() => void round(), 5_000).unref();
  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}

/** For a MySQL/MariaDB source that archives its binlogs (archiveBinlogs): pushes the new ones; failures are logged. */
function binlogArchiver(s: Parameters<typeof loadDatabaseSource>[0], secretKey: string, log: Pick<Logger, 'warn'>, signal?: AbortSignal): ((repo: BinlogRepo) => Promise<void>) | undefined {
  if (s.kind !== 'mysql') return undefined;
  const src = loadDatabaseSource(s, secretKey);
  if (src.kind !== 'mysql' || !src.config.archiveBinlogs) return undefined;
  return async (repo) => {
    const r = await archiveSourceBinlogs(repo, src, signal);
    if ('error' in r) log.warn({ source: s.name, err: r.error }, 'could not archive the binary logs');
  };
}
