// MySQL/MariaDB logical backup as one restore point (layout and metadata: format.ts, docs/mysql.md).
// For each database, mariadb-dump (mysqldump when that is what exists) --single-transaction streams its
// stdout through the repository's chunker into data blobs (no temp file; backpressure pauses the dump).
//
// Consistency of the validation manifest with the dump (the dump and the manifest run on two connections,
// and MySQL cannot share a snapshot between connections the way pg_export_snapshot does):
//  1. our session takes FLUSH TABLES WITH READ LOCK: from now on no transaction can commit;
//  2. it reads the binary-log position (SHOW MASTER STATUS) and starts its own
//     REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT;
//  3. mariadb-dump starts; it writes its header, runs START TRANSACTION WITH CONSISTENT SNAPSHOT, and only
//     then writes anything else (mysqldump.c: write_header, start_transaction, then the tables). The first
//     comment line after the header's SET block in its output therefore proves its snapshot exists;
//  4. then our session runs UNLOCK TABLES (keeping its transaction) and computes the manifest (manifest.ts).
// No commit could happen between the two snapshots, so for InnoDB tables the manifest, the dump and the binlog
// position describe exactly the same state, even under concurrent writes; writes are blocked only until the
// dump's first output buffer (a few KiB) arrives. Non-transactional tables (MyISAM, Aria, MEMORY) are read
// by the dump and the manifest at different moments: consistent only when nothing writes them meanwhile
// (a difference shows up as a validation mismatch, never silently). DDL during the backup can fail it.
// FLUSH TABLES WITH READ LOCK needs the RELOAD privilege; with manifest "none" no lock is taken at all.
//
// Then, as the other sources do: shared lock for the whole run, flush packs and index, write the snapshot
// LAST. Any failure (the dump exiting non-zero: MysqlToolError naming the database and its first stderr
// lines; a connection refused: MysqlConnectionError naming user@host:port/db) or an abort kills the dump,
// kills our running query, aborts the content store and leaves no snapshot. The password reaches the dump
// only through a private option file (connection.ts), removed afterwards.
import { hostname, userInfo } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import type { Snapshot } from '../../repo/snapshot';
import type { PgBackupRepo } from '../postgres/backup';
import { storeStream, type StoredStream } from '../postgres/streams';
import {
  SYSTEM_DATABASES, MysqlConnectionError, clientDefaults, closeSession, connectSession, describeConnection, rowsOf, toolArgs,
  type ClientDefaults, type MysqlConnection, type MysqlSession,
} from './connection';
import { DUMP_DIR, MYSQL_FORMAT, dumpDirTree, rootTree, sqlFileName, type BinlogPosition, type DumpFile, type MysqlDatabaseEntry, type MysqlMeta, type MysqlTableCheck } from './format';
import { CHECKSUM_ALGORITHM, computeManifest } from './manifest';
import { findTool, runMysqlTool, toolVersion } from './tool';

/** What the backup needs from a repository (the same as the PostgreSQL source's; Repository has it). */
export type MysqlBackupRepo = PgBackupRepo;

export type MysqlBackupProgress = { phase: 'dump'; database: string; databasesDone: number; databasesTotal: number; bytesDone: number; bytesEstimate?: number };

export type MysqlBackupOptions = {
  source: { kind: 'mysql'; name: string };
  /** `database`: one database name, or "all" (every database but information_schema, performance_schema, mysql, sys). */
  connection: MysqlConnection;
  /** Validation manifest taken with the dump: row counts and checksums (default), counts only, or none (no lock either). */
  manifest?: 'checksum' | 'count' | 'none';
  /** lock_wait_timeout of the FLUSH TABLES WITH READ LOCK session: fail instead of stalling writers longer. */
  lockWaitTimeoutMs?: number;
  /** Directory of mariadb-dump/mysqldump (default: $LIFEBOAT_MYSQL_BIN, else PATH). */
  binDir?: string;
  /** Parent of the private directory holding the password option file (default: the OS temp dir). */
  tempDir?: string;
  tags?: string[];
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
  onProgress?: (p: MysqlBackupProgress) => void;
};

export type MysqlBackupResult = { snapshotId: string; snapshot: Snapshot; meta: MysqlMeta };

type DbInfo = { name: string; charset: string | null; collation: string | null; size: number };
type Run = { repo: MysqlBackupRepo; conn: MysqlConnection; opts: MysqlBackupOptions; signal: AbortSignal; dumpTool: string; defaults: ClientDefaults; progress: Progress };

