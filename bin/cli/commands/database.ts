// `lifeboat database backup | restore`: logical backups of PostgreSQL (lib/sources/postgres) and of
// MySQL/MariaDB (lib/sources/mysql, `--engine mysql` or its alias `mariadb`) from the command line.
// PostgreSQL connection settings follow libpq: --host/--port/--user, else PGHOST/PGPORT/PGUSER (--sslmode,
// PGSSLMODE). MySQL/MariaDB ones follow the mariadb client: --host/--port/--user/--socket, else MYSQL_HOST,
// MYSQL_TCP_PORT, USER, MYSQL_UNIX_PORT (the socket only when no host is given).
// The database password comes only from --db-password-file, LIFEBOAT_DB_PASSWORD_FILE or PGPASSWORD / MYSQL_PWD
// (else libpq's ~/.pgpass, the client's ~/.my.cnf): never from an option value, never printed, never in --json
// output. The option is not called --password-file because that global option is the repository's and
// commander reads global options after the subcommand as well.
// `database restore` takes the engine from the selected restore point's source kind (postgres or mysql);
// --engine narrows the selection to one.
// An engine (and with it its driver) is loaded only when one of these commands runs.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { chooseDatabase } from '../../../lib/sources/database-choice';
import { SnapshotNotFoundError, findSnapshot, type SnapshotEntry } from '../../../lib/repo/snapshot';
import type { Repository } from '../../../lib/repo/repository';
import type { MysqlBackupResult, MysqlConnection, MysqlRestoreResult } from '../../../lib/sources/mysql';
import type { PgConnection, PostgresBackupResult, PostgresRestoreResult } from '../../../lib/sources/postgres';
import { openRepo, type GlobalOptions } from '../context';
import { EXIT, UsageError } from '../errors';
import { describeCompaction, parseDuration, staleUploadAge, tidyUpAfterBackup, tidyUpBeforeBackup } from '../housekeeping';
import { abortOnSignals } from '../interrupt';
import { emit } from '../output';
import { formatBytes, ProgressLine } from '../progress';
import { checkSelectOptions } from './select';

const engine = () => import('../../../lib/sources/postgres');
const mysqlEngine = () => import('../../../lib/sources/mysql');
const collect = (v: string, prev: string[]) => [...prev, v];
const MANIFESTS = ['checksum', 'count', 'none'] as const;
type Env = Record<string, string | undefined>;
type Engine = 'postgres' | 'mysql';

export type ConnectionFlags = { host?: string; port?: string; user?: string; sslmode?: string; dbPasswordFile?: string };

/** --engine: postgres, or mysql (alias mariadb). */
function parseEngine(value: string): Engine {
  const v = value.toLowerCase();
  if (v === 'postgres' || v === 'postgresql') return 'postgres';
  if (v === 'mysql' || v === 'mariadb') return 'mysql';
  throw new UsageError(`--engine must be postgres, mysql or mariadb, got "${value}"`);
}

function portFrom(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`${name} must be a TCP port (1-65535), got "${text}"`);
  return port;
}

/** The server connection from the options, else the libpq environment; the password only from a file or PGPASSWORD. */
export function connectionFrom(flags: ConnectionFlags, database: string, env: Env = process.env): PgConnection {
  const host = flags.host ?? (env.PGHOST || undefined);
  const port = portFrom(flags.port ?? (env.PGPORT || undefined), flags.port !== undefined ? '--port' : 'PGPORT');
  const user = flags.user ?? (env.PGUSER || undefined);
  const sslmode = flags.sslmode ?? (env.PGSSLMODE || undefined);
  return { host, port, user, sslmode, database, password: databasePassword(flags, env) };
}

/** The MySQL/MariaDB connection from the options, else the mariadb client's environment; the password only from a file or MYSQL_PWD. */
export function mysqlConnectionFrom(flags: ConnectionFlags & { socket?: string }, database: string, env: Env = process.env): MysqlConnection {
  const host = flags.host ?? (env.MYSQL_HOST || undefined);
  const port = portFrom(flags.port ?? (env.MYSQL_TCP_PORT || undefined), flags.port !== undefined ? '--port' : 'MYSQL_TCP_PORT');
  const socket = flags.socket ?? (host === undefined ? env.MYSQL_UNIX_PORT || undefined : undefined);
  const user = flags.user ?? (env.USER || undefined);
  return { host, port, socket, user, database, password: databasePassword(flags, env, 'MYSQL_PWD') };
}

