// PostgreSQL physical backups and point-in-time recovery from the command line (docs/postgres-pitr.md):
//   database base-backup     pg_basebackup streamed into a new restore point (needs WAL archiving)
//   database recover         base backup + archived WAL into a new data directory, to a time, an LSN or the latest
//   database wal-status      the continuous recovery window and the achieved RPO of each archived cluster
//   database archive-check   is the server set up to archive into this repository? (switches a WAL file and waits)
// They join the `database` group of database.ts. The engine is loaded only when one of them runs.
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { repositoryEnv, repositoryLocation } from '../../../lib/repo/location';
import type { Repository } from '../../../lib/repo/repository';
import { openRepo, readPassword, type GlobalOptions } from '../context';
import { EXIT, UsageError } from '../errors';
import { describeCompaction, parseDuration, staleUploadAge, tidyUpAfterBackup, tidyUpBeforeBackup } from '../housekeeping';
import { abortOnSignals } from '../interrupt';
import { emit } from '../output';
import { formatBytes, ProgressLine } from '../progress';
import { connectionFrom, connectionOptions, parseMoment, type ConnectionFlags } from './database';

const physical = () => import('../../../lib/sources/postgres/physical');
const collect = (v: string, prev: string[]) => [...prev, v];

/** The argv that runs this CLI again (for restore_command), independent of PATH and the current directory. */
export function selfCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../lifeboat.mjs', import.meta.url))];
}

/** What wal-fetch needs to reach the repository, as environment variables (written to a 0600 file). */
function walFetchEnv(opts: GlobalOptions): Record<string, string> {
  return { ...repositoryEnv(repositoryLocation(opts)), LIFEBOAT_PASSWORD: readPassword(opts), LIFEBOAT_CACHE_DIR: 'off' };
}

/** The WAL listing of one cluster (--system-id) or of every cluster: one listing either way. */
async function archivedWal(repo: Repository, systemId: string | undefined, signal?: AbortSignal) {
  const { WalArchive, walBySystem } = await physical();
  if (systemId) return new Map([[systemId, await new WalArchive(repo.store, repo.masterKey, systemId).list(signal)]]);
  return walBySystem(repo.store, signal);
}

function parseTarget(cmd: { toTime?: string; toLsn?: string; latest?: boolean; immediate?: boolean }) {
  const given = [cmd.toTime !== undefined, cmd.toLsn !== undefined, !!cmd.latest, !!cmd.immediate].filter(Boolean).length;
  if (given !== 1) throw new UsageError('choose exactly one recovery target: --to-time T, --to-lsn L, --latest or --immediate');
  if (cmd.toTime !== undefined) return { kind: 'time' as const, time: parseMoment(cmd.toTime, '--to-time') };
  if (cmd.toLsn !== undefined) {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(cmd.toLsn)) throw new UsageError(`--to-lsn must be an LSN like 0/3000028, got "${cmd.toLsn}"`);
    return { kind: 'lsn' as const, lsn: cmd.toLsn.toUpperCase() };
  }
  return cmd.latest ? { kind: 'latest' as const } : { kind: 'immediate' as const };
}

