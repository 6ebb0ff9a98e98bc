// PostgreSQL logical backup as one restore point (layout and metadata: format.ts).
// For each database: a `pg` session opens a REPEATABLE READ READ ONLY transaction and exports its snapshot;
// pg_dump --format=custom --compress=0 --snapshot=<it> streams its stdout through the repository's chunker
// into data blobs (no temp file; backpressure pauses pg_dump); meanwhile the same session computes the
// validation manifest (manifest.ts) in that same snapshot, so the row counts and checksums describe exactly
// the data in the dump, even under concurrent writes. "all" dumps every connectable non-template database
// this way, one after the other, plus `pg_dumpall --globals-only` (roles, tablespaces) as SQL.
// Then, as filesystem backups do (format §11): shared lock for the whole run, flush packs and index, write
// the snapshot LAST. Any failure (a pg_dump exiting non-zero: PgToolError naming the database and its first
// stderr lines; a connection refused: PgConnectionError naming user@host:port/db) or an abort kills the
// children, cancels the manifest queries, aborts the content store and leaves no snapshot.
// The password reaches children only through PGPASSWORD in their environment.
import { hostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import type { Snapshot } from '../../repo/snapshot';
import {
  DETERMINISTIC_SESSION, PgConnectionError, childEnv, closeClient, connectClient, conninfo, describeConnection, type PgConnection, type PgTool,
} from './connection';
import { DUMP_DIR, GLOBALS_FILE, POSTGRES_FORMAT, dumpDirTree, dumpFileName, rootTree, type DatabaseEntry, type DumpFile, type PostgresMeta } from './format';
import { CHECKSUM_ALGORITHM, computeManifest, type TableCheck } from './manifest';
import { storeStream, type ChunkSink, type StoredStream } from './streams';
import { runTool } from './tool';

/** What the backup needs from a repository (lib/repo/repository.ts's Repository has it). */
export interface PgBackupRepo extends ChunkSink {
  flush(signal?: AbortSignal): Promise<unknown>;
  saveSnapshot(snapshot: Snapshot, signal?: AbortSignal): Promise<string>;
  lock(operation: string, opts?: { signal?: AbortSignal }): Promise<{ signal: AbortSignal; release(): Promise<void> }>;
  content: { abort(reason?: unknown): Promise<void> };
}

export type PostgresBackupProgress = {
  phase: 'dump' | 'globals';
  database?: string;
  databasesDone: number;
  databasesTotal: number;
  /** Dump bytes stored so far (all databases). */
  bytesDone: number;
  /** Sum of pg_database_size: an estimate only (a dump is usually smaller: no indexes, no bloat). */
  bytesEstimate?: number;
};

export type PostgresBackupOptions = {
  source: { kind: 'postgres'; name: string };
  /** `database`: one database name, or "all" (every connectable non-template database, plus globals). */
  connection: PgConnection;
  /** Also dump roles and tablespaces (pg_dumpall --globals-only); default: only for "all". */
  globals?: boolean;
  /** Leave role passwords out of globals (needed when the user cannot read pg_authid, i.e. is not superuser). */
  noRolePasswords?: boolean;
  /** Validation manifest taken with the dump: row counts and checksums (default), counts only, or none. */
  manifest?: 'checksum' | 'count' | 'none';
  /** Database to connect to for listing databases and for globals (default "postgres", then "template1"). */
  maintenanceDatabase?: string;
  /** pg_dump --lock-wait-timeout: fail instead of waiting longer for a table lock. */
  lockWaitTimeoutMs?: number;
  /** Directory of pg_dump/pg_dumpall (default: see connection.ts pgBinDir). */
  binDir?: string;
  tags?: string[];
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
  onProgress?: (p: PostgresBackupProgress) => void;
};

export type PostgresBackupResult = { snapshotId: string; snapshot: Snapshot; meta: PostgresMeta };

export type DbInfo = { name: string; encoding: string | null; collate: string | null; ctype: string | null; localeProvider: string | null; iculocale: string | null; size: number };

const PROGRESS_EVERY_MS = 250;

export async function backupPostgresLogical(repo: PgBackupRepo, opts: PostgresBackupOptions): Promise<PostgresBackupResult> {
  const startTime = new Date();
  const conn = opts.connection;
  if (!conn.database) throw new Error('connection.database is required: a database name, or "all"');
  const all = conn.database === 'all';
  const lock = await repo.lock('backup', { signal: opts.signal });
  const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
  try {
    const { server, databases, adminDb } = await discover(conn, all, opts.maintenanceDatabase, signal);
    const pgDump = await toolVersion(opts.binDir, signal);
    const progress = new Progress(opts.onProgress, databases.length, databases.reduce((n, d) => n + d.size, 0));
    const files: DumpFile[] = [];
    const entries: DatabaseEntry[] = [];
    const stored: StoredStream[] = [];
    for (const db of databases) {
      const { entry, file, stream } = await dumpDatabase(repo, conn, db, opts, signal, progress);
      entries.push(entry);
      files.push(file);
      stored.push(stream);
      progress.databaseDone();
    }
    let globals: PostgresMeta['globals'] = null;
    if (opts.globals ?? all) {
      const { file, stream } = await dumpGlobals(repo, conn, adminDb, opts, signal, progress);
      files.push(file);
      stored.push(stream);
      globals = { file: `${DUMP_DIR}/${file.name}`, bytes: file.size };
    }
    const dir = await repo.saveBlob('tree', dumpDirTree(files), signal);
    const root = await repo.saveBlob('tree', rootTree(dir.id, startTime), signal);
    await repo.flush(signal);
    const meta: PostgresMeta = { format: POSTGRES_FORMAT, server, pgDump, checksum: CHECKSUM_ALGORITHM, databases: entries, globals };
    const added = (await Promise.all(stored.map((s) => s.added))).reduce((a, b) => a + b, 0);
    const treeAdded = (await Promise.all([dir, root].map((t) => Promise.resolve(t.storedLength).catch(() => 0)))).reduce((a, b) => a + b, 0);
    const snapshot: Snapshot = {
      version: 1,
      time: new Date().toISOString(),
      startTime: startTime.toISOString(),
      hostname: hostname(),
      username: userInfo().username,
      source: opts.source,
      paths: files.map((f) => `/${DUMP_DIR}/${f.name}`),
      tags: opts.tags ?? [],
      tree: root.id,
      parent: null,
      mode: 'full',
      status: 'complete',
      summary: {
        files: files.length,
        dirs: 1,
        bytes: files.reduce((n, f) => n + f.size, 0),
        newFiles: files.length,
        changedFiles: 0,
        unchangedFiles: 0,
        newBlobs: stored.reduce((n, s) => n + s.newBlobs, 0) + Number(dir.stored) + Number(root.stored),
        addedBytes: added + treeAdded,
        errors: [],
      },
      meta: { ...(opts.meta ?? {}), postgres: meta },
    };
    signal.throwIfAborted(); // an abort that came in while the last packs were stored still wins
    const snapshotId = await repo.saveSnapshot(snapshot, signal);
    progress.report(undefined, true);
    return { snapshotId, snapshot, meta };
  } catch (err) {
    await repo.content.abort(err).catch(() => {});
    throw signal.aborted ? signal.reason : err;
  } finally {
    await lock.release().catch(() => {});
  }
}

class Progress {
  private bytes = 0;
  private done = 0;
  private last = 0;
  private database: string | undefined;
  private phase: PostgresBackupProgress['phase'] = 'dump';
  constructor(
    private readonly cb: PostgresBackupOptions['onProgress'],
    private readonly total: number,
    private readonly estimate: number,
  ) {}
  start(phase: PostgresBackupProgress['phase'], database?: string) {
    this.phase = phase;
    this.database = database;
    this.report(undefined, true);
  }
  add = (n: number) => this.report(n);
  databaseDone() {
    this.done++;
  }
  report(n = 0, force = false) {
    this.bytes += n;
    if (!this.cb || (!force && Date.now() - this.last < PROGRESS_EVERY_MS)) return;
    this.last = Date.now();
    this.cb({ phase: this.phase, database: this.database, databasesDone: this.done, databasesTotal: this.total, bytesDone: this.bytes, bytesEstimate: this.estimate || undefined });
  }
}

const DB_INFO_SQL = `
SELECT d.datname AS name, pg_encoding_to_char(d.encoding) AS encoding, to_jsonb(d) AS j,
       CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END AS size
FROM pg_database d`;

/** Server version and the databases to dump, with what a restore needs to recreate each. */
async function discover(conn: PgConnection, all: boolean, maintenance: string | undefined, signal: AbortSignal): Promise<{ server: string; databases: DbInfo[]; adminDb: string }> {
  const client = all ? await connectMaintenance(conn, maintenance, signal) : await connectClient(conn, conn.database, signal);
  try {
    const server = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const where = all ? 'WHERE d.datallowconn AND NOT d.datistemplate ORDER BY d.datname' : 'WHERE d.datname = current_database()';
    const databases = await queryDatabaseInfo(client, where);
    return { server, databases, adminDb: client.database ?? conn.database };
  } finally {
    await closeClient(client, conn, conn.database);
  }
}

/** What CREATE DATABASE needs to recreate database `name` of the server `client` is connected to; null when there is none. */
export async function databaseInfo(client: pg.Client, name: string): Promise<DbInfo | null> {
  return (await queryDatabaseInfo(client, `WHERE d.datname = ${client.escapeLiteral(name)}`))[0] ?? null;
}

async function queryDatabaseInfo(client: pg.Client, where: string): Promise<DbInfo[]> {
  const { rows } = await client.query<{ name: string; encoding: string; j: Record<string, unknown>; size: string | null }>(`${DB_INFO_SQL} ${where}`);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return rows.map((r) => ({
    name: r.name,
    encoding: r.encoding,
    collate: str(r.j.datcollate),
    ctype: str(r.j.datctype),
    localeProvider: str(r.j.datlocprovider),
    iculocale: str(r.j.daticulocale) ?? str(r.j.datlocale),
    size: Number(r.size ?? 0),
  }));
}

export async function connectMaintenance(conn: PgConnection, maintenance: string | undefined, signal?: AbortSignal): Promise<pg.Client> {
  const candidates = maintenance ? [maintenance] : ['postgres', 'template1'];
  let first: unknown;
  for (const db of candidates) {
    try {
      return await connectClient(conn, db, signal);
    } catch (err) {
      first ??= err;
    }
  }
  throw first instanceof PgConnectionError ? first : new PgConnectionError(String(first));
}

/** What `<tool> --version` prints ("pg_dump (PostgreSQL) 15.4"). */
export async function toolVersion(binDir: string | undefined, signal: AbortSignal, tool: PgTool = 'pg_dump'): Promise<string> {
  const t = runTool(tool, ['--version'], { binDir, env: { ...process.env, LC_MESSAGES: 'C' }, what: 'its version', signal });
  let out = '';
  t.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await t.done;
  return out.trim();
}

type Dumped = { entry: DatabaseEntry; file: DumpFile; stream: StoredStream };

async function dumpDatabase(repo: PgBackupRepo, conn: PgConnection, db: DbInfo, opts: PostgresBackupOptions, signal: AbortSignal, progress: Progress): Promise<Dumped> {
  const startedAt = new Date();
  progress.start('dump', db.name);
  const mode = opts.manifest ?? 'checksum';
  const client = await connectClient(conn, db.name, signal);
  let failed = true;
  try {
    await client.query(DETERMINISTIC_SESSION);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const args = ['--format=custom', '--compress=0', '--create', `--snapshot=${snap}`, '--no-password'];
    if (opts.lockWaitTimeoutMs) args.push(`--lock-wait-timeout=${Math.ceil(opts.lockWaitTimeoutMs)}`);
    args.push(`--dbname=${conninfo(conn, db.name)}`);
    const dump = runTool('pg_dump', args, { binDir: opts.binDir, env: childEnv(conn), what: `database ${db.name} (${describeConnection(conn, db.name)})`, signal });
    // The manifest runs in the exported snapshot while pg_dump streams; if it fails, pg_dump is stopped.
    let manifestError: unknown;
    const manifest: Promise<TableCheck[]> =
      mode === 'none'
        ? Promise.resolve([])
        : computeManifest(client, mode, signal).catch((err) => {
            manifestError = new Error(`validation manifest of database ${db.name} failed: ${(err as Error).message}`);
            dump.kill();
            return [];
          });
    let stream: StoredStream;
    try {
      stream = await storeStream(repo, dump.stdout as Readable, signal, progress.add);
      await dump.done;
    } catch (err) {
      dump.kill();
      throw manifestError ?? err;
    }
    const tables = await manifest;
    if (manifestError) throw manifestError;
    await client.query('COMMIT');
    failed = false;
    const file: DumpFile = { name: dumpFileName(db.name), content: stream.content, size: stream.size, mtime: startedAt };
    const entry: DatabaseEntry = {
      name: db.name,
      file: `${DUMP_DIR}/${file.name}`,
      bytes: stream.size,
      encoding: db.encoding,
      collate: db.collate,
      ctype: db.ctype,
      localeProvider: db.localeProvider,
      iculocale: db.iculocale,
      startedAt: startedAt.toISOString(),
      manifest: mode,
      tables,
    };
    return { entry, file, stream };
  } finally {
    await closeClient(client, conn, db.name, failed);
  }
}

async function dumpGlobals(repo: PgBackupRepo, conn: PgConnection, db: string, opts: PostgresBackupOptions, signal: AbortSignal, progress: Progress): Promise<{ file: DumpFile; stream: StoredStream }> {
  const startedAt = new Date();
  progress.start('globals');
  // pg_dumpall reads the shared catalogs through `db` (any database works).
  const args = ['--globals-only', '--no-password', `--dbname=${conninfo(conn, db)}`];
  if (opts.noRolePasswords) args.push('--no-role-passwords');
  const tool = runTool('pg_dumpall', args, { binDir: opts.binDir, env: childEnv(conn), what: `globals (${describeConnection(conn, db)})`, signal });
  try {
    const stream = await storeStream(repo, tool.stdout as Readable, signal, progress.add);
    await tool.done;
    return { file: { name: GLOBALS_FILE, content: stream.content, size: stream.size, mtime: startedAt }, stream };
  } catch (err) {
    tool.kill();
    throw err;
  }
}