/** --db-password-file, else LIFEBOAT_DB_PASSWORD_FILE, else `fallback` (PGPASSWORD), else undefined (the client's own files). */
export function databasePassword(flags: { dbPasswordFile?: string }, env: Env = process.env, fallback = 'PGPASSWORD'): string | undefined {
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
  return env[fallback] || undefined;
}

/** The connection options; `engines: 'both'` words their help for PostgreSQL and MySQL/MariaDB and adds --socket. */
export function connectionOptions(cmd: Command, maintenanceHelp: string, engines: 'postgres' | 'both' = 'postgres'): Command {
  const both = engines === 'both';
  cmd
    .option('--host <host>', both ? 'server host (default PGHOST / MYSQL_HOST); PostgreSQL: also a Unix socket directory' : 'PostgreSQL server host or Unix socket directory (default PGHOST, else libpq\'s default)')
    .option('--port <port>', both ? 'server port (default PGPORT, else 5432 / MYSQL_TCP_PORT, else 3306)' : 'server port (default PGPORT, else 5432)')
    .option('--user <name>', both ? 'user to connect as (default PGUSER / USER, else the OS user)' : 'role to connect as (default PGUSER, else the OS user)');
  if (both) cmd.option('--socket <file>', 'MySQL/MariaDB Unix socket file, instead of host and port (default MYSQL_UNIX_PORT when no host is given)');
  return cmd
    .option('--sslmode <mode>', `${both ? 'PostgreSQL: ' : ''}libpq sslmode: disable, prefer, require, verify-ca, verify-full (default PGSSLMODE)`)
    .option('--db-password-file <file>', both ? 'file holding the database password (default LIFEBOAT_DB_PASSWORD_FILE, else PGPASSWORD / MYSQL_PWD, else ~/.pgpass / ~/.my.cnf)' : 'file holding the database password (default LIFEBOAT_DB_PASSWORD_FILE, else PGPASSWORD, else ~/.pgpass)')
    .option('--maintenance-database <name>', maintenanceHelp);
}

/** PostgreSQL-only options given to a MySQL/MariaDB run are a usage error, not silently ignored. */
function refusePostgresOnly(given: [string, boolean][]): void {
  const bad = given.filter(([, on]) => on).map(([name]) => name);
  if (bad.length) throw new UsageError(`${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} for PostgreSQL only, not for MySQL/MariaDB`);
}

type Ctx = { repo: Repository; progress: ProgressLine; signal: AbortSignal };

/** Opens the repository, a progress line and the Ctrl-C handling around `fn`, and closes them after. */
async function withRepo<T>(opts: GlobalOptions, label: string, fn: (ctx: Ctx) => Promise<T>, how: { restore?: boolean } = {}): Promise<T> {
  const { repo, close } = await openRepo(opts, how);
  const progress = new ProgressLine(label);
  const interrupt = abortOnSignals();
  try {
    return await fn({ repo, progress, signal: interrupt.signal });
  } finally {
    progress.done();
    interrupt.dispose();
    close();
  }
}

type BackupFlags = ConnectionFlags & { engine: string; socket?: string; maintenanceDatabase?: string; database?: string; globals?: boolean; rolePasswords: boolean; manifest: string; lockWaitTimeout?: string; sourceName: string; tag: string[] };

