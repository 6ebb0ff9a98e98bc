// Restores one database of a MySQL/MariaDB logical backup (format.ts) into a database of a server, then
// validates it against the manifest taken with the dump and runs the smoke queries.
//
// Steps, under a shared `restore` lock of the repository:
// 1. Refuse at once when the target database exists, unless `overwrite` (MysqlRestoreError).
// 2. Target absent: CREATE DATABASE target (the dump's character set and collation; failing if someone else
//    created it meanwhile) and stream the dump into `mariadb --database=target` (mysql when that is what
//    exists): blobs in order, 4 loaded ahead, no temp file. On failure or abort the target is dropped again.
// 3. Target present and `overwrite`: MariaDB/MySQL have no RENAME DATABASE, and moving a restored copy into
//    place table by table would break triggers (RENAME TABLE refuses to move a table with triggers to another
//    database) and views (they cannot change database), and would have to re-create routines and events by
//    hand. So the dump is first loaded into a scratch database `lifeboat_restore_<random>`: only when that
//    succeeded (the backup is proven loadable) is the target dropped, re-created and loaded again, then the
//    scratch copy dropped. A failure before the drop never touches the target; a failure of the second load
//    drops the partial target and keeps the scratch copy, naming it in the error. It costs a second load.
// 4. The dump holds no CREATE DATABASE / USE, so it lands in whichever database the client is given. The one
//    statement that names the original database, `ALTER DATABASE <original> CHARACTER SET ...` (mariadb-dump
//    writes it around routines created under another database collation), is rewritten to the database being
//    loaded, so a restore never writes outside its target.
// 5. Validation (row counts + checksums, manifest.ts) and smoke queries (validate.ts) are reported in the
//    result (`ok`, `validation.mismatches`, `smoke`), not thrown.
// Errors: MysqlRestoreError (bad request: target exists, bad name, database not in the snapshot, not a MySQL
// snapshot), MysqlConnectionError (naming user@host:port/db), MysqlToolError (the client failed: database and
// first stderr lines, e.g. "ERROR 1227 ... at line 120"), the abort reason on abort (client killed, what this
// restore created dropped). The password reaches the client only through a private option file.
// Not restored: users and grants (not in the dump), the database's own grants. Restored events are live: with
// the server's event_scheduler ON they run in the restored database.
import { randomBytes } from 'node:crypto';
import type { Snapshot } from '../../repo/snapshot';
import type { FileNode } from '../../repo/tree';
import { chooseDatabase } from '../database-choice';
import { findFile } from '../tree-file';
import type { PgRestoreRepo } from '../postgres/restore';
import { readContent, writeAll, type BlobReader } from '../postgres/streams';
import {
  SYSTEM_DATABASES, clientDefaults, closeSession, connectSession, describeConnection, quoteIdent, rowsOf, toolArgs,
  type ClientDefaults, type MysqlConnection, type MysqlSession,
} from './connection';
import { readMysqlMeta, type MysqlDatabaseEntry, type MysqlMeta } from './format';
import type { ValidationReport } from './manifest';
import { findTool, runMysqlTool } from './tool';
import { runSmokeQueries, validateRestoredDatabase, type SmokeResult } from './validate';

/** What the restore needs from a repository (the same as the PostgreSQL source's; Repository has it). */
export type MysqlRestoreRepo = PgRestoreRepo;

/** The restore cannot be done as asked (target exists, database not in the snapshot, bad name...). */
export class MysqlRestoreError extends Error {
  name = 'MysqlRestoreError';
}

export type MysqlRestoreProgress = { phase: 'restore' | 'validate' | 'smoke'; bytesDone: number; bytesTotal: number };

export type MysqlRestoreOptions = {
  /** The server to restore into (its `database` is not used: the restore connects without one). */
  connection: MysqlConnection;
  /** Name of the database to create. */
  targetDatabase: string;
  /** Which database of the snapshot; required when it holds several. */
  database?: string;
  /** Replace an existing target database (dropped only after the backup loaded into a scratch copy; see above). */
  overwrite?: boolean;
  /** Compare row counts and checksums with the manifest (default true). */
  validate?: boolean;
  /** Read-only queries that must each return at least one row on the restored database. */
  smokeQueries?: string[];
  binDir?: string;
  /** Parent of the private directory holding the password option file. */
  tempDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: MysqlRestoreProgress) => void;
};

export type MysqlRestoreResult = {
  snapshotId: string | null;
  sourceDatabase: string;
  targetDatabase: string;
  bytes: number;
  replacedExisting: boolean;
  seconds: number;
  validation: ValidationReport | null;
  smoke: SmokeResult[];
  /** Validation passed (or was skipped) and every smoke query returned rows. */
  ok: boolean;
};