export function registerDatabasePhysical(program: Command, globals: () => GlobalOptions) {
  const group = program.commands.find((c) => c.name() === 'database');
  if (!group) throw new Error('registerDatabasePhysical: register the database group first');
  group.description('database backups: logical dumps of PostgreSQL and MySQL/MariaDB (backup, restore), PostgreSQL base backups and point-in-time recovery (base-backup, recover, wal-status, archive-check); see their --help');

  const base = group
    .command('base-backup')
    .description('stream a PostgreSQL base backup (pg_basebackup) into a new restore point; WAL must be archived with `lifeboat wal-push`')
    .option('--database <name>', 'database to connect to for the server checks (default postgres)', 'postgres')
    .option('--checkpoint <mode>', 'fast (immediate checkpoint, default) or spread (gentler on the server, slower to start)', 'fast')
    .option('--max-rate <rate>', 'limit the transfer rate (pg_basebackup --max-rate, e.g. 32M)')
    .option('--source-name <name>', 'name of the source this restore point belongs to', 'database')
    .option('--tag <tag>', 'tag the restore point (repeatable)', collect, []);
  connectionOptions(base, '(unused by base-backup)').action(async (cmd: ConnectionFlags & { database: string; checkpoint: string; maxRate?: string; sourceName: string; tag: string[] }) => {
    const opts = globals();
    if (!['fast', 'spread'].includes(cmd.checkpoint)) throw new UsageError(`--checkpoint must be fast or spread, got "${cmd.checkpoint}"`);
    if (!cmd.sourceName) throw new UsageError('--source-name must not be empty');
    const connection = connectionFrom(cmd, cmd.database);
    staleUploadAge();
    const { backupPostgresPhysical } = await physical();
    const { repo, close } = await openRepo(opts);
    const progress = new ProgressLine('base backup');
    const interrupt = abortOnSignals();
    const started = Date.now();
    try {
      const housekeeping = await tidyUpBeforeBackup(repo, opts, interrupt.signal);
      const r = await backupPostgresPhysical(repo, {
        source: { kind: 'postgres', name: cmd.sourceName },
        connection,
        checkpoint: cmd.checkpoint as 'fast' | 'spread',
        maxRate: cmd.maxRate,
        tags: cmd.tag,
        signal: interrupt.signal,
        onProgress: (p) => progress.update({ done: p.bytesDone, total: p.bytesEstimate, filesDone: p.files }),
      });
      progress.done();
      const seconds = (Date.now() - started) / 1000;
      const indexCompaction = await tidyUpAfterBackup(repo, interrupt.signal);
      const out = { id: r.snapshotId, time: r.snapshot.time, source: r.snapshot.source, tags: r.snapshot.tags, ...r.meta, addedBytes: r.snapshot.summary.addedBytes, seconds, housekeeping: { ...housekeeping, indexCompaction } };
      emit(opts.json, out, () => [
        `snapshot ${r.snapshotId.slice(0, 8)} saved (source ${cmd.sourceName}, PostgreSQL ${r.meta.server}, system ${r.meta.systemId}): base backup of ${formatBytes(r.meta.bytes)}, ${r.meta.entries} entries`,
        `WAL ${r.meta.startWal} (${r.meta.startLsn}) to ${r.meta.stopWal ?? '?'} (${r.meta.stopLsn ?? '?'}), timeline ${r.meta.timeline}; recoverable from ${r.meta.stopTime}`,
        `took ${seconds.toFixed(1)} s, added ${formatBytes(r.snapshot.summary.addedBytes)} to the repository`,
        ...describeCompaction(indexCompaction),
      ]);
    } finally {
      progress.done();
      interrupt.dispose();
      close();
    }
  });

  group
    .command('recover')
    .description('recover a PostgreSQL cluster into a new data directory: base backup + archived WAL up to a time, an LSN or the latest; starts it and waits until recovery finished')
    .requiredOption('--data-dir <dir>', 'the new data directory (must not exist, or be empty)')
    .option('--to-time <time>', 'recover up to this time (ISO 8601; no zone = UTC)')
    .option('--to-lsn <lsn>', 'recover up to this WAL location')
    .option('--latest', 'recover everything archived')
    .option('--immediate', 'stop as soon as the base backup is consistent')
    .option('--exclusive', 'with --to-time/--to-lsn: stop just before the target instead of just after it')
    .option('--base-backup <id>', 'start from this base backup (id or prefix; default: the newest that fits the target)')
    .option('--system-id <id>', 'the cluster (its system identifier) when the repository archives several')
    .option('--source-name <name>', 'only consider base backups of this source')
    .option('--port <port>', 'port for the recovered server (written to its postgresql.auto.conf)')
    .option('--listen-addresses <list>', 'listen_addresses for the recovered server (e.g. 127.0.0.1)')
    .option('--socket-dir <dir>', 'unix_socket_directories for the recovered server')
    .option('--run-as <user>', 'OS user that owns the data directory and runs the server (default postgres when run as root)')
    .option('--keep-archiving', 'keep archive_mode as in the backup (default: off, so the copy never archives into the original\'s archive)')
    .option('--tablespace-mapping <OLDDIR=NEWDIR>', 'restore the tablespace at OLDDIR into NEWDIR (a new or empty directory) instead of its original location (repeatable)', collect, [])
    .option('--no-start', 'prepare the data directory but do not start the server')
    .option('--no-verify', 'skip checking the unpacked files against the backup manifest (pg_verifybackup)')
    .option('--timeout <duration>', 'give up waiting for recovery after this long', '4h')
    .action(async (cmd: { dataDir: string; toTime?: string; toLsn?: string; latest?: boolean; immediate?: boolean; exclusive?: boolean; baseBackup?: string; systemId?: string; sourceName?: string; port?: string; listenAddresses?: string; socketDir?: string; runAs?: string; keepArchiving?: boolean; tablespaceMapping: string[]; start: boolean; verify: boolean; timeout: string }) => {
      const opts = globals();
      const target = parseTarget(cmd);
      const timeoutMs = parseDuration(cmd.timeout, '--timeout');
      const port = cmd.port === undefined ? undefined : Number(cmd.port);
      if (port !== undefined && (!/^\d+$/.test(cmd.port!) || port < 1 || port > 65535)) throw new UsageError(`--port must be a TCP port (1-65535), got "${cmd.port}"`);
      const env = walFetchEnv(opts);
      const { WalArchive, baseBackupsIn, chooseBaseBackup, recoverPostgres, parseTablespaceMappings } = await physical();
      let tablespaceMapping: Map<string, string>;
      try {
        tablespaceMapping = parseTablespaceMappings(cmd.tablespaceMapping);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const { repo, close } = await openRepo(opts, { restore: true });
      const progress = new ProgressLine('recover');
      const interrupt = abortOnSignals();
      try {
        const all = baseBackupsIn(await repo.listSnapshots(interrupt.signal)).filter((b) => !cmd.sourceName || b.snapshot.source.name === cmd.sourceName);
        const walBy = await archivedWal(repo, cmd.systemId, interrupt.signal);
        const systems = [...new Set([...(cmd.systemId ? [] : all.map((b) => b.physical.systemId)), ...walBy.keys()])];
        if (systems.length === 0) throw new UsageError('the repository holds no PostgreSQL base backup or WAL archive');
        if (systems.length > 1) throw new UsageError(`the repository holds several PostgreSQL clusters (system ids ${systems.join(', ')}): choose one with --system-id`);
        const systemId = systems[0]!;
        const bases = all.filter((b) => b.physical.systemId === systemId);
        const walArchive = new WalArchive(repo.store, repo.masterKey, systemId, repo.config.compression.level);
        const wal = walBy.get(systemId) ?? [];
        let chosen;
        if (cmd.baseBackup) {
          const matches = bases.filter((b) => b.id.startsWith(cmd.baseBackup!));
          if (matches.length !== 1) throw new UsageError(`--base-backup ${cmd.baseBackup} matches ${matches.length} base backups of system ${systemId}`);
          chosen = matches[0]!;
        } else {
          try {
            chosen = chooseBaseBackup(target, bases, wal);
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
        }
        const r = await recoverPostgres(repo, chosen, {
          dataDir: cmd.dataDir,
          tablespaceMapping,
          target,
          inclusive: !cmd.exclusive,
          walFetch: { command: selfCommand(), env },
          runAs: cmd.runAs,
          port,
          listenAddresses: cmd.listenAddresses,
          socketDir: cmd.socketDir,
          keepArchiving: cmd.keepArchiving,
          start: cmd.start,
          verify: cmd.verify,
          timeoutMs,
          wal,
          archive: walArchive,
          signal: interrupt.signal,
          onProgress: (p) =>
            p.phase === 'recover'
              ? progress.update({ done: Math.round((p.walFraction ?? 0) * 1000), total: 1000, label: `replaying WAL, ${p.walFiles ?? 0} files (${p.walFile ?? ''})` })
              : progress.update({ done: p.bytesDone, total: p.bytesTotal, label: p.phase }),
        });
        progress.done();
        const { stop: _stop, ...result } = r;
        const out = { systemId, target: target.kind === 'time' ? { kind: 'time', time: target.time.toISOString() } : target, baseBackupTime: chosen.physical.stopTime, port: port ?? null, ...result };
        emit(opts.json, out, () => [
          `recovered system ${systemId} into ${r.dataDir} from base backup ${chosen.id.slice(0, 8)} (consistent from ${chosen.physical.stopTime}) in ${r.seconds.toFixed(1)} s`,
          r.started
            ? `recovery finished: ${r.stoppedAt ? `stopped ${r.stoppedAt}` : 'replayed all archived WAL'}; ${r.walFilesRestored} WAL files restored; now on timeline ${r.timeline ?? '?'}${r.lastTransactionTime ? `; last transaction at ${r.lastTransactionTime}` : ''}`
            : 'not started (--no-start): start it with pg_ctl -D DIR start; it recovers, then promotes',
          ...r.tablespaces.map((t) => `tablespace ${t.oid} restored into ${t.dir}`),
          ...(r.started ? [`the server is running${port ? ` on port ${port}` : ''} (log ${r.logFile}); stop it with pg_ctl -D ${r.dataDir} stop`] : []),
        ]);
      } finally {
        progress.done();
        interrupt.dispose();
        close();
      }
    });

  group
    .command('wal-status')
    .description('for each PostgreSQL cluster archiving into the repository: newest archived WAL, achieved RPO, continuous recovery window, gaps')
    .option('--system-id <id>', 'only this cluster')
    .action(async (cmd: { systemId?: string }) => {
      const opts = globals();
      const { baseBackupsIn, recoveryWindow } = await physical();
      const { repo, close } = await openRepo(opts);
      try {
        const bases = baseBackupsIn(await repo.listSnapshots());
        const walBy = await archivedWal(repo, cmd.systemId);
        const systems = [...new Set([...(cmd.systemId ? [] : bases.map((b) => b.physical.systemId)), ...walBy.keys()])].sort();
        const now = Date.now();
        const out = systems.map((systemId) => {
            const wal = walBy.get(systemId) ?? [];
            const w = recoveryWindow(systemId, bases, wal);
            return {
              systemId,
              walFiles: wal.length,
              walBytes: wal.reduce((n, x) => n + x.size, 0),
              newestWal: w.newestWal ? { name: w.newestWal.name, time: w.newestWal.time.toISOString() } : null,
              rpoSeconds: w.newestWal ? Math.max(0, Math.round((now - w.newestWal.time.getTime()) / 1000)) : null,
              window: { from: w.from?.toISOString() ?? null, to: w.to?.toISOString() ?? null },
              baseBackups: w.baseBackups.map((b) => ({ id: b.id, consistentFrom: b.stopTime, startWal: b.startWal, walThrough: b.run?.lastSegment ?? null })),
              gapAfter: w.gapAfter,
            };
          });
        emit(opts.json, { systems: out }, () =>
          out.length === 0
            ? ['no PostgreSQL cluster archives WAL into this repository']
            : out.flatMap((s) => [
                `system ${s.systemId}: ${s.walFiles} WAL files (${formatBytes(s.walBytes)} stored), newest ${s.newestWal ? `${s.newestWal.name} at ${s.newestWal.time}` : 'none'}; RPO ${s.rpoSeconds === null ? 'unknown' : formatSeconds(s.rpoSeconds)}`,
                s.window.from ? `  recoverable to any time from ${s.window.from} to about ${s.window.to}` : '  no base backup with archived WAL: nothing is recoverable yet (run `lifeboat database base-backup`)',
                ...s.baseBackups.map((b) => `  base backup ${b.id.slice(0, 8)}: consistent from ${b.consistentFrom}, WAL ${b.startWal}..${b.walThrough ?? 'NOT ARCHIVED'}`),
                ...(s.gapAfter ? [`  WARNING: the archive has a gap after ${s.gapAfter}: WAL after it cannot be replayed from older base backups`] : []),
              ]),
        );
      } finally {
        close();
      }
    });

  const check = group
    .command('archive-check')
    .description('check that a PostgreSQL server archives its WAL into this repository: settings, archiver status, and a WAL switch that must arrive')
    .option('--database <name>', 'database to connect to', 'postgres')
    .option('--timeout <duration>', 'how long to wait for the switched WAL file to arrive', '60s');
  connectionOptions(check, '(unused by archive-check)').action(async (cmd: ConnectionFlags & { database: string; timeout: string }) => {
    const opts = globals();
    const timeoutMs = parseDuration(cmd.timeout, '--timeout');
    const connection = connectionFrom(cmd, cmd.database);
    const { checkArchiving } = await physical();
    const { repo, close } = await openRepo(opts);
    try {
      const r = await checkArchiving(repo, connection, { timeoutMs, suggestedCommand: [...selfCommand(), '--env-file', '/etc/lifeboat/wal.env', 'wal-push', '%p'].join(' ') });
      emit(opts.json, r, () => [...r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`), r.ok ? 'archiving into this repository works' : `archiving is NOT set up correctly; suggested archive_command: ${r.suggestedCommand}`]);
      if (!r.ok) process.exitCode = EXIT.failure;
    } finally {
      close();
    }
  });
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
