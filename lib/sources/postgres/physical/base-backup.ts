// PostgreSQL base backup as one restore point (layout and metadata: format.ts).
// pg_basebackup --format=tar --pgdata=- --wal-method=none streams the data directory over the replication
// protocol; the stream goes through TarTap (which keeps backup_label and backup_manifest as they pass) into
// the repository's chunker, with no temp file. --wal-method=none is right because WAL comes from the archive:
// the server confirms, before pg_basebackup exits, that every segment the backup needs was archived, and
// this module then checks that the last of them is in THIS repository's archive (otherwise archive_command
// sends WAL somewhere else and the backup could never be made consistent from here). Only then is the
// snapshot written, last, as for every backup (format §11). Failure or abort: no snapshot, children killed.
import { hostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { BlobNotFoundError } from '../../../blob';
import type { Snapshot } from '../../../repo/snapshot';
import { toolVersion, type PgBackupRepo } from '../backup';
import { childEnv, closeClient, conninfo, connectClient, describeConnection, type PgConnection } from '../connection';
import { dumpDirTree, rootTree, type DumpFile } from '../format';
import { storeStream } from '../streams';
import { runTool } from '../tool';
import { BASE_DIR, BASE_FILE, PHYSICAL_FORMAT, parseBackupLabel, parseManifestWalRange, type PhysicalMeta } from './format';
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
    const pgBasebackup = await toolVersion(opts.binDir, signal, 'pg_basebackup');

    const args = ['--format=tar', '--pgdata=-', '--wal-method=none', `--checkpoint=${opts.checkpoint ?? 'fast'}`, '--no-password', `--label=lifeboat ${startedAt.toISOString()}`];
    if (opts.maxRate) args.push(`--max-rate=${opts.maxRate}`);
    args.push(`--dbname=${conninfo(conn)}`);
    const tool = runTool('pg_basebackup', args, { binDir: opts.binDir, env: childEnv(conn), what: `the base backup of ${describeConnection(conn)}`, signal });
    const tap = new TarTap(new Set(['backup_label', 'backup_manifest']));
    (tool.stdout as Readable).pipe(tap);
    tool.stdout.on('error', (err) => tap.destroy(err));
    let lastReport = 0;
    let bytes = 0;
    const report = (force = false) => {
      if (!opts.onProgress || (!force && Date.now() - lastReport < PROGRESS_EVERY_MS)) return;
      lastReport = Date.now();
      opts.onProgress({ bytesDone: bytes, bytesEstimate: server.sizeEstimate || undefined, files: tap.entries });
    };
    let stream;
    try {
      stream = await storeStream(repo, tap, signal, (n) => {
        bytes += n;
        report();
      });
      await tool.done;
    } catch (err) {
      tool.kill();
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
    const needed = stopWal ?? parsedLabel.startWal;
    try {
      await repo.store.head(archive.keyOf(needed), { signal });
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err;
      throw new BaseBackupError(
        `WAL segment ${needed}, which this base backup needs, is not in the repository's WAL archive (wal/${server.systemId}/) although the server reports it archived: archive_command (now: ${server.archiveCommand || 'empty'}) must run \`lifeboat wal-push %p\` against this repository. No restore point was saved.`,
      );
    }

    const file: DumpFile = { name: BASE_FILE, content: stream.content, size: stream.size, mtime: startedAt };
    const dir = await repo.saveBlob('tree', dumpDirTree([file]), signal);
    const root = await repo.saveBlob('tree', rootTree(dir.id, startedAt, BASE_DIR), signal);
    await repo.flush(signal);
    const meta: PhysicalMeta = {
      format: PHYSICAL_FORMAT,
      server: server.version,
      pgBasebackup,
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

type ServerFacts = { version: string; systemId: string; walSegmentSize: number; archiveCommand: string; sizeEstimate: number };

/** Version, system identifier and archiving settings; refuses a server that does not archive WAL. */
async function serverFacts(conn: PgConnection, signal: AbortSignal): Promise<ServerFacts> {
  const client = await connectClient(conn, conn.database, signal);
  try {
    const { rows } = await client.query<{ version: string; sysid: string; seg: string; archive_mode: string; archive_command: string; wal_level: string; size: string | null }>(`
      SELECT current_setting('server_version') AS version, (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
             current_setting('wal_segment_size') AS seg, current_setting('archive_mode') AS archive_mode,
             current_setting('archive_command') AS archive_command, current_setting('wal_level') AS wal_level,
             (SELECT sum(pg_database_size(oid))::text FROM pg_database WHERE datallowconn) AS size`);
    const r = rows[0]!;
    const where = describeConnection(conn);
    if (r.wal_level === 'minimal') throw new BaseBackupError(`wal_level is minimal on ${where}: base backups and WAL archiving need wal_level = replica (the default) or logical`);
    if (r.archive_mode === 'off') {
      throw new BaseBackupError(`archive_mode is off on ${where}: a base backup is only restorable with the WAL archived after it. Set archive_mode = on and archive_command to \`lifeboat wal-push %p\` (see \`lifeboat database archive-check\`), restart the server, then back up again.`);
    }
    return { version: r.version, systemId: r.sysid, walSegmentSize: parseSize(r.seg), archiveCommand: r.archive_command, sizeEstimate: Number(r.size ?? 0) };
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