const MAX_NAME_CHARS = 64;

export async function restoreMysqlLogical(repo: MysqlRestoreRepo, snapshotOrId: string | Snapshot, opts: MysqlRestoreOptions): Promise<MysqlRestoreResult> {
  const started = Date.now();
  const target = opts.targetDatabase;
  if (!target || [...target].length > MAX_NAME_CHARS || target.includes('\0') || target.endsWith(' ')) {
    throw new MysqlRestoreError(`target database name ${JSON.stringify(target)} is not valid: it must be 1-${MAX_NAME_CHARS} characters, without NUL or a trailing space`);
  }
  if (SYSTEM_DATABASES.includes(target.toLowerCase())) throw new MysqlRestoreError(`target database name ${target} is not valid: it is a system database`);
  const conn = opts.connection;
  const program = findTool('client', opts.binDir);
  const lock = await repo.lock('restore', { signal: opts.signal });
  const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
  let admin: MysqlSession | undefined;
  let defaults: ClientDefaults | undefined;
  const dropOnFailure = new Set<string>();
  try {
    const snapshotId = typeof snapshotOrId === 'string' ? snapshotOrId : null;
    const snapshot = typeof snapshotOrId === 'string' ? await repo.loadSnapshot(snapshotOrId, signal) : snapshotOrId;
    const what = snapshotId ? `snapshot ${snapshotId.slice(0, 8)}` : 'the snapshot';
    const entry = pickDatabase(readMysqlMeta(snapshot, what), opts.database, what);
    const node = await findFile(repo, snapshot.tree, entry.file, what, signal, (m) => new MysqlRestoreError(m));

    admin = await connectSession(conn, null, signal);
    const exists = await databaseExists(admin, target);
    if (exists && !opts.overwrite) {
      throw new MysqlRestoreError(`database ${target} already exists on ${describeConnection(conn, target)}; choose another target or pass overwrite to replace it`);
    }
    defaults = await clientDefaults(conn, opts.tempDir);
    const progress = progressOf(opts.onProgress, exists ? 2 * node.size : node.size);
    const load = (db: string) => loadDump(repo, node, entry.name, { conn, db, program, defaults: defaults!, signal, progress });
    let bytes: number;
    if (!exists) {
      await createDatabase(admin, conn, target, entry);
      dropOnFailure.add(target);
      bytes = await load(target);
    } else {
      const scratch = `lifeboat_restore_${randomBytes(6).toString('hex')}`;
      await createDatabase(admin, conn, scratch, entry);
      dropOnFailure.add(scratch);
      await load(scratch);
      await admin.query(`DROP DATABASE ${quoteIdent(target)}`);
      dropOnFailure.delete(scratch); // the scratch copy is now the only complete one: kept if what follows fails
      try {
        await createDatabase(admin, conn, target, entry);
        dropOnFailure.add(target);
        bytes = await load(target);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new MysqlRestoreError(`database ${target} on ${describeConnection(conn, target)} was dropped to be replaced, but loading the backup into it again failed (${(err as Error).message}); the restored copy is kept as database ${scratch}`);
      }
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)}`);
    }
    dropOnFailure.clear();

    progress.phase = 'validate';
    progress.report(0, true);
    const at = { ...conn, database: target };
    const validation = opts.validate === false || entry.manifest === 'none' ? null : await validateRestoredDatabase(at, entry.tables, signal);
    progress.phase = 'smoke';
    const smoke = opts.smokeQueries?.length ? await runSmokeQueries(at, opts.smokeQueries, signal) : [];
    return {
      snapshotId,
      sourceDatabase: entry.name,
      targetDatabase: target,
      bytes,
      replacedExisting: exists,
      seconds: (Date.now() - started) / 1000,
      validation,
      smoke,
      ok: (validation?.ok ?? true) && smoke.every((s) => s.ok),
    };
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  } finally {
    for (const db of dropOnFailure) await admin?.query(`DROP DATABASE IF EXISTS ${quoteIdent(db)}`).catch(() => {});
    if (admin) await closeSession(admin, conn);
    await defaults?.dispose().catch(() => {});
    await lock.release().catch(() => {});
  }
}

/** The databases a MySQL/MariaDB logical snapshot holds (what `database` may name). */
export function mysqlDatabasesIn(snapshot: Snapshot): MysqlDatabaseEntry[] {
  return readMysqlMeta(snapshot, 'the snapshot').databases;
}

function pickDatabase(meta: MysqlMeta, wanted: string | undefined, what: string): MysqlDatabaseEntry {
  const chosen = chooseDatabase(meta.databases, wanted, what);
  if (typeof chosen === 'string') throw new MysqlRestoreError(chosen);
  return chosen;
}


async function databaseExists(admin: MysqlSession, name: string): Promise<boolean> {
  return (await rowsOf(admin, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0;
}

async function createDatabase(admin: MysqlSession, conn: MysqlConnection, name: string, e: MysqlDatabaseEntry): Promise<void> {
  const word = (v: string | null) => (v && /^\w+$/.test(v) ? v : null);
  const charset = word(e.charset);
  const collation = word(e.collation);
  const opts = `${charset ? ` CHARACTER SET ${charset}` : ''}${collation ? ` COLLATE ${collation}` : ''}`;
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}${opts}`);
  } catch (err) {
    throw new MysqlRestoreError(`cannot create database ${name} on ${describeConnection(conn, name)} (character set ${e.charset}, collation ${e.collation}): ${(err as Error).message}`);
  }
}