export function registerDatabase(program: Command, globals: () => GlobalOptions) {
  const group = program
    .command('database')
    .description('PostgreSQL and MySQL/MariaDB logical backups: `database backup` and `database restore` (see their --help)');

  const backup = group
    .command('backup')
    .description('dump a PostgreSQL database (or all of them, with roles), or with --engine mysql a MySQL/MariaDB database (or all), into a new restore point; always a full dump')
    .option('--engine <engine>', 'postgres, or mysql (alias mariadb)', 'postgres')
    .option('--database <name>', 'database to dump, or "all" (PostgreSQL: every connectable non-template database plus globals; MySQL: every database but the system ones); default PGDATABASE (PostgreSQL), else all')
    .option('--globals', 'PostgreSQL: also dump roles and tablespaces (default: only with --database all)')
    .option('--no-globals', 'PostgreSQL: do not dump roles and tablespaces, even with --database all')
    .option('--no-role-passwords', 'PostgreSQL: leave role passwords out of the globals (needed when the user is not a superuser)')
    .option('--manifest <mode>', 'validation manifest taken with the dump: checksum (row counts and checksums), count or none', 'checksum')
    .option('--lock-wait-timeout <duration>', 'fail instead of waiting longer than this for a lock (30s, 5m)')
    .option('--source-name <name>', 'name of the source this restore point belongs to', 'database')
    .option('--tag <tag>', 'tag the restore point (repeatable)', collect, []);
  connectionOptions(backup, 'PostgreSQL: database used to list databases and dump globals (default postgres, then template1)', 'both')
    .action(async (cmd: BackupFlags) => {
      const opts = globals();
      const kind = parseEngine(cmd.engine);
      if (!(MANIFESTS as readonly string[]).includes(cmd.manifest)) throw new UsageError(`--manifest must be one of ${MANIFESTS.join(', ')}, got "${cmd.manifest}"`);
      if (!cmd.sourceName) throw new UsageError('--source-name must not be empty');
      if (kind === 'mysql') return mysqlBackup(cmd, opts);
      if (cmd.socket !== undefined) throw new UsageError('--socket is for MySQL/MariaDB (--engine mysql); PostgreSQL takes a socket directory as --host');
      const database = cmd.database ?? (process.env.PGDATABASE || 'all');
      if (!database) throw new UsageError('--database must not be empty');
      const lockWaitTimeoutMs = cmd.lockWaitTimeout === undefined ? undefined : parseDuration(cmd.lockWaitTimeout, '--lock-wait-timeout');
      const connection = connectionFrom(cmd, database);
      staleUploadAge(); // a bad LIFEBOAT_STALE_UPLOAD_AGE is a usage error before anything is opened
      const { backupPostgresLogical } = await engine();
      const started = Date.now();
      await withRepo(opts, 'database backup', async ({ repo, progress, signal }) => {
        const housekeeping = await tidyUpBeforeBackup(repo, opts, signal);
        const result = await backupPostgresLogical(repo, {
          source: { kind: 'postgres', name: cmd.sourceName },
          connection,
          globals: cmd.globals,
          noRolePasswords: cmd.rolePasswords === false,
          manifest: cmd.manifest as (typeof MANIFESTS)[number],
          maintenanceDatabase: cmd.maintenanceDatabase,
          lockWaitTimeoutMs,
          tags: cmd.tag,
          signal,
          onProgress: (p) =>
            progress.update({ done: p.bytesDone, label: p.phase === 'globals' ? 'globals' : `${p.database} (${p.databasesDone + 1}/${p.databasesTotal})` }),
        });
        progress.done();
        const seconds = (Date.now() - started) / 1000;
        const summary = backupSummary(result, seconds, { ...housekeeping, indexCompaction: await tidyUpAfterBackup(repo, signal) });
        emit(opts.json, summary, () => backupLines(summary, `PostgreSQL ${summary.server}`));
      });
    });

  const restore = group
    .command('restore')
    .description('restore one database of a PostgreSQL or MySQL/MariaDB restore point (the engine is the restore point\'s) into a new database, then validate it against the backup')
    .argument('[snapshot]', 'snapshot id, unique id prefix, or "latest" (default)')
    .requiredOption('--target-database <name>', 'name of the database to create (refused when it exists, unless --overwrite)')
    .option('--engine <engine>', 'only consider restore points of this engine: postgres, or mysql (alias mariadb); default both')
    .option('--database <name>', 'which database of the restore point (required when it holds several)')
    .option('--backup-date <YYYY-MM-DD>', 'the newest restore point on or before the end of that day (UTC)')
    .option('--source-name <name>', 'only consider restore points of this source')
    .option('--overwrite', 'replace an existing target database (dropped only after the backup was restored into a scratch database)')
    .option('--globals', 'PostgreSQL: first apply the restore point\'s roles and tablespaces (errors such as "role already exists" are reported, not fatal)')
    .option('--jobs <n>', 'PostgreSQL: parallel pg_restore jobs; more than 1 writes the dump to a private temp file first', '1')
    .option('--temp-dir <dir>', 'parent of the private temp directory (PostgreSQL: for --jobs > 1; MySQL: for the password option file)')
    .option('--no-owner', 'PostgreSQL: do not restore object owners: everything belongs to the restoring user')
    .option('--no-privileges', 'PostgreSQL: do not restore GRANT/REVOKE')
    .option('--no-tablespaces', 'PostgreSQL: put every table in the target\'s default tablespace (for a server without the source\'s tablespaces)')
    .option('--no-validate', 'skip comparing row counts and checksums with the backup\'s manifest')
    .option('--smoke <sql>', 'a query that must return at least one row on the restored database (repeatable; read-only, one statement)', collect, [])
    .option('--to-time <time>', 'MySQL/MariaDB point-in-time restore: the newest dump taken before this moment (ISO 8601, no zone = UTC), then the binlogs archived by binlog-push replayed up to it, into a new database');
  connectionOptions(restore, 'PostgreSQL: database to connect to for CREATE/DROP/RENAME DATABASE (default postgres)', 'both')
    .action(async (selector: string | undefined, cmd: RestoreFlags) => {
      const opts = globals();
      const only = cmd.engine === undefined ? undefined : parseEngine(cmd.engine);
      checkSelectOptions(selector, { backupDate: cmd.backupDate, sourceName: cmd.sourceName });
      if (!/^\d+$/.test(cmd.jobs) || Number(cmd.jobs) < 1) throw new UsageError(`--jobs must be a whole number of at least 1, got "${cmd.jobs}"`);
      if (!cmd.targetDatabase) throw new UsageError('--target-database must not be empty');
      const toTime = cmd.toTime === undefined ? undefined : parseMoment(cmd.toTime, '--to-time');
      if (toTime && only === 'postgres') throw new UsageError('--to-time is for MySQL/MariaDB restore points; a PostgreSQL cluster recovers to a time with `lifeboat database recover --to-time`');
      if (toTime && cmd.overwrite) throw new UsageError('--to-time restores into a new database: it cannot be combined with --overwrite');
      await withRepo(opts, 'database restore', async (ctx) => {
        const entry = toTime && selector === undefined && cmd.backupDate === undefined
          ? await newestDumpBefore(ctx.repo, toTime, cmd.sourceName)
          : await selectDatabaseSnapshot(ctx.repo, selector, cmd.backupDate, cmd.sourceName, toTime ? 'mysql' : only);
        if (toTime && Date.parse(entry.snapshot.time) > toTime.getTime()) throw new UsageError(`snapshot ${entry.id.slice(0, 8)} was taken at ${entry.snapshot.time}, after --to-time ${toTime.toISOString()}`);
        const what = `snapshot ${entry.id.slice(0, 8)} (${entry.snapshot.time.replace('T', ' ').slice(0, 19)} UTC, source ${entry.snapshot.source.name})`;
        if (entry.snapshot.source.kind === 'mysql') return mysqlRestore(ctx, entry, what, cmd, opts, toTime);
        await postgresRestore(ctx, entry, what, cmd, opts);
      }, { restore: true });
    });
}

