// Restores one database of a PostgreSQL logical backup (format.ts) into a database of a server, then
// validates it against the manifest taken with the dump and runs the smoke queries.
//
// Steps, under a shared `restore` lock of the repository:
// 1. Refuse at once when the target database exists, unless `overwrite` (PgRestoreError).
// 2. `globals`: apply globals.sql with psql first (roles must exist before objects are given to them);
//    statement errors (typically "role ... already exists") are reported in the result, not fatal.
// 3. Create a scratch database `lifeboat_restore_<random>` (template0, the dump's encoding and locale) and
//    pg_restore into it with --exit-on-error:
//    - jobs <= 1 (default): the dump's data blobs are streamed in order (4 loaded ahead) into pg_restore's
//      stdin: no disk space needed, one connection;
//    - jobs > 1: the dump is written to a file in a private temp dir (0700, file 0600), then pg_restore -j N
//      (parallel restore needs a seekable file); the temp dir is removed whatever happens.
// 4. Only when pg_restore succeeded: with `overwrite`, DROP DATABASE target WITH (FORCE) (its sessions are
//    terminated); then ALTER DATABASE scratch RENAME TO target. A failed or aborted restore therefore never
//    touches an existing target; the scratch database is dropped in every failure case except one: the
//    old target was dropped and the rename then failed, when the restored copy is kept and named in the error.
//    Measured on a pgbench scale-10 database (2 cores): streaming (jobs 1) 2.5 s, temp file + -j 2 4.5 s, so
//    streaming is the default; -j pays off with many large tables and indexes on more cores.
// 5. Validation (row counts + checksums, manifest.ts) and smoke queries (validate.ts) are reported in the
//    result (`ok`, `validation.mismatches`, `smoke`), not thrown.
// Errors: PgRestoreError (bad request: target exists, database not in the snapshot, bad name, not a
// PostgreSQL snapshot), PgConnectionError (naming user@host:port/db), PgToolError (pg_restore or psql
// failed: database and first stderr lines), the abort reason on abort (children killed, scratch dropped).
// Not restored by a logical dump: database-level settings (ALTER DATABASE ... SET), the database's own
// GRANTs and comment (pg_restore applies those only with --create under the original name; the archive
// holds them, as pg_dump ran with --create).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { FileNode } from '../../repo/tree';
import type { Snapshot } from '../../repo/snapshot';
import { chooseDatabase } from '../database-choice';
import { findFile } from '../tree-file';
import { childEnv, closeClient, connectClient, conninfo, describeConnection, quoteIdent, type PgConnection } from './connection';
import { readPostgresMeta, type DatabaseEntry, type PostgresMeta } from './format';
import type { ValidationReport } from './manifest';
import { readContent, writeAll, type BlobReader } from './streams';
import { firstLines, runTool } from './tool';
import { runSmokeQueries, validateRestoredDatabase, type SmokeResult } from './validate';

/** What the restore needs from a repository (lib/repo/repository.ts's Repository has it). */
export interface PgRestoreRepo extends BlobReader {
  loadSnapshot(id: string, signal?: AbortSignal): Promise<Snapshot>;
  lock(operation: string, opts?: { signal?: AbortSignal }): Promise<{ signal: AbortSignal; release(): Promise<void> }>;
}

/** The restore cannot be done as asked (target exists, database not in the snapshot, bad name...). */
export class PgRestoreError extends Error {
  name = 'PgRestoreError';
}

export type PostgresRestoreProgress = { phase: 'globals' | 'restore' | 'validate' | 'smoke'; bytesDone: number; bytesTotal: number };

export type PostgresRestoreOptions = {
  /** The server to restore into; `database` is the maintenance database to connect to for CREATE/DROP/RENAME (e.g. "postgres"). */
  connection: PgConnection;
  /** Name of the database to create. */
  targetDatabase: string;
  /** Which database of the snapshot; required when it holds several. */
  database?: string;
  /** Replace an existing target database (only after the restore succeeded; see the module comment). */
  overwrite?: boolean;
  /** Apply the snapshot's globals.sql (roles, tablespaces) first. */
  globals?: boolean;
  /** pg_restore -j: >1 restores in parallel from a temp file; default 1 streams without touching disk. */
  jobs?: number;
  /** Parent of the private temp dir used when jobs > 1 (default: the OS temp dir). */
  tempDir?: string;
  /** pg_restore --no-owner: objects belong to the restoring user (when the dump's roles do not exist here). */
  noOwner?: boolean;
  /** pg_restore --no-privileges: skip GRANT/REVOKE. */
  noPrivileges?: boolean;
  /** pg_restore --no-tablespaces: every table into the target's default tablespace (one lacking the source's). */
  noTablespaces?: boolean;
  /** Compare row counts and checksums with the manifest (default true). */
  validate?: boolean;
  /** SQL queries that must each return at least one row on the restored database. */
  smokeQueries?: string[];
  binDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: PostgresRestoreProgress) => void;
};