type LoadContext = { conn: MysqlConnection; db: string; program: string; defaults: ClientDefaults; signal: AbortSignal; progress: Progress };

/** Streams the dump into the client connected to `db`; returns the dump's size. */
async function loadDump(repo: BlobReader, node: FileNode, source: string, { conn, db, program, defaults, signal, progress }: LoadContext): Promise<number> {
  const args = [...defaults.args, ...toolArgs(conn), '--default-character-set=utf8mb4', `--database=${db}`];
  const tool = runMysqlTool(program, args, { what: `database ${source} into ${describeConnection(conn, db)}`, signal });
  tool.stdout.resume();
  let bytes = 0;
  const counted = async function* () {
    for await (const b of readContent(repo, node.content, signal)) {
      bytes += b.length;
      yield b;
    }
  };
  try {
    await writeAll(renameDatabaseStatements(counted(), source, db), tool.stdin, tool.done, progress.add);
    await tool.done;
  } catch (err) {
    tool.kill();
    throw err;
  }
  if (bytes !== node.size) throw new MysqlRestoreError(`the dump of database ${source} holds ${bytes} bytes but its tree node says ${node.size}`);
  return bytes;
}

/**
 * The dump with every line that starts `ALTER DATABASE <from> ` rewritten to name `to` instead (see the module
 * comment). Lines are only looked at where they start; a partial line start is carried to the next buffer.
 */
export async function* renameDatabaseStatements(source: AsyncIterable<Buffer>, from: string, to: string): AsyncGenerator<Buffer> {
  if (from === to) return yield* source;
  const prefix = Buffer.from(`ALTER DATABASE ${quoteIdent(from)} `);
  const replacement = Buffer.from(`ALTER DATABASE ${quoteIdent(to)} `);
  let carry: Buffer | null = null;
  let atLineStart = true;
  for await (const piece of source) {
    const buf: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
    carry = null;
    let emitted = 0;
    let start = atLineStart ? 0 : buf.indexOf(10) + 1 || buf.length;
    while (start < buf.length) {
      const rest = buf.length - start;
      if (rest < prefix.length && buf.subarray(start).equals(prefix.subarray(0, rest))) {
        carry = buf.subarray(start);
        break;
      }
      if (rest >= prefix.length && buf.subarray(start, start + prefix.length).equals(prefix)) {
        if (start > emitted) yield buf.subarray(emitted, start);
        yield replacement;
        emitted = start + prefix.length;
      }
      start = buf.indexOf(10, start) + 1 || buf.length;
    }
    const end = carry ? buf.length - carry.length : buf.length;
    if (end > emitted) yield buf.subarray(emitted, end);
    atLineStart = carry !== null || buf[buf.length - 1] === 10;
  }
  if (carry) yield carry;
}

/** Progress of a restore: bytes fed to the client, reported at most every 250 ms (phase changes forced). */
type Progress = { phase: MysqlRestoreProgress['phase']; add(n: number): void; report(n?: number, force?: boolean): void };

function progressOf(cb: MysqlRestoreOptions['onProgress'], bytesTotal: number): Progress {
  let bytesDone = 0;
  let last = 0;
  const p: Progress = {
    phase: 'restore',
    add: (n) => p.report(n),
    report(n = 0, force = false) {
      bytesDone += n;
      if (!cb || (!force && Date.now() - last < 250)) return;
      last = Date.now();
      cb({ phase: p.phase, bytesDone, bytesTotal });
    },
  };
  return p;
}
