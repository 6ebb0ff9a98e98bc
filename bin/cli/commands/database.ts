// `lifeboat database backup | restore`: PostgreSQL logical backups (lib/sources/postgres) from the command line.
// Connection settings follow libpq: --host/--port/--user, else PGHOST/PGPORT/PGUSER (--sslmode, PGSSLMODE).
// The database password comes only from --db-password-file, LIFEBOAT_DB_PASSWORD_FILE or PGPASSWORD (else
// libpq's ~/.pgpass): never from an option value, never printed, never in --json output. The option is not
// called --password-file because that global option is the repository's and commander reads global options
// after the subcommand as well.
// The engine (and with it the `pg` driver) is loaded only when one of these commands runs.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { PgConnection, PostgresBackupResult, PostgresRestoreResult } from '../../../lib/sources/postgres';
import { openRepo, type GlobalOptions } from '../context';
import { describeError, EXIT, UsageError } from '../errors';
import { parseDuration, staleUploadAge, tidyUpBeforeBackup } from '../housekeeping';
import { abortOnSignals } from '../interrupt';
import { emit } from '../output';
import { formatBytes, ProgressLine } from '../progress';
import { checkSelectOptions, selectSnapshot, type SelectOptions } from './select';

const engine = () => import('../../../lib/sources/postgres');
const collect = (v: string, prev: string[]) => [...prev, v];
const MANIFESTS = ['checksum', 'count', 'none'] as const;
type Env = Record<string, string | undefined>;

export type ConnectionFlags = { host?: string; port?: string; user?: string; sslmode?: string; dbPasswordFile?: string };

/** The server connection from the options, else the libpq environment; the password only from a file or PGPASSWORD. */
export function connectionFrom(flags: ConnectionFlags, database: string, env: Env = process.env): PgConnection {
  const host = flags.host ?? (env.PGHOST || undefined);
  const portText = flags.port ?? (env.PGPORT || undefined);
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new UsageError(`${flags.port !== undefined ? '--port' : 'PGPORT'} must be a TCP port (1-65535), got "${portText}"`);
  }
  const user = flags.user ?? (env.PGUSER || undefined);
  const sslmode = flags.sslmode ?? (env.PGSSLMODE || undefined);
  return { host, port, user, sslmode, database, password: databasePassword(flags, env) };
}

/** --db-password-file, else LIFEBOAT_DB_PASSWORD_FILE, else PGPASSWORD, else undefined (libpq's ~/.pgpass). */
export function databasePassword(flags: { dbPasswordFile?: string }, env: Env = process.env): string | undefined {
  const file = flags.dbPasswordFile ?? (env.LIFEBOAT_DB_PASSWORD_FILE || undefined);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the database password file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const password = text.replace(/\r?\n$/, '');
    if (!password) throw new UsageError(`the database password file ${file} is empty`);
    return password;
  }
  return env.PGPASSWORD || undefined;
}

export function connectionOptions(cmd: Command, maintenanceHelp: string): Command {
  return cmd
    .option('--host <host>', 'PostgreSQL server host or Unix socket directory (default PGHOST, else libpq\'s default)')
    .option('--port <port>', 'server port (default PGPORT, else 5432)')
    .option('--user <name>', 'role to connect as (default PGUSER, else the OS user)')
    .option('--sslmode <mode>', 'libpq sslmode: disable, prefer, require, verify-ca, verify-full (default PGSSLMODE)')
    .option('--db-password-file <file>', 'file holding the database password (default LIFEBOAT_DB_PASSWORD_FILE, else PGPASSWORD, else ~/.pgpass)')
    .option('--maintenance-database <name>', maintenanceHelp);
}

