// PostgreSQL base backup as one restore point (layout and metadata: format.ts).
// The data directory streams as one tar (what pg_basebackup --format=tar --pgdata=- writes): over the
// replication protocol in process from PostgreSQL 15 on (replication-stream.ts), from a pg_basebackup child
// (--wal-method=none) before. The stream goes through TarTap (which keeps backup_label and backup_manifest as
// they pass) into the repository's chunker, with no temp file. No WAL is included, because WAL comes from the
// archive: the last segment the backup needs must appear in THIS repository's archive (otherwise
// archive_command sends WAL somewhere else and the backup could never be made consistent from here), and
// this module waits for it, up to a minute. Only then is the snapshot written, last, as for every backup
// (format §11). Failure or abort: no snapshot, the stream stopped.
import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { BlobNotFoundError } from '../../../blob';
import type { Snapshot } from '../../../repo/snapshot';
import { toolVersion, type PgBackupRepo } from '../backup';
import { childEnv, closeClient, conninfo, connectClient, describeConnection, type PgConnection } from '../connection';
import { dumpDirTree, rootTree, type DumpFile } from '../format';
import { storeStream } from '../streams';
import { runTool } from '../tool';
import { BASE_DIR, BASE_FILE, PHYSICAL_FORMAT, parseBackupLabel, parseManifestWalRange, type PhysicalMeta } from './format';
import { streamBaseBackup, type BackupTablespace } from './replication-stream';
import { TarTap } from './tar-tap';
import { WalArchive, segmentOfLsn } from './wal-archive';

export type BaseBackupRepo = PgBackupRepo & { store: WalArchiveStore; masterKey: ConstructorParameters<typeof WalArchive>[1] };
type WalArchiveStore = ConstructorParameters<typeof WalArchive>[0];

export type BaseBackupProgress = { bytesDone: number; bytesEstimate?: number; files: number };

export type BaseBackupOptions = {
  source: { kind: 'postgres'; name: string };
  /** Any database of the server (for the version and settings queries); pg_basebackup uses a replication connection. */
  connection: PgConnection;
  /** 'fast' (default) asks for an immediate checkpoint; 'spread' waits for the next one, sparing the server. */
  checkpoint?: 'fast' | 'spread';
  /** pg_basebackup --max-rate, e.g. "32M" (kB/s without a suffix). */
  maxRate?: string;
  binDir?: string;
  tags?: string[];
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
  onProgress?: (p: BaseBackupProgress) => void;
};

export type BaseBackupResult = { snapshotId: string; snapshot: Snapshot; meta: PhysicalMeta };

export class BaseBackupError extends Error {
  name = 'BaseBackupError';
}

const PROGRESS_EVERY_MS = 250;