export type PostgresRestoreResult = {
  snapshotId: string | null;
  sourceDatabase: string;
  targetDatabase: string;
  bytes: number;
  replacedExisting: boolean;
  parallelJobs: number;
  seconds: number;
  globals: { applied: boolean; errors: string[] };
  validation: ValidationReport | null;
  smoke: SmokeResult[];
  /** Validation passed (or was skipped) and every smoke query returned rows. */
  ok: boolean;
};

const MAX_IDENT_BYTES = 63;
const PROGRESS_EVERY_MS = 250;

export async function restorePostgresLogical(repo: PgRestoreRepo, snapshotOrId: string | Snapshot, opts: PostgresRestoreOptions): Promise<PostgresRestoreResult> {
  const started = Date.now();
  const target = opts.targetDatabase;
  if (!target || Buffer.byteLength(target) > MAX_IDENT_BYTES || target.includes('\0')) {
    throw new PgRestoreError(`target database name ${JSON.stringify(target)} is not valid: it must be 1-${MAX_IDENT_BYTES} bytes without NUL`);
  }
  const lock = await repo.lock('restore', { signal: opts.signal });
  const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
  const conn = opts.connection;
  let admin: pg.Client | undefined;
  let scratch: string | undefined;
  let keepScratch = false;
  try {
    const snapshotId = typeof snapshotOrId === 'string' ? snapshotOrId : null;
    const snapshot = typeof snapshotOrId === 'string' ? await repo.loadSnapshot(snapshotOrId, signal) : snapshotOrId;
    const what = snapshotId ? `snapshot ${snapshotId.slice(0, 8)}` : 'the snapshot';
    const meta = readPostgresMeta(snapshot, what);
    const entry = pickDatabase(meta, opts.database, what);
    const node = await findFile(repo, snapshot.tree, entry.file, what, signal, (m) => new PgRestoreError(m));
    const progress = new Progress(opts.onProgress, node.size);

    admin = await connectClient(conn, conn.database, signal);
    const exists = await databaseExists(admin, target);
    if (exists && !opts.overwrite) {
      throw new PgRestoreError(`database ${target} already exists on ${describeConnection(conn, target)}; choose another target or pass overwrite to replace it`);
    }
    const globals = { applied: false, errors: [] as string[] };
    if (opts.globals) {
      if (!meta.globals) throw new PgRestoreError(`${what} holds no globals (roles, tablespaces): it was not taken with globals`);
      progress.phase = 'globals';
      globals.errors = await applyGlobals(repo, snapshot.tree, meta.globals.file, conn, opts, what, signal);
      globals.applied = true;
    }

    scratch = `lifeboat_restore_${randomBytes(6).toString('hex')}`;
    await createDatabase(admin, conn, scratch, entry);
    progress.phase = 'restore';
    const jobs = Math.max(1, Math.floor(opts.jobs ?? 1));
    const bytes = await pgRestore(repo, node, conn, scratch, entry.name, jobs, opts, signal, progress);

    if (exists) {
      await admin.query(`DROP DATABASE ${quoteIdent(target)} WITH (FORCE)`);
      keepScratch = true; // the restored copy is now the only one: never dropped from here on
    }
    await renameRestored(admin, conn, scratch, target, exists);
    scratch = undefined;

    progress.phase = 'validate';
    progress.report(0, true);
    const validation = opts.validate === false || entry.manifest === 'none' ? null : await validateRestoredDatabase({ ...conn, database: target }, entry.tables, signal);
    progress.phase = 'smoke';
    const smoke = opts.smokeQueries?.length ? await runSmokeQueries({ ...conn, database: target }, opts.smokeQueries, signal) : [];
    return {
      snapshotId,
      sourceDatabase: entry.name,
      targetDatabase: target,
      bytes,
      replacedExisting: exists,
      parallelJobs: jobs,
      seconds: (Date.now() - started) / 1000,
      globals,
      validation,
      smoke,
      ok: (validation?.ok ?? true) && smoke.every((s) => s.ok),
    };
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  } finally {
    if (admin && scratch && !keepScratch) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => {});
    if (admin) await closeClient(admin, conn, conn.database);
    await lock.release().catch(() => {});
  }
}

/** The databases a PostgreSQL logical snapshot holds (what `database` may name). */
export function databasesIn(snapshot: Snapshot): DatabaseEntry[] {
  return readPostgresMeta(snapshot, 'the snapshot').databases;
}

function pickDatabase(meta: PostgresMeta, wanted: string | undefined, what: string): DatabaseEntry {
  const chosen = chooseDatabase(meta.databases, wanted, what);
  if (typeof chosen === 'string') throw new PgRestoreError(chosen);
  return chosen;
}


export async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  return ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;
}

