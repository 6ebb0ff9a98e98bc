// Copies one database from a server into a NEW database on another (or the same) server, then validates the
// copy: the way a point-in-time recovery reaches a staging database (physical/recover-to-database.ts). The
// source is expected to be quiet (a recovered throwaway cluster nobody else writes to).
// 1. Refuse at once when the target database exists (PgRestoreError): the console never overwrites.
// 2. Row counts and checksums of every table of the source (manifest.ts), the reference for step 5.
// 3. A scratch database `lifeboat_restore_<random>` on the target (the source's encoding and locale), and
//    `pg_dump -Fc` of the source piped straight into `pg_restore --exit-on-error` (no temp file).
// 4. Only when pg_restore succeeded: ALTER DATABASE scratch RENAME TO target; the scratch database is
//    dropped on every failure.
// 5. Validation against step 2 and the smoke queries, reported in the result, never thrown.
import { randomBytes } from 'node:crypto';
import { databaseInfo } from './backup';
import { childEnv, closeClient, connectClient, conninfo, describeConnection, DETERMINISTIC_SESSION, quoteIdent, type PgConnection } from './connection';
import { computeManifest, type ValidationReport } from './manifest';
import { createDatabase, databaseExists, PgRestoreError, renameRestored } from './restore';
import { writeAll } from './streams';
import { runTool } from './tool';
import { runSmokeQueries, validateRestoredDatabase, type SmokeResult } from './validate';

export type CopyProgress = { phase: 'copy' | 'validate' | 'smoke'; bytesDone: number; bytesTotal: number };

export type CopyDatabaseOptions = {
  /** The server to read from, connected as a role that may read every table. */
  from: PgConnection;
  /** The database to copy. */
  database: string;
  /** The server to copy into; `to.database` is its maintenance database (for CREATE/RENAME). */
  to: PgConnection;
  targetDatabase: string;
  smokeQueries?: string[];
  binDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: CopyProgress) => void;
};

export type CopyDatabaseResult = {
  sourceDatabase: string;
  targetDatabase: string;
  /** Bytes of the custom-format dump that went through the pipe. */
  bytes: number;
  seconds: number;
  validation: ValidationReport;
  smoke: SmokeResult[];
  ok: boolean;
};

const PROGRESS_EVERY_MS = 250;

export async function copyPostgresDatabase(opts: CopyDatabaseOptions): Promise<CopyDatabaseResult> {
  const started = Date.now();
  const { from, to, database, targetDatabase: target } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  const source = await connectClient(from, database, signal);
  let sourceOpen = true;
  let admin: Awaited<ReturnType<typeof connectClient>> | undefined;
  let scratch: string | undefined;
  try {
    const info = await databaseInfo(source, database);
    if (!info) throw new PgRestoreError(`database ${database} does not exist on ${describeConnection(from, database)}`);
    admin = await connectClient(to, to.database, signal);
    if (await databaseExists(admin, target)) throw new PgRestoreError(`database ${target} already exists on ${describeConnection(to, target)}; choose another name`);
    await source.query(DETERMINISTIC_SESSION);
    const expected = await computeManifest(source, 'checksum', signal);
    sourceOpen = false;
    await closeClient(source, from, database);

    scratch = `lifeboat_restore_${randomBytes(6).toString('hex')}`;
    await createDatabase(admin, to, scratch, info);
    let bytes = 0;
    let last = 0;
    const report = (phase: CopyProgress['phase'], force = false) => {
      if (!opts.onProgress || (!force && Date.now() - last < PROGRESS_EVERY_MS)) return;
      last = Date.now();
      opts.onProgress({ phase, bytesDone: bytes, bytesTotal: info.size });
    };
    report('copy', true);
    await pipeDump(opts, scratch, signal, (n) => {
      bytes += n;
      report('copy');
    });
    await renameRestored(admin, to, scratch, target, false);
    scratch = undefined;

    report('validate', true);
    const validation = await validateRestoredDatabase({ ...to, database: target }, expected, signal);
    report('smoke', true);
    const smoke = opts.smokeQueries?.length ? await runSmokeQueries({ ...to, database: target }, opts.smokeQueries, signal) : [];
    return { sourceDatabase: database, targetDatabase: target, bytes, seconds: (Date.now() - started) / 1000, validation, smoke, ok: validation.ok && smoke.every((s) => s.ok) };
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  } finally {
    if (sourceOpen) await closeClient(source, from, database, true);
    if (admin && scratch) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => {});
    if (admin) await closeClient(admin, to, to.database);
  }
}

/** Refuses a target database that exists already (PgRestoreError), before any long work starts. */
export async function assertNewDatabase(to: PgConnection, target: string, signal?: AbortSignal): Promise<void> {
  const admin = await connectClient(to, to.database, signal);
  try {
    if (await databaseExists(admin, target)) throw new PgRestoreError(`database ${target} already exists on ${describeConnection(to, target)}; choose another name`);
  } finally {
    await closeClient(admin, to, to.database);
  }
}

/** pg_dump -Fc of the source into pg_restore on the scratch database, counting the bytes in between. */
async function pipeDump(opts: CopyDatabaseOptions, scratch: string, signal: AbortSignal, add: (n: number) => void): Promise<void> {
  const dump = runTool('pg_dump', ['--format=custom', '--compress=0', '--no-password', `--dbname=${conninfo(opts.from, opts.database)}`], { binDir: opts.binDir, env: childEnv(opts.from), what: `database ${opts.database} on ${describeConnection(opts.from)}`, signal });
  // --no-tablespaces: the staging server rarely has the source's tablespaces; every table goes into its default one.
  const restore = runTool('pg_restore', ['--exit-on-error', '--no-tablespaces', '--no-password', `--dbname=${conninfo(opts.to, scratch)}`], { binDir: opts.binDir, env: childEnv(opts.to), what: `database ${opts.database} into ${describeConnection(opts.to, scratch)}`, signal });
  restore.stdout.resume();
  try {
    await writeAll(dump.stdout, restore.stdin, restore.done, add);
    await Promise.all([dump.done, restore.done]);
  } catch (err) {
    dump.kill();
    restore.kill();
    throw err;
  }
}