export function registerDatabase(program: Command, globals: () => GlobalOptions) {
  const group = program
    .command('database')
    .description('PostgreSQL logical backups: `database backup` and `database restore` (see their --help)');

  const backup = group
    .command('backup')
    .description('dump a PostgreSQL database (or all of them, with roles) into a new restore point; always a full dump')
    .option('--database <name>', 'database to dump, or "all" (every connectable non-template database plus globals); default PGDATABASE, else all')
    .option('--globals', 'also dump roles and tablespaces (default: only with --database all)')
    .option('--no-globals', 'do not dump roles and tablespaces, even with --database all')
    .option('--no-role-passwords', 'leave role passwords out of the globals (needed when the user is not a superuser)')
    .option('--manifest <mode>', 'validation manifest taken with the dump: checksum (row counts and checksums), count or none', 'checksum')
    .option('--lock-wait-timeout <duration>', 'fail instead of waiting longer than this for a table lock (30s, 5m)')
    .option('--source-name <name>', 'name of the source this restore point belongs to', 'database')
    .option('--tag <tag>', 'tag the restore point (repeatable)', collect, []);
  connectionOptions(backup, 'database used to list databases and dump globals (default postgres, then template1)')
    .action(async (cmd: ConnectionFlags & { maintenanceDatabase?: string; database?: string; globals?: boolean; rolePasswords: boolean; manifest: string; lockWaitTimeout?: string; sourceName: string; tag: string[] }) => {
      const opts = globals();
      const database = cmd.database ?? (process.env.PGDATABASE || 'all');
      if (!database) throw new UsageError('--database must not be empty');
      if (!(MANIFESTS as readonly string[]).includes(cmd.manifest)) throw new UsageError(`--manifest must be one of ${MANIFESTS.join(', ')}, got "${cmd.manifest}"`);
      if (!cmd.sourceName) throw new UsageError('--source-name must not be empty');
      const lockWaitTimeoutMs = cmd.lockWaitTimeout === undefined ? undefined : parseDuration(cmd.lockWaitTimeout, '--lock-wait-timeout');
      const connection = connectionFrom(cmd, database);
      staleUploadAge(); // a bad LIFEBOAT_STALE_UPLOAD_AGE is a usage error before anything is opened
      const { backupPostgresLogical } = await engine();
      const { repo, close } = await openRepo(opts);
      const progress = new ProgressLine('database backup');
      const interrupt = abortOnSignals();
      const started = Date.now();
      try {
        const housekeeping = await tidyUpBeforeBackup(repo, opts, interrupt.signal);
        const result = await backupPostgresLogical(repo, {
          source: { kind: 'postgres', name: cmd.sourceName },
          connection,
          globals: cmd.globals,
          noRolePasswords: cmd.rolePasswords === false,
          manifest: cmd.manifest as (typeof MANIFESTS)[number],
          maintenanceDatabase: cmd.maintenanceDatabase,
          lockWaitTimeoutMs,
          tags: cmd.tag,
          signal: interrupt.signal,
          onProgress: (p) =>
            progress.update({ done: p.bytesDone, label: p.phase === 'globals' ? 'globals' : `${p.database} (${p.databasesDone + 1}/${p.databasesTotal})` }),
        });
        progress.done();
        const summary = backupSummary(result, (Date.now() - started) / 1000, housekeeping);
        emit(opts.json, summary, () => backupLines(summary));
      } finally {
        progress.done();
        interrupt.dispose();
        close();
      }
    });

  const restore = group
    .command('restore')
    .description('restore one database of a PostgreSQL restore point into a new database, then validate it against the backup')
    .argument('[snapshot]', 'snapshot id, unique id prefix, or "latest" (default)')
    .requiredOption('--target-database <name>', 'name of the database to create (refused when it exists, unless --overwrite)')
    .option('--database <name>', 'which database of the restore point (required when it holds several)')
    .option('--backup-date <YYYY-MM-DD>', 'the newest restore point on or before the end of that day (UTC)')
    .option('--source-name <name>', 'only consider restore points of this source')
    .option('--overwrite', 'replace an existing target database (dropped only after the restore succeeded)')
    .option('--globals', 'first apply the restore point\'s roles and tablespaces (errors such as "role already exists" are reported, not fatal)')
    .option('--jobs <n>', 'parallel pg_restore jobs; more than 1 writes the dump to a private temp file first', '1')
    .option('--temp-dir <dir>', 'parent of the temp directory used with --jobs > 1 (default: the OS temp dir)')
    .option('--no-owner', 'do not restore object owners: everything belongs to the restoring user')
    .option('--no-privileges', 'do not restore GRANT/REVOKE')
    .option('--no-validate', 'skip comparing row counts and checksums with the backup\'s manifest')
    .option('--smoke <sql>', 'a query that must return at least one row on the restored database (repeatable; read-only, one statement)', collect, []);
  connectionOptions(restore, 'database to connect to for CREATE/DROP/RENAME DATABASE (default postgres)')
    .action(async (selector: string | undefined, cmd: ConnectionFlags & { maintenanceDatabase?: string; targetDatabase: string; database?: string; backupDate?: string; sourceName?: string; overwrite?: boolean; globals?: boolean; jobs: string; tempDir?: string; owner: boolean; privileges: boolean; validate: boolean; smoke: string[] }) => {
      const opts = globals();
      const select: SelectOptions = { backupDate: cmd.backupDate, sourceKind: 'postgres', sourceName: cmd.sourceName };
      checkSelectOptions(selector, select);
      if (!/^\d+$/.test(cmd.jobs) || Number(cmd.jobs) < 1) throw new UsageError(`--jobs must be a whole number of at least 1, got "${cmd.jobs}"`);
      if (!cmd.targetDatabase) throw new UsageError('--target-database must not be empty');
      const maintenance = cmd.maintenanceDatabase ?? 'postgres';
      if (cmd.targetDatabase === maintenance) throw new UsageError(`--target-database ${cmd.targetDatabase} is the maintenance database the restore connects to; restore into another name or pass --maintenance-database`);
      const connection = connectionFrom(cmd, maintenance);
      const { restorePostgresLogical, databasesIn, readPostgresMeta, PgRestoreError, describeConnection, describeMismatches } = await engine();
      const { repo, close } = await openRepo(opts);
      const progress = new ProgressLine('database restore');
      const interrupt = abortOnSignals();
      try {
        const entry = await selectSnapshot(repo, selector, select);
        const what = `snapshot ${entry.id.slice(0, 8)} (${entry.snapshot.time.replace('T', ' ').slice(0, 19)} UTC, source ${entry.snapshot.source.name})`;
        // The engine's own checks, worded for the command line and made before anything touches the server.
        const dbs = databasesIn(entry.snapshot);
        const names = dbs.map((d) => d.name);
        if (cmd.database !== undefined && !names.includes(cmd.database)) throw new UsageError(`${what} holds no database "${cmd.database}"; it holds: ${names.join(', ') || 'none'}`);
        if (cmd.database === undefined && names.length !== 1) throw new UsageError(`${what} holds ${names.length} databases (${names.join(', ') || 'none'}): choose one with --database`);
        if (cmd.globals && !readPostgresMeta(entry.snapshot, what).globals) throw new UsageError(`${what} holds no globals (roles, tablespaces): it was taken without --globals`);
        let result: PostgresRestoreResult;
        try {
          result = await restorePostgresLogical(repo, entry.snapshot, {
            connection,
            targetDatabase: cmd.targetDatabase,
            database: cmd.database,
            overwrite: cmd.overwrite,
            globals: cmd.globals,
            jobs: Number(cmd.jobs),
            tempDir: cmd.tempDir,
            noOwner: cmd.owner === false,
            noPrivileges: cmd.privileges === false,
            validate: cmd.validate,
            smokeQueries: cmd.smoke,
            signal: interrupt.signal,
            onProgress: (p) => progress.update({ done: p.bytesDone, total: p.phase === 'restore' ? p.bytesTotal : undefined, label: p.phase }),
          });
        } catch (err) {
          if (err instanceof PgRestoreError && !cmd.overwrite && /already exists on /.test(err.message)) {
            throw new UsageError(`database ${cmd.targetDatabase} already exists on ${describeConnection(connection, cmd.targetDatabase)}: choose another --target-database, or pass --overwrite to replace it (it is dropped only after the restore succeeded)`);
          }
          if (err instanceof PgRestoreError && /is not valid/.test(err.message)) throw new UsageError(err.message);
          throw err;
        }
        progress.done();
        const { snapshotId: _id, ...rest } = result;
        const out = { snapshot: entry.id, time: entry.snapshot.time, source: entry.snapshot.source, server: describeConnection(connection, result.targetDatabase), ...rest };
        const checksums = dbs.find((d) => d.name === result.sourceDatabase)?.manifest === 'checksum';
        emit(opts.json, out, () => [
          `restored database ${result.sourceDatabase} of ${what} into ${out.server} in ${result.seconds.toFixed(1)} s (${formatBytes(result.bytes)} dump${result.parallelJobs > 1 ? `, ${result.parallelJobs} jobs` : ''}${result.replacedExisting ? '; replaced the existing database' : ''})`,
          ...(result.globals.applied ? [`globals applied${result.globals.errors.length ? ` with ${result.globals.errors.length} statement error(s): ${result.globals.errors.join(' | ')}` : ''}`] : []),
          result.validation === null
            ? 'validation: skipped'
            : result.validation.ok
              ? `validation: ok, ${result.validation.tablesChecked} tables match the backup's row counts${checksums ? ' and checksums' : ''}`
              : `validation: FAILED, ${result.validation.mismatches.length} of ${result.validation.tablesChecked} tables differ from the backup: ${describeMismatches(result.validation.mismatches)}`,
          ...(result.validation?.extraTables.length ? [`note: tables not in the backup's manifest: ${result.validation.extraTables.join(', ')}`] : []),
          ...result.smoke.map((s) => (s.ok ? `smoke ok: ${s.query} (${s.rows} row${s.rows === 1 ? '' : 's'})` : `smoke FAILED: ${s.query}: ${s.error}`)),
        ]);
        if (!result.ok) {
          const failed = [result.validation && !result.validation.ok ? 'validation' : '', result.smoke.some((s) => !s.ok) ? `${result.smoke.filter((s) => !s.ok).length} smoke query(ies)` : ''].filter(Boolean).join(' and ');
          process.stderr.write(`lifeboat: database ${result.targetDatabase} was restored but ${failed} failed (see above)\n`);
          process.exitCode = EXIT.failure;
        }
      } finally {
        progress.done();
        interrupt.dispose();
        close();
      }
    });
}