export async function backupPostgresPhysical(repo: BaseBackupRepo, opts: BaseBackupOptions): Promise<BaseBackupResult> {
  const startedAt = new Date();
  const conn = opts.connection;
  const lock = await repo.lock('backup', { signal: opts.signal });
  const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
  try {
    const server = await serverFacts(conn, signal);
    const archive = new WalArchive(repo.store, repo.masterKey, server.systemId);
    const source = await openBaseBackup(conn, server, opts, `lifeboat ${startedAt.toISOString()}`, signal);
    const tap = new TarTap(new Set(['backup_label', 'backup_manifest']));
    source.tar.pipe(tap);
    source.tar.on('error', (err) => tap.destroy(err));
    let lastReport = 0;
    let bytes = 0;
    const report = (force = false) => {
      if (!opts.onProgress || (!force && Date.now() - lastReport < PROGRESS_EVERY_MS)) return;
      lastReport = Date.now();
      opts.onProgress({ bytesDone: bytes, bytesEstimate: server.sizeEstimate || undefined, files: tap.entries });
    };
    let stream;
    let tablespaces: BackupTablespace[];
    try {
      stream = await storeStream(repo, tap, signal, (n) => {
        bytes += n;
        report();
      });
      tablespaces = (await source.done)?.tablespaces ?? [];
    } catch (err) {
      source.kill();
      throw err;
    }
    const stopTime = new Date();
    report(true);

    const label = tap.members.get('backup_label');
    if (!label) throw new BaseBackupError(`the base backup stream of ${describeConnection(conn)} holds no backup_label: not a pg_basebackup tar stream`);
    const parsedLabel = parseBackupLabel(label.toString('utf8'));
    const manifest = tap.members.get('backup_manifest');
    const range = manifest ? parseManifestWalRange(manifest.toString('utf8')) : null;
    const stopWal = range ? segmentOfLsn(range.endLsn, range.timeline, server.walSegmentSize) : null;

    // The last segment the backup needs must be in this repository's archive, or the backup is unusable here.
    // The server does not wait for it (replication-stream.ts): archive_command may still be at work.
    const needed = stopWal ?? parsedLabel.startWal;
    const arrived = await waitForSegment(repo.store, archive.keyOf(needed), () => serverArchived(conn, needed, signal), signal);
    if (arrived !== true) {
      const why = arrived === 'elsewhere' ? 'although the server reports it archived' : `within ${WAL_ARCHIVE_TIMEOUT_MS / 1000} s`;
      throw new BaseBackupError(
        `WAL segment ${needed}, which this base backup needs, is not in the repository's WAL archive (wal/${server.systemId}/) ${why}: archive_command (now: ${server.archiveCommand || 'empty'}) must run \`lifeboat wal-push %p\` against this repository, and succeed (see \`lifeboat database archive-check\`). No restore point was saved.`,
      );
    }

    const file: DumpFile = { name: BASE_FILE, content: stream.content, size: stream.size, mtime: startedAt };
    const dir = await repo.saveBlob('tree', dumpDirTree([file]), signal);
    const root = await repo.saveBlob('tree', rootTree(dir.id, startedAt, BASE_DIR), signal);
    await repo.flush(signal);
    const meta: PhysicalMeta = {
      format: PHYSICAL_FORMAT,
      server: server.version,
      pgBasebackup: source.tool,
      systemId: server.systemId,
      timeline: range?.timeline ?? parsedLabel.timeline,
      startLsn: parsedLabel.startLsn,
      stopLsn: range?.endLsn ?? null,
      startWal: parsedLabel.startWal,
      stopWal,
      startTime: parsedLabel.startTime ?? startedAt.toISOString(),
      stopTime: stopTime.toISOString(),
      file: `${BASE_DIR}/${BASE_FILE}`,
      bytes: stream.size,
      entries: tap.entries,
      manifest: manifest !== undefined,
      ...(tablespaces.length > 0 ? { tablespaces } : {}),
    };
    const added = await stream.added;
    const treeAdded = (await Promise.all([dir, root].map((t) => Promise.resolve(t.storedLength).catch(() => 0)))).reduce((a, b) => a + b, 0);
    const snapshot: Snapshot = {
      version: 1,
      time: stopTime.toISOString(),
      startTime: startedAt.toISOString(),
      hostname: hostname(),
      username: userInfo().username,
      source: opts.source,
      paths: [`/${meta.file}`],
      tags: opts.tags ?? [],
      tree: root.id,
      parent: null,
      mode: 'full',
      status: 'complete',
      summary: {
        files: 1,
        dirs: 1,
        bytes: stream.size,
        newFiles: 1,
        changedFiles: 0,
        unchangedFiles: 0,
        newBlobs: stream.newBlobs + Number(dir.stored) + Number(root.stored),
        addedBytes: added + treeAdded,
        errors: [],
      },
      meta: { ...(opts.meta ?? {}), postgresPhysical: meta },
    };
    signal.throwIfAborted();
    const snapshotId = await repo.saveSnapshot(snapshot, signal);
    return { snapshotId, snapshot, meta };
  } catch (err) {
    await repo.content.abort(err).catch(() => {});
    throw signal.aborted ? signal.reason : err;
  } finally {
    await lock.release().catch(() => {});
  }
}

/** How long the WAL segment that ends a base backup may take to appear in the archive (pgBackRest: archive-timeout 60 s). */
const WAL_ARCHIVE_TIMEOUT_MS = 60_000;

type BaseBackupSource = { tar: Readable; done: Promise<{ tablespaces?: BackupTablespace[] } | void>; kill: () => void; tool: string };

/**
 * The base backup's tar stream: over the replication protocol from PostgreSQL 15 on (replication-stream.ts),
 * from a pg_basebackup child for older servers, whose protocol differs.
 */
async function openBaseBackup(conn: PgConnection, server: ServerFacts, opts: BaseBackupOptions, label: string, signal: AbortSignal): Promise<BaseBackupSource> {
  const checkpoint = opts.checkpoint ?? 'fast';
  if (server.major >= 15) {
    const s = await streamBaseBackup(conn, { label, checkpoint, maxRate: opts.maxRate, signal });
    return { tar: s.tar, done: s.done, kill: () => s.stop(new Error('the base backup was stopped')), tool: `replication protocol (PostgreSQL ${server.version})` };
  }
  const tool = await toolVersion(opts.binDir, signal, 'pg_basebackup');
  const args = ['--format=tar', '--pgdata=-', '--wal-method=none', `--checkpoint=${checkpoint}`, '--no-password', `--label=${label}`];
  if (opts.maxRate) args.push(`--max-rate=${opts.maxRate}`);
  args.push(`--dbname=${conninfo(conn)}`);
  const child = runTool('pg_basebackup', args, { binDir: opts.binDir, env: childEnv(conn), what: `the base backup of ${describeConnection(conn)}`, signal });
  return { tar: child.stdout as Readable, done: child.done, kill: () => child.kill(), tool };
}