/** The engines' own choice, checked before any server is touched; worded for the command line. */
function checkDatabaseChoice(dbs: readonly { name: string }[], wanted: string | undefined, what: string): void {
  const chosen = chooseDatabase(dbs, wanted, what);
  if (typeof chosen === 'string') throw new UsageError(wanted === undefined ? `${chosen} with --database` : chosen);
}

type RestoreFlags = ConnectionFlags & {
  engine?: string; socket?: string; maintenanceDatabase?: string; targetDatabase: string; database?: string; backupDate?: string; sourceName?: string;
  overwrite?: boolean; globals?: boolean; jobs: string; tempDir?: string; owner: boolean; privileges: boolean; tablespaces: boolean; validate: boolean; smoke: string[]; toTime?: string;
};

/**
 * The restore point among the database kinds (or only `only`): by id or prefix, or the newest one for
 * "latest" / --backup-date across both engines. Not found: the PostgreSQL message, plus the MySQL one.
 */
async function selectDatabaseSnapshot(repo: Repository, selector: string | undefined, backupDate: string | undefined, sourceName: string | undefined, only?: Engine): Promise<SnapshotEntry> {
  // PostgreSQL base backups share the source kind but are restored with `database recover`, not pg_restore.
  const list = (await repo.listSnapshots()).filter((e) => e.snapshot.meta.postgresPhysical === undefined);
  const sel = backupDate ?? selector ?? 'latest';
  const found: SnapshotEntry[] = [];
  const missing: SnapshotNotFoundError[] = [];
  for (const kind of only ? [only] : (['postgres', 'mysql'] as const)) {
    try {
      found.push(findSnapshot(list, sel, { source: { kind, name: sourceName } }));
    } catch (err) {
      if (!(err instanceof SnapshotNotFoundError)) throw err;
      missing.push(err);
    }
  }
  if (!found.length) {
    if (missing.length === 1) throw missing[0];
    const mysqlPart = /\(filtered by ([^;)]*)/.exec(missing[1]!.message)?.[1] ?? 'source mysql';
    throw new SnapshotNotFoundError(sel, `${missing[0]!.message}, nor among the snapshots of ${mysqlPart}`);
  }
  if (found.length > 1 && /^[0-9a-f]+$/.test(sel)) {
    throw new UsageError(`snapshot id prefix "${sel}" matches a PostgreSQL and a MySQL restore point (${found.map((e) => e.id.slice(0, 12)).join(', ')}); give more characters or --engine`);
  }
  return found.sort((a, b) => b.snapshot.time.localeCompare(a.snapshot.time))[0]!;
}