type Housekeeping = Awaited<ReturnType<typeof tidyUpBeforeBackup>>;

export type DatabaseBackupSummary = {
  id: string;
  time: string;
  hostname: string;
  source: { kind: string; name: string };
  tags: string[];
  server: string;
  pgDump: string;
  databases: { name: string; bytes: number; manifest: string; tables: number; rows: number }[];
  globals: { file: string; bytes: number } | null;
  bytes: number;
  addedBytes: number;
  newBlobs: number;
  seconds: number;
  housekeeping: Housekeeping;
};

function backupSummary(r: PostgresBackupResult, seconds: number, housekeeping: Housekeeping): DatabaseBackupSummary {
  const s = r.snapshot;
  return {
    id: r.snapshotId,
    time: s.time,
    hostname: s.hostname,
    source: s.source,
    tags: s.tags,
    server: r.meta.server,
    pgDump: r.meta.pgDump,
    databases: r.meta.databases.map((d) => ({ name: d.name, bytes: d.bytes, manifest: d.manifest, tables: d.tables.length, rows: d.tables.reduce((n, t) => n + t.rows, 0) })),
    globals: r.meta.globals,
    bytes: s.summary.bytes,
    addedBytes: s.summary.addedBytes,
    newBlobs: s.summary.newBlobs,
    seconds,
    housekeeping,
  };
}

function backupLines(s: DatabaseBackupSummary): string[] {
  const names = s.databases.map((d) => d.name);
  return [
    ...(s.housekeeping.leftoverPacks ? [`reused ${s.housekeeping.leftoverPacks} pack(s) (${formatBytes(s.housekeeping.leftoverBytes)}) left by an interrupted backup`] : []),
    `snapshot ${s.id.slice(0, 8)} saved (source ${s.source.name}, PostgreSQL ${s.server}): ${names.length} database${names.length === 1 ? '' : 's'} (${names.join(', ')})${s.globals ? ' and globals' : ''}`,
    ...s.databases.map((d) => `  ${d.name}: ${formatBytes(d.bytes)} dump, ${d.manifest === 'none' ? 'no manifest' : `${d.tables} tables, ${d.rows} rows (${d.manifest} manifest)`}`),
    `dumped ${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s, added ${formatBytes(s.addedBytes)} to the repository (${s.newBlobs} new blobs)`,
  ];
}