export async function backupMysqlLogical(repo: MysqlBackupRepo, opts: MysqlBackupOptions): Promise<MysqlBackupResult> {
  const startTime = new Date();
  const conn = opts.connection;
  if (!conn.database) throw new Error('connection.database is required: a database name, or "all"');
  const dumpTool = findTool('dump', opts.binDir);
  const lock = await repo.lock('backup', { signal: opts.signal });
  const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
  let defaults: ClientDefaults | undefined;
  try {
    const { server, databases } = await discover(conn, signal);
    const version = await toolVersion(dumpTool, signal);
    defaults = await clientDefaults(conn, opts.tempDir);
    const progress = new Progress(opts.onProgress, databases.length, databases.reduce((n, d) => n + d.size, 0));
    const run: Run = { repo, conn, opts, signal, dumpTool, defaults, progress };
    const dumped: Dumped[] = [];
    for (const db of databases) {
      dumped.push(await dumpDatabase(run, db));
      progress.databaseDone();
    }
    const files = dumped.map((d) => d.file);
    const dir = await repo.saveBlob('tree', dumpDirTree(files), signal);
    const root = await repo.saveBlob('tree', rootTree(dir.id, startTime), signal);
    await repo.flush(signal);
    const meta: MysqlMeta = { format: MYSQL_FORMAT, server, dumpTool: version, checksum: CHECKSUM_ALGORITHM, databases: dumped.map((d) => d.entry) };
    const sum = (ps: (number | Promise<number>)[]) => Promise.all(ps.map((p) => Promise.resolve(p).catch(() => 0))).then((ns) => ns.reduce((a, b) => a + b, 0));
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
        files: files.length, dirs: 1, bytes: files.reduce((n, f) => n + f.size, 0), newFiles: files.length, changedFiles: 0, unchangedFiles: 0,
        newBlobs: dumped.reduce((n, d) => n + d.stream.newBlobs, 0) + Number(dir.stored) + Number(root.stored),
        addedBytes: await sum([...dumped.map((d) => d.stream.added), dir.storedLength, root.storedLength]),
        errors: [],
      },
      meta: { ...(opts.meta ?? {}), mysql: meta },
    };
    signal.throwIfAborted(); // an abort that came in while the last packs were stored still wins
    const snapshotId = await repo.saveSnapshot(snapshot, signal);
    progress.report(0, true);
    return { snapshotId, snapshot, meta };
  } catch (err) {
    await repo.content.abort(err).catch(() => {});
    throw signal.aborted ? signal.reason : err;
  } finally {
    await defaults?.dispose().catch(() => {});
    await lock.release().catch(() => {});
  }
}

class Progress {
  private bytes = 0;
  private done = 0;
  private last = 0;
  database = '';
  constructor(
    private readonly cb: MysqlBackupOptions['onProgress'],
    private readonly total: number,
    private readonly estimate: number,
  ) {}
  add = (n: number) => this.report(n);
  databaseDone() {
    this.done++;
  }
  report(n = 0, force = false) {
    this.bytes += n;
    if (!this.cb || (!force && Date.now() - this.last < 250)) return;
    this.last = Date.now();
    this.cb({ phase: 'dump', database: this.database, databasesDone: this.done, databasesTotal: this.total, bytesDone: this.bytes, bytesEstimate: this.estimate || undefined });
  }
}

/** Server version and the databases to dump (one, or all non-system ones), with their character sets. */
async function discover(conn: MysqlConnection, signal: AbortSignal): Promise<{ server: string; databases: DbInfo[] }> {
  const all = conn.database === 'all';
  const session = await connectSession(conn, all ? null : conn.database, signal);
  try {
    const [{ v }] = (await rowsOf<{ v: string }>(session, 'SELECT VERSION() AS v')) as [{ v: string }];
    const rows = await rowsOf<{ name: string; charset: string | null; collation: string | null; size: string | null }>(
      session,
      `SELECT s.SCHEMA_NAME AS name, s.DEFAULT_CHARACTER_SET_NAME AS charset, s.DEFAULT_COLLATION_NAME AS collation,
              (SELECT CAST(SUM(t.DATA_LENGTH) AS CHAR) FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME) AS size
       FROM information_schema.SCHEMATA s WHERE ${all ? 's.SCHEMA_NAME NOT IN (?)' : 's.SCHEMA_NAME = ?'}`,
      [all ? SYSTEM_DATABASES : conn.database],
    );
    const databases = rows.map((r) => ({ name: r.name, charset: r.charset, collation: r.collation, size: Number(r.size ?? 0) }));
    databases.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    if (!all && !databases.length) throw new MysqlConnectionError(`database ${conn.database} does not exist on ${describeConnection(conn)}`);
    return { server: v, databases };
  } finally {
    await closeSession(session, conn);
  }
}

