// The database half of the backup processor (backup.ts dispatches here for postgres and mysql sources):
// a pg_dump (logical, the default), a base backup (PostgreSQL, backupKind physical: needs WAL archiving into
// this repository, docs/postgres-pitr.md) or a mariadb-dump (then, with archiveBinlogs, the binary logs:
// ../binlog-archiving.ts). The password is opened here, inside the job, and
// handed to the engine, which passes it to its client programs only through PGPASSWORD in their environment
// or a private option file; it is never part of the payload, the result, the step text or a log line.
// Progress: dump bytes stored so far; bytesTotal is the server's size estimate (a dump is usually smaller).
// The snapshot is written last by the engine; only then is the restore point recorded.
import { loadDatabaseSource, mysqlConnectionOf, pgConnectionOf, type DatabaseSource } from '../../lib/catalog/database-connections';
import type { Repository } from '../../lib/repo/repository';
import type { Snapshot } from '../../lib/repo/snapshot';
import type { JobReporter } from '../../lib/jobs/reporter';
import type { Source } from '../../lib/db/generated/client';
import { PermanentJobError } from '../processor';
import { archiveSourceBinlogs } from '../binlog-archiving';

export type DatabaseBackupOutcome = { snapshotId: string; snapshot: Snapshot; summary: Record<string, unknown> };

const progressOf = (reporter: JobReporter) => (p: { bytesDone: number; bytesEstimate?: number }) =>
  void reporter.progress({
    fraction: p.bytesEstimate ? Math.min(0.95, 0.02 + (0.93 * p.bytesDone) / p.bytesEstimate) : undefined,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesEstimate,
  });

export async function backupDatabase(
  repo: Repository,
  source: Pick<Source, 'name' | 'kind' | 'config' | 'secretsEnc'>,
  opts: { secretKey: string; backupKind?: 'logical' | 'physical'; reporter: JobReporter; signal: AbortSignal },
): Promise<DatabaseBackupOutcome> {
  let src: DatabaseSource;
  try {
    src = loadDatabaseSource(source, opts.secretKey);
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
  const onProgress = progressOf(opts.reporter);
  if (src.kind === 'mysql') {
    if (opts.backupKind === 'physical') throw new PermanentJobError('MySQL/MariaDB sources take logical backups only');
    const { backupMysqlLogical } = await import('../../lib/sources/mysql');
    await opts.reporter.step(`dumping ${src.config.database === 'all' ? 'every database' : src.config.database} (mariadb-dump)`, { fraction: 0.02 });
    const r = await backupMysqlLogical(repo, {
      source: { kind: 'mysql', name: src.name },
      connection: mysqlConnectionOf(src.config, src.password, src.config.database),
      manifest: src.config.manifest,
      signal: opts.signal,
      onProgress,
    });
    // The binlogs since the previous push, up to this dump's own position at least: the window reaches it at once.
    const binlogs = src.config.archiveBinlogs ? await archiveSourceBinlogs(repo, src, opts.signal) : undefined;
    return { snapshotId: r.snapshotId, snapshot: r.snapshot, summary: { engine: 'mysql', server: r.meta.server, databases: r.meta.databases.map((d) => ({ name: d.name, bytes: d.bytes, tables: d.tables.length })), ...(binlogs ? { binlogs } : {}) } };
  }
  const kind = opts.backupKind ?? src.config.backupKind;
  if (kind === 'physical') {
    const { backupPostgresPhysical } = await import('../../lib/sources/postgres/physical');
    await opts.reporter.step('base backup (pg_basebackup)', { fraction: 0.02 });
    const r = await backupPostgresPhysical(repo, {
      source: { kind: 'postgres', name: src.name },
      connection: pgConnectionOf(src.config, src.password, src.config.maintenanceDatabase),
      signal: opts.signal,
      onProgress,
    });
    const m = r.meta;
    return { snapshotId: r.snapshotId, snapshot: r.snapshot, summary: { engine: 'postgres', backupKind: 'physical', server: m.server, systemId: m.systemId, startWal: m.startWal, stopWal: m.stopWal, consistentFrom: m.stopTime, bytes: m.bytes } };
  }
  const { backupPostgresLogical } = await import('../../lib/sources/postgres');
  await opts.reporter.step(`dumping ${src.config.database === 'all' ? 'every database' : src.config.database} (pg_dump)`, { fraction: 0.02 });
  const r = await backupPostgresLogical(repo, {
    source: { kind: 'postgres', name: src.name },
    connection: pgConnectionOf(src.config, src.password, src.config.database),
    manifest: src.config.manifest,
    maintenanceDatabase: src.config.maintenanceDatabase,
    signal: opts.signal,
    onProgress,
  });
  return { snapshotId: r.snapshotId, snapshot: r.snapshot, summary: { engine: 'postgres', backupKind: 'logical', server: r.meta.server, databases: r.meta.databases.map((d) => ({ name: d.name, bytes: d.bytes, tables: d.tables.length })), globals: r.meta.globals !== null } };
}