/** An engine's refusal worded for the command line: an existing target without --overwrite, an invalid name. */
function asUsageError(err: unknown, fromEngine: boolean, cmd: RestoreFlags, where: string, overwriteNote: string): unknown {
  const message = (err as Error)?.message ?? '';
  if (fromEngine && !cmd.overwrite && /already exists on /.test(message)) {
    return new UsageError(`database ${cmd.targetDatabase} already exists on ${where}: choose another --target-database, or pass --overwrite to replace it (${overwriteNote})`);
  }
  if (fromEngine && /is not valid/.test(message)) return new UsageError(message);
  return err;
}

type RestoredDatabase = Parameters<typeof failUnlessOk>[0] & { snapshotId: string | null; sourceDatabase: string; seconds: number; bytes: number; replacedExisting: boolean };

/** The result of either engine's restore: JSON, or the summary line, `extraLines`, then the checks. */
function reportRestore(
  opts: GlobalOptions, entry: SnapshotEntry, what: string, server: string, result: RestoredDatabase, dbs: readonly { name: string; manifest: string }[],
  details: string, extraLines: string[], describeMismatches: Parameters<typeof checkLines>[2],
): void {
  const { snapshotId: _id, ...rest } = result;
  const out = { snapshot: entry.id, time: entry.snapshot.time, source: entry.snapshot.source, server, ...rest };
  const checksums = dbs.find((d) => d.name === result.sourceDatabase)?.manifest === 'checksum';
  emit(opts.json, out, () => [
    `restored database ${result.sourceDatabase} of ${what} into ${server} in ${result.seconds.toFixed(1)} s (${formatBytes(result.bytes)} dump${details}${result.replacedExisting ? '; replaced the existing database' : ''})`,
    ...extraLines,
    ...checkLines(result, checksums, describeMismatches),
  ]);
  failUnlessOk(result);
}

/** The lines both engines print after a restore (validation and smoke results). */
function checkLines(r: { validation: PostgresRestoreResult['validation']; smoke: PostgresRestoreResult['smoke'] }, checksums: boolean, describeMismatches: (m: NonNullable<PostgresRestoreResult['validation']>['mismatches']) => string): string[] {
  return [
    r.validation === null
      ? 'validation: skipped'
      : r.validation.ok
        ? `validation: ok, ${r.validation.tablesChecked} tables match the backup's row counts${checksums ? ' and checksums' : ''}`
        : `validation: FAILED, ${r.validation.mismatches.length} of ${r.validation.tablesChecked} tables differ from the backup: ${describeMismatches(r.validation.mismatches)}`,
    ...(r.validation?.extraTables.length ? [`note: tables not in the backup's manifest: ${r.validation.extraTables.join(', ')}`] : []),
    ...r.smoke.map((s) => (s.ok ? `smoke ok: ${s.query} (${s.rows} row${s.rows === 1 ? '' : 's'})` : `smoke FAILED: ${s.query}: ${s.error}`)),
  ];
}