/**
 * Polls for `key` until it exists (true), the server says it archived the segment and it is still not here
 * ('elsewhere': archive_command sends WAL to another place), or WAL_ARCHIVE_TIMEOUT_MS has passed ('timeout').
 */
async function waitForSegment(store: WalArchiveStore, key: string, archivedByServer: () => Promise<boolean>, signal: AbortSignal): Promise<true | 'elsewhere' | 'timeout'> {
  const deadline = Date.now() + WAL_ARCHIVE_TIMEOUT_MS;
  const exists = () => store.head(key, { signal }).then(() => true, (err: unknown) => {
    if (err instanceof BlobNotFoundError) return false;
    throw err;
  });
  for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
    if (await exists()) return true;
    // The server counts a segment archived once archive_command has returned: if it has, and the segment is
    // not here, it went somewhere else (checked again, in case it arrived in between).
    if (delay >= 200 && (await archivedByServer()) && !(await exists())) return 'elsewhere';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(delay, undefined, { signal });
  }
}

/** pg_stat_archiver says `segment` (or a later one of the same timeline) was archived. */
async function serverArchived(conn: PgConnection, segment: string, signal: AbortSignal): Promise<boolean> {
  const client = await connectClient(conn, conn.database, signal);
  try {
    const { rows } = await client.query<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver');
    // Also "<segment>.<offset>.backup" (a backup history file, archived after its segment) or ".partial".
    const last = /^[0-9A-F]{24}/.exec(rows[0]?.last ?? '')?.[0] ?? '';
    return last !== '' && last.slice(0, 8) === segment.slice(0, 8) && last >= segment;
  } finally {
    await closeClient(client, conn, conn.database);
  }
}

type ServerFacts = { version: string; major: number; systemId: string; walSegmentSize: number; archiveCommand: string; sizeEstimate: number };

/** Version, system identifier and archiving settings; refuses a server that does not archive WAL. */
async function serverFacts(conn: PgConnection, signal: AbortSignal): Promise<ServerFacts> {
  const client = await connectClient(conn, conn.database, signal);
  try {
    const { rows } = await client.query<{ version: string; sysid: string; seg: string; archive_mode: string; archive_command: string; wal_level: string; size: string | null; spaces: string | null }>(`
      SELECT current_setting('server_version') AS version, (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
             current_setting('wal_segment_size') AS seg, current_setting('archive_mode') AS archive_mode,
             current_setting('archive_command') AS archive_command, current_setting('wal_level') AS wal_level,
             (SELECT sum(pg_database_size(oid))::text FROM pg_database WHERE datallowconn) AS size,
             (SELECT string_agg(pg_tablespace_location(oid), ', ') FROM pg_tablespace WHERE pg_tablespace_location(oid) <> '') AS spaces`);
    const r = rows[0]!;
    const where = describeConnection(conn);
    if (r.wal_level === 'minimal') throw new BaseBackupError(`wal_level is minimal on ${where}: base backups and WAL archiving need wal_level = replica (the default) or logical`);
    if (r.archive_mode === 'off') {
      throw new BaseBackupError(`archive_mode is off on ${where}: a base backup is only restorable with the WAL archived after it. Set archive_mode = on and archive_command to \`lifeboat wal-push %p\` (see \`lifeboat database archive-check\`), restart the server, then back up again.`);
    }
    const major = Number.parseInt(r.version, 10);
    if (major < 15 && r.spaces) {
      throw new BaseBackupError(`${where} has tablespaces outside the data directory (${r.spaces}): before PostgreSQL 15 they cannot be streamed into one restore point (pg_basebackup writes one tablespace to a stream); use logical backups (database backup) for this server`);
    }
    return { version: r.version, major, systemId: r.sysid, walSegmentSize: parseSize(r.seg), archiveCommand: r.archive_command, sizeEstimate: Number(r.size ?? 0) };
  } finally {
    await closeClient(client, conn, conn.database);
  }
}

/** "16MB" -> 16777216 (the units PostgreSQL shows for wal_segment_size). */
function parseSize(text: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)?$/.exec(text.trim());
  if (!m) return 16 * 1024 * 1024;
  return Number(m[1]) * ({ kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'kB' | 'MB' | 'GB'] ?? 1);
}