/** CREATE DATABASE name from template0 with the encoding and locale of `e` (the backed-up or copied database). */
export async function createDatabase(admin: pg.Client, conn: PgConnection, name: string, e: Pick<DatabaseEntry, 'encoding' | 'collate' | 'ctype' | 'localeProvider' | 'iculocale'>): Promise<void> {
  const opts = ['TEMPLATE template0'];
  if (e.encoding) opts.push(`ENCODING ${admin.escapeLiteral(e.encoding)}`);
  if (e.collate) opts.push(`LC_COLLATE ${admin.escapeLiteral(e.collate)}`);
  if (e.ctype) opts.push(`LC_CTYPE ${admin.escapeLiteral(e.ctype)}`);
  if (e.localeProvider === 'i' && e.iculocale) opts.push(`LOCALE_PROVIDER icu ICU_LOCALE ${admin.escapeLiteral(e.iculocale)}`);
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} ${opts.join(' ')}`);
  } catch (err) {
    throw new PgRestoreError(`cannot create database ${name} on ${describeConnection(conn, name)} (encoding ${e.encoding}, locale ${e.collate}/${e.ctype}): ${(err as Error).message}`);
  }
}

/** Renames the restored scratch database to its target; after a replace, a failure keeps the scratch copy and says so. */
export async function renameRestored(admin: pg.Client, conn: PgConnection, scratch: string, target: string, replaced: boolean): Promise<void> {
  try {
    await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} RENAME TO ${quoteIdent(target)}`);
  } catch (err) {
    if (!replaced) throw err;
    throw new PgRestoreError(`database ${target} on ${describeConnection(conn, target)} was dropped to be replaced, but the restored copy ${scratch} could not be renamed to it (${(err as Error).message}); it is kept: rename it by hand`);
  }
}

async function pgRestore(repo: BlobReader, node: FileNode, conn: PgConnection, db: string, source: string, jobs: number, opts: PostgresRestoreOptions, signal: AbortSignal, progress: Progress): Promise<number> {
  const args = ['--exit-on-error', '--no-password', `--dbname=${conninfo(conn, db)}`];
  if (opts.noOwner) args.push('--no-owner');
  if (opts.noPrivileges) args.push('--no-privileges');
  if (opts.noTablespaces) args.push('--no-tablespaces');
  const what = `database ${source} into ${describeConnection(conn, db)}`;
  const blobs = () => readContent(repo, node.content, signal, { reuse: true });
  let bytes: number;
  if (jobs <= 1) {
    const tool = runTool('pg_restore', args, { binDir: opts.binDir, env: childEnv(conn), what, signal });
    tool.stdout.resume();
    try {
      bytes = await writeAll(blobs(), tool.stdin, tool.done, progress.add, { reused: true });
      await tool.done;
    } catch (err) {
      tool.kill();
      throw err;
    }
  } else {
    const dir = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'lifeboat-pg-restore-'));
    try {
      const file = join(dir, 'dump');
      const ws = createWriteStream(file, { mode: 0o600, flags: 'wx' });
      const failed = new Promise<void>((_, reject) => ws.once('error', reject));
      failed.catch(() => {});
      bytes = await writeAll(blobs(), ws, failed, (n) => progress.add(n / 2), { reused: true });
      const tool = runTool('pg_restore', [...args, `--jobs=${jobs}`, file], { binDir: opts.binDir, env: childEnv(conn), what, signal });
      tool.stdout.resume();
      const tick = setInterval(() => progress.report(0, true), 1000);
      try {
        await tool.done;
      } finally {
        clearInterval(tick);
      }
      progress.add(bytes / 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (bytes !== node.size) throw new PgRestoreError(`the dump of database ${source} holds ${bytes} bytes but its tree node says ${node.size}`);
  return bytes;
}

/** Runs globals.sql through psql; returns the statement errors it printed (non-fatal). */
async function applyGlobals(repo: BlobReader, rootTree: string, path: string, conn: PgConnection, opts: PostgresRestoreOptions, what: string, signal: AbortSignal): Promise<string[]> {
  const node = await findFile(repo, rootTree, path, what, signal, (m) => new PgRestoreError(m));
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '--no-password', `--dbname=${conninfo(conn, conn.database)}`, '-f', '-'];
  const tool = runTool('psql', args, { binDir: opts.binDir, env: childEnv(conn), what: `globals into ${describeConnection(conn)}`, signal });
  tool.stdout.resume();
  try {
    await writeAll(readContent(repo, node.content, signal), tool.stdin, tool.done, () => {});
    await tool.done;
  } catch (err) {
    tool.kill();
    throw err;
  }
  return tool
    .stderr()
    .split('\n')
    .filter((l) => /\bERROR:/.test(l))
    .map((l) => firstLines(l.replace(/^psql:[^:]*:\d+:\s*/, ''), 1));
}

class Progress {
  phase: PostgresRestoreProgress['phase'] = 'restore';
  private bytes = 0;
  private last = 0;
  constructor(
    private readonly cb: PostgresRestoreOptions['onProgress'],
    private readonly total: number,
  ) {}
  add = (n: number) => this.report(n);
  report(n = 0, force = false) {
    this.bytes += n;
    if (!this.cb || (!force && Date.now() - this.last < PROGRESS_EVERY_MS)) return;
    this.last = Date.now();
    this.cb({ phase: this.phase, bytesDone: Math.round(this.bytes), bytesTotal: this.total });
  }
}