/** A restore whose validation or smoke queries failed exits 1, saying so on stderr. */
function failUnlessOk(r: { ok: boolean; targetDatabase: string; validation: PostgresRestoreResult['validation']; smoke: PostgresRestoreResult['smoke'] }): void {
  if (r.ok) return;
  const failed = [r.validation && !r.validation.ok ? 'validation' : '', r.smoke.some((s) => !s.ok) ? `${r.smoke.filter((s) => !s.ok).length} smoke query(ies)` : ''].filter(Boolean).join(' and ');
  process.stderr.write(`lifeboat: database ${r.targetDatabase} was restored but ${failed} failed (see above)\n`);
  process.exitCode = EXIT.failure;
}

async function postgresRestore({ repo, progress, signal }: Ctx, entry: SnapshotEntry, what: string, cmd: RestoreFlags, opts: GlobalOptions): Promise<void> {
  if (cmd.socket !== undefined) throw new UsageError(`${what} is a PostgreSQL restore point: --socket is for MySQL/MariaDB; PostgreSQL takes a socket directory as --host`);
  const maintenance = cmd.maintenanceDatabase ?? 'postgres';
  if (cmd.targetDatabase === maintenance) throw new UsageError(`--target-database ${cmd.targetDatabase} is the maintenance database the restore connects to; restore into another name or pass --maintenance-database`);
  const connection = connectionFrom(cmd, maintenance);
  const { restorePostgresLogical, databasesIn, readPostgresMeta, PgRestoreError, describeConnection, describeMismatches } = await engine();
  // The engine's own checks, worded for the command line and made before anything touches the server.
  const dbs = databasesIn(entry.snapshot);
  checkDatabaseChoice(dbs, cmd.database, what);
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
      noTablespaces: cmd.tablespaces === false,
      validate: cmd.validate,
      smokeQueries: cmd.smoke,
      signal,
      onProgress: (p) => progress.update({ done: p.bytesDone, total: p.phase === 'restore' ? p.bytesTotal : undefined, label: p.phase }),
    });
  } catch (err) {
    throw asUsageError(err, err instanceof PgRestoreError, cmd, describeConnection(connection, cmd.targetDatabase), 'it is dropped only after the restore succeeded');
  }
  progress.done();
  const globals = result.globals.applied ? [`globals applied${result.globals.errors.length ? ` with ${result.globals.errors.length} statement error(s): ${result.globals.errors.join(' | ')}` : ''}`] : [];
  reportRestore(opts, entry, what, describeConnection(connection, result.targetDatabase), result, dbs, result.parallelJobs > 1 ? `, ${result.parallelJobs} jobs` : '', globals, describeMismatches);
}