/** The binary-log coordinates (null when binary logging is off or we may not read them). */
async function binlogPosition(session: MysqlSession): Promise<BinlogPosition | null> {
  try {
    const [status] = await rowsOf<{ File: string; Position: string | number }>(session, 'SHOW MASTER STATUS');
    if (!status?.File) return null;
    const [g] = await rowsOf<{ g: string | null }>(session, 'SELECT @@GLOBAL.gtid_binlog_pos AS g').catch(() => rowsOf<{ g: string | null }>(session, 'SELECT @@GLOBAL.gtid_executed AS g').catch(() => [{ g: null }]));
    return { file: status.File, position: Number(status.Position), gtid: g?.g || null };
  } catch {
    return null;
  }
}

/**
 * Passes the dump through unchanged; `started` resolves at the first comment line after the header's SET
 * block, i.e. once mariadb-dump's own transaction exists (see the module comment).
 */
class DumpStartWatch extends Transform {
  readonly started: Promise<void>;
  private resolve!: () => void;
  private head = '';
  private watching = true;
  constructor() {
    super();
    this.started = new Promise((r) => (this.resolve = r));
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    if (this.watching) {
      this.head += chunk.toString('latin1');
      const set = this.head.indexOf('\n/*!');
      if (set >= 0 && this.head.indexOf('\n--', set) >= 0) {
        this.watching = false;
        this.resolve();
      } else if (this.head.length > 1 << 20) this.watching = false; // not a dump we know: the lock goes when the dump ends
      if (!this.watching) this.head = '';
    }
    cb(null, chunk);
  }
}

type Dumped = { entry: MysqlDatabaseEntry; file: DumpFile; stream: StoredStream };

async function dumpDatabase({ repo, conn, opts, signal, dumpTool, defaults, progress }: Run, db: DbInfo): Promise<Dumped> {
  const startedAt = new Date();
  progress.database = db.name;
  progress.report(0, true);
  const mode = opts.manifest ?? 'checksum';
  const where = describeConnection(conn, db.name);
  const session = await connectSession(conn, db.name, signal);
  let failed = true;
  try {
    let binlog: BinlogPosition | null = null;
    if (mode !== 'none') {
      if (opts.lockWaitTimeoutMs) await session.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(opts.lockWaitTimeoutMs / 1000))}`);
      await session.query('FLUSH TABLES WITH READ LOCK').catch((err: Error) => {
        throw new MysqlConnectionError(`FLUSH TABLES WITH READ LOCK on ${where} failed: ${err.message} (it makes the validation manifest match the dump; the user needs the RELOAD privilege, or take the backup with manifest none)`);
      });
      binlog = await binlogPosition(session);
      await session.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await session.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    }
    const args = [...defaults.args, ...toolArgs(conn), '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--default-character-set=utf8mb4', '--', db.name];
    const dump = runMysqlTool(dumpTool, args, { what: `database ${db.name} (${where})`, signal });
    const watch = new DumpStartWatch();
    dump.stdout.pipe(watch);
    // Once the dump's snapshot exists (or the dump ended), writers are let go and the manifest is taken in ours.
    let manifestError: unknown;
    const dumpEnded = dump.done.then(() => true, () => false);
    const manifest: Promise<MysqlTableCheck[]> =
      mode === 'none'
        ? Promise.resolve([])
        : Promise.race([watch.started.then(() => true), dumpEnded])
            .then(async (go) => {
              await session.query('UNLOCK TABLES');
              return go ? computeManifest(session, db.name, mode, signal) : [];
            })
            .catch((err: unknown) => {
              manifestError = signal.aborted ? signal.reason : new Error(`validation manifest of database ${db.name} (${where}) failed: ${(err as Error).message}`);
              dump.kill();
              return [];
            });
    let stream: StoredStream;
    try {
      stream = await storeStream(repo, watch, signal, progress.add);
      await dump.done;
    } catch (err) {
      dump.kill();
      throw manifestError ?? err;
    }
    const tables = await manifest;
    if (manifestError) throw manifestError;
    if (mode !== 'none') await session.query('COMMIT');
    failed = false;
    const file: DumpFile = { name: sqlFileName(db.name), content: stream.content, size: stream.size, mtime: startedAt };
    const entry: MysqlDatabaseEntry = {
      name: db.name,
      file: `${DUMP_DIR}/${file.name}`,
      bytes: stream.size,
      charset: db.charset,
      collation: db.collation,
      startedAt: startedAt.toISOString(),
      manifest: mode,
      consistency: mode === 'none' ? 'dump-only' : 'locked-snapshot',
      binlog,
      tables,
    };
    return { entry, file, stream };
  } finally {
    await closeSession(session, conn, failed);
  }
}