async function mysqlRestore({ repo, progress, signal }: Ctx, entry: SnapshotEntry, what: string, cmd: RestoreFlags, opts: GlobalOptions, toTime: Date | undefined): Promise<void> {
  refusePostgresOnly([['--globals', !!cmd.globals], ['--jobs', cmd.jobs !== '1'], ['--no-owner', cmd.owner === false], ['--no-privileges', cmd.privileges === false], ['--no-tablespaces', cmd.tablespaces === false], ['--maintenance-database', cmd.maintenanceDatabase !== undefined], ['--sslmode', cmd.sslmode !== undefined]]);
  const connection = mysqlConnectionFrom(cmd, '');
  const { restoreMysqlLogical, mysqlDatabasesIn, MysqlRestoreError, describeConnection } = await mysqlEngine();
  const { describeMismatches } = await engine();
  const dbs = mysqlDatabasesIn(entry.snapshot);
  checkDatabaseChoice(dbs, cmd.database, what);
  const common = {
    connection,
    targetDatabase: cmd.targetDatabase,
    database: cmd.database,
    validate: cmd.validate,
    smokeQueries: cmd.smoke,
    tempDir: cmd.tempDir,
    signal,
    onProgress: (p: { phase: string; bytesDone: number; bytesTotal: number }) => progress.update({ done: p.bytesDone, total: p.phase === 'restore' ? p.bytesTotal : undefined, label: p.phase }),
  };
  let result: MysqlRestoreResult;
  const extra: string[] = [];
  try {
    if (toTime) {
      // The replay is planned (archive complete up to the moment) before anything is restored.
      const { restoreMysqlToTime, MysqlPointInTimeError } = await import('../../../lib/sources/mysql/point-in-time');
      try {
        const r = await restoreMysqlToTime(repo, entry, { ...common, toTime });
        const p = r.replay;
        extra.push(`replayed ${p.files.length} archived binlog file(s) (${p.files[0]}..${p.files[p.files.length - 1]}, ${formatBytes(p.bytes)}) from ${p.startFile}:${p.startPosition} up to ${p.stopTime} in ${p.seconds.toFixed(1)} s; the validation below is of the dump, before the replay`);
        result = r;
      } catch (err) {
        if (err instanceof MysqlPointInTimeError) throw new UsageError(err.message);
        throw err;
      }
    } else {
      result = await restoreMysqlLogical(repo, entry.snapshot, { ...common, overwrite: cmd.overwrite });
    }
  } catch (err) {
    throw asUsageError(err, err instanceof MysqlRestoreError, cmd, describeConnection(connection, cmd.targetDatabase), 'it is dropped only after the backup was restored into a scratch database');
  }
  progress.done();
  reportRestore(opts, entry, what, describeConnection(connection, result.targetDatabase), result, dbs, '', extra, describeMismatches);
}

/** A moment given on the command line (--to-time): ISO 8601; no zone means UTC. */
export function parseMoment(text: string, flag: string): Date {
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/\d{4}-\d{2}-\d{2}/.test(text)) throw new UsageError(`${flag} must be a date and time like 2024-01-15T10:30:00Z (no zone = UTC), got "${text}"`);
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) ? text : `${text.trim().replace(' ', 'T')}Z`;
  return new Date(Date.parse(zoned));
}

/** The newest MySQL/MariaDB dump taken at or before `t` (of `sourceName` when given). */
async function newestDumpBefore(repo: Repository, t: Date, sourceName: string | undefined): Promise<SnapshotEntry> {
  const pit = await import('../../../lib/sources/mysql/point-in-time');
  try {
    return pit.newestDumpBefore(await repo.listSnapshots(), t, sourceName);
  } catch (err) {
    if (err instanceof pit.MysqlPointInTimeError) throw new UsageError(err.message);
    throw err;
  }
}

async function mysqlBackup(cmd: BackupFlags, opts: GlobalOptions): Promise<void> {
  refusePostgresOnly([['--globals/--no-globals', cmd.globals !== undefined], ['--no-role-passwords', cmd.rolePasswords === false], ['--maintenance-database', cmd.maintenanceDatabase !== undefined], ['--sslmode', cmd.sslmode !== undefined]]);
  const database = cmd.database ?? 'all';
  if (!database) throw new UsageError('--database must not be empty');
  const lockWaitTimeoutMs = cmd.lockWaitTimeout === undefined ? undefined : parseDuration(cmd.lockWaitTimeout, '--lock-wait-timeout');
  const connection = mysqlConnectionFrom(cmd, database);
  staleUploadAge();
  const { backupMysqlLogical } = await mysqlEngine();
  const started = Date.now();
  await withRepo(opts, 'database backup', async ({ repo, progress, signal }) => {
    const housekeeping = await tidyUpBeforeBackup(repo, opts, signal);
    const result = await backupMysqlLogical(repo, {
      source: { kind: 'mysql', name: cmd.sourceName },
      connection,
      manifest: cmd.manifest as (typeof MANIFESTS)[number],
      lockWaitTimeoutMs,
      tags: cmd.tag,
      signal,
      onProgress: (p) => progress.update({ done: p.bytesDone, label: `${p.database} (${p.databasesDone + 1}/${p.databasesTotal})` }),
    });
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    const summary = mysqlBackupSummary(result, seconds, { ...housekeeping, indexCompaction: await tidyUpAfterBackup(repo, signal) });
    emit(opts.json, summary, () => backupLines(summary, /mariadb/i.test(summary.server) ? summary.server : `MySQL ${summary.server}`));
  });
}

type Housekeeping = Awaited<ReturnType<typeof tidyUpBeforeBackup>> & { indexCompaction: Awaited<ReturnType<typeof tidyUpAfterBackup>> };

type SummaryBase = {
  id: string;
  time: string;
  hostname: string;
  source: { kind: string; name: string };
  tags: string[];
  server: string;
  bytes: number;
  addedBytes: number;
  newBlobs: number;
  seconds: number;
  housekeeping: Housekeeping;
};

type DatabaseLine = { name: string; bytes: number; manifest: string; tables: number; rows: number };

export type DatabaseBackupSummary = SummaryBase & { pgDump: string; databases: DatabaseLine[]; globals: { file: string; bytes: number } | null };

export type MysqlBackupSummary = SummaryBase & { dumpTool: string; databases: (DatabaseLine & { binlog: { file: string; position: number; gtid: string | null } | null })[] };

function summaryBase(s: PostgresBackupResult['snapshot'], id: string, seconds: number, housekeeping: Housekeeping, server: string) {
  return { id, time: s.time, hostname: s.hostname, source: s.source, tags: s.tags, server, bytes: s.summary.bytes, addedBytes: s.summary.addedBytes, newBlobs: s.summary.newBlobs, seconds, housekeeping };
}

const databaseLine = (d: { name: string; bytes: number; manifest: string; tables: { rows: number }[] }): DatabaseLine => ({
  name: d.name, bytes: d.bytes, manifest: d.manifest, tables: d.tables.length, rows: d.tables.reduce((n, t) => n + t.rows, 0),
});

function backupSummary(r: PostgresBackupResult, seconds: number, housekeeping: Housekeeping): DatabaseBackupSummary {
  const { bytes, addedBytes, newBlobs, seconds: secs, housekeeping: hk, ...head } = summaryBase(r.snapshot, r.snapshotId, seconds, housekeeping, r.meta.server);
  // Key order as before: ..., server, pgDump, databases, globals, bytes, ...
  return { ...head, pgDump: r.meta.pgDump, databases: r.meta.databases.map(databaseLine), globals: r.meta.globals, bytes, addedBytes, newBlobs, seconds: secs, housekeeping: hk };
}

function mysqlBackupSummary(r: MysqlBackupResult, seconds: number, housekeeping: Housekeeping): MysqlBackupSummary {
  const { bytes, addedBytes, newBlobs, seconds: secs, housekeeping: hk, ...head } = summaryBase(r.snapshot, r.snapshotId, seconds, housekeeping, r.meta.server);
  return { ...head, dumpTool: r.meta.dumpTool, databases: r.meta.databases.map((d) => ({ ...databaseLine(d), binlog: d.binlog })), bytes, addedBytes, newBlobs, seconds: secs, housekeeping: hk };
}

function backupLines(s: SummaryBase & { databases: (DatabaseLine & { binlog?: { file: string; position: number } | null })[]; globals?: unknown }, server: string): string[] {
  const names = s.databases.map((d) => d.name);
  return [
    ...(s.housekeeping.leftoverPacks ? [`reused ${s.housekeeping.leftoverPacks} pack(s) (${formatBytes(s.housekeeping.leftoverBytes)}) left by an interrupted backup`] : []),
    `snapshot ${s.id.slice(0, 8)} saved (source ${s.source.name}, ${server}): ${names.length} database${names.length === 1 ? '' : 's'} (${names.join(', ')})${s.globals ? ' and globals' : ''}`,
    ...s.databases.map((d) => `  ${d.name}: ${formatBytes(d.bytes)} dump, ${d.manifest === 'none' ? 'no manifest' : `${d.tables} tables, ${d.rows} rows (${d.manifest} manifest)`}${d.binlog ? `, binlog ${d.binlog.file}:${d.binlog.position}` : ''}`),
    `dumped ${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s, added ${formatBytes(s.addedBytes)} to the repository (${s.newBlobs} new blobs)`,
    ...describeCompaction(s.housekeeping.indexCompaction),
  ];
}
