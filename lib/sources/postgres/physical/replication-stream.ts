// BASE_BACKUP over the replication protocol (PostgreSQL 15 and later), in process, instead of a
// pg_basebackup child. Why:
// - WAIT false. pg_basebackup --wal-method=none makes the server wait for the last WAL segment to be
//   archived, and it checks once a second: ~0.7 s of every backup of an idle server went to that sleep. The
//   caller waits for the segment in its own repository instead, which is what it needs anyway (base-backup.ts).
// - One copy and one process fewer: the server's archive comes off the socket straight into the chunker.
// The output is the tar stream pg_basebackup --format=tar --pgdata=- writes, so stored backups are the same:
// the server's base archive up to its end-of-archive blocks (found by walking the member headers: a
// member's own content can end in zeros too), then a backup_manifest member, then the two zero blocks.
// Tablespaces outside the data directory (which pg_basebackup cannot write to one stream) come as archives
// of their own; their members go into the same stream under pg_tblspc/<oid>/, where the backup manifest
// lists them, in place of the base archive's pg_tblspc/<oid> symlink. Their locations are in `done`, for
// the restore to put each back where it belongs (or where it is mapped).
// Protocol (PostgreSQL 15 "new style", TARGET client): a result set with the start position, one with the
// tablespaces, then one COPY OUT whose CopyData messages start with a type byte: 'n' new archive (name and
// tablespace location, C strings), 'd' data, 'p' progress, 'm' the manifest follows; then a result set with
// the end position. Backpressure: the socket is paused while the consumer is behind.
import { Readable } from 'node:stream';
import type pg from 'pg';
import { closeClient, connectClient, describeConnection, quoteLiteral, type PgConnection } from '../connection';
import { newHeader, paddedSize, renamedHeader, TAR_BLOCK, TarWalker } from './tar-header';

export type BaseBackupStreamOptions = {
  label: string;
  checkpoint: 'fast' | 'spread';
  /** pg_basebackup's --max-rate syntax: kB/s, or with a k/M suffix ("32M"). */
  maxRate?: string;
  signal?: AbortSignal;
};

export type BackupTablespace = { oid: string; location: string };
export type BaseBackupPositions = { startLsn: string; endLsn: string; timeline: number; tablespaces: BackupTablespace[] };

export type BaseBackupStream = {
  /** The tar stream, as pg_basebackup --format=tar --pgdata=- writes it. */
  tar: Readable;
  /** Settles once the server has ended the backup: the end position, or why it failed. */
  done: Promise<BaseBackupPositions>;
  /** Ends the backup (the connection closes, the server aborts it); `tar` and `done` fail with `reason`. */
  stop: (reason: Error) => void;
};

export class ReplicationStreamError extends Error {
  name = 'ReplicationStreamError';
}

/** Bytes gathered before a push: the server sends CopyData messages of a few kB. */
const BLOCK = 256 * 1024;

export async function streamBaseBackup(conn: PgConnection, opts: BaseBackupStreamOptions): Promise<BaseBackupStream> {
  const text = commandText(opts); // a bad --max-rate fails before connecting
  const client = await connectClient(conn, conn.database, opts.signal, { replication: true }).catch((err: Error) => {
    throw new ReplicationStreamError(`${err.message} (a base backup needs a role with the REPLICATION attribute and a "replication" line in pg_hba.conf)`);
  });
  const query = new BaseBackupQuery(text, describeConnection(conn));
  const onAbort = () => query.fail(opts.signal!.reason as Error);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  client.query(query as unknown as pg.QueryConfig);
  const done = query.done.finally(async () => {
    opts.signal?.removeEventListener('abort', onAbort);
    await closeClient(client, conn, conn.database).catch(() => {});
  });
  done.catch(() => {});
  return { tar: query.tar, done, stop: (reason) => query.fail(reason) };
}

function commandText(opts: BaseBackupStreamOptions): string {
  const parts = [`LABEL ${quoteLiteral(opts.label)}`, `CHECKPOINT '${opts.checkpoint}'`, 'WAIT false', "MANIFEST 'yes'", "MANIFEST_CHECKSUMS 'CRC32C'"];
  if (opts.maxRate) parts.push(`MAX_RATE ${maxRateKb(opts.maxRate)}`);
  return `BASE_BACKUP (${parts.join(', ')})`;
}

/** "32M" -> 32768, "500k" -> 500, "800" -> 800 (kB/s, as pg_basebackup reads --max-rate). */
export function maxRateKb(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(text);
  const kb = m ? Number(m[1]) * (m[2]!.toLowerCase() === 'm' ? 1024 : 1) : NaN;
  if (!Number.isFinite(kb) || kb < 32 || kb > 1_048_576) throw new ReplicationStreamError(`--max-rate must be between 32 kB/s and 1 GB/s (e.g. 32M or 800k), got "${text}"`);
  return Math.round(kb);
}

type Message = { fields?: unknown[]; chunk?: Buffer; message?: string };
type Connection = { query(text: string): void; stream: { pause(): void; resume(): void } };

/** A pg "submittable": the client hands it the messages of the running command. */
class BaseBackupQuery {
  readonly tar: Readable;
  readonly done: Promise<BaseBackupPositions>;
  private resolve!: (p: BaseBackupPositions) => void;
  private reject!: (err: Error) => void;
  private connection: Connection | undefined;
  private readonly results: string[][][] = [];
  private rows: string[][] | null = null;
  /** Member names of the archive being read get this in front ('pg_tblspc/<oid>/' in a tablespace's). */
  private prefix = '';
  /** Tablespaces whose archives have come, in order. */
  private readonly received: BackupTablespace[] = [];
  /** Tablespaces the server announced (the result set before the archives), once read. */
  private announced: BackupTablespace[] | undefined;
  private inManifest = false;
  private readonly manifest: Buffer[] = [];
  private block = Buffer.allocUnsafe(BLOCK);
  /** The archive being read, walked member by member; what it forwards goes into `tar`. */
  private archive = this.walker();
  private fill = 0;
  private failed = false;

  constructor(readonly text: string, private readonly where: string) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.tar = new Readable({ read: () => this.connection?.stream.resume(), highWaterMark: 4 * BLOCK });
  }

  submit(connection: Connection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleRowDescription(): void {
    this.rows = [];
  }

  handleDataRow(msg: Message): void {
    this.rows?.push((msg.fields ?? []).map((f) => (f === null ? '' : String(f))));
  }

  /** Ends a result set (a command tag without rows before it, such as the COPY's, is not one). */
  handleCommandComplete(): void {
    if (this.rows) this.results.push(this.rows);
    this.rows = null;
  }

  handleCopyData(msg: Message): void {
    if (this.failed) return;
    const chunk = msg.chunk!;
    const type = String.fromCharCode(chunk[0]!);
    if (type === 'd') {
      if (this.inManifest) this.manifest.push(Buffer.from(chunk.subarray(1))); // the parser reuses its buffer
      else this.archive.feed(chunk.subarray(1));
    } else if (type === 'n') {
      this.startArchive(chunk.subarray(1));
    } else if (type === 'm') {
      this.inManifest = true;
    } else if (type !== 'p') {
      this.fail(new ReplicationStreamError(`unexpected message type "${type}" in the base backup stream of ${this.where}`));
    }
  }

  handleReadyForQuery(): void {
    if (this.failed) return;
    // Results: start position, tablespaces, end position (each a result set; COPY adds none).
    const end = this.results[2]?.[0];
    const start = this.results[0]?.[0];
    if (!start || !end || this.manifest.length === 0) {
      this.fail(new ReplicationStreamError(`the base backup of ${this.where} ended without ${!start || !end ? 'its start and end positions' : 'a backup manifest'}`));
      return;
    }
    this.finishTar();
    this.resolve({ startLsn: start[0]!, endLsn: end[0]!, timeline: Number(end[1]), tablespaces: this.received });
  }

  handleError(err: Error & Message): void {
    this.fail(new ReplicationStreamError(`the base backup of ${this.where} failed: ${err.message}`));
  }

  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  handleCopyInResponse(): void {
    this.fail(new ReplicationStreamError(`unexpected COPY IN from ${this.where}`));
  }

  fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.tar.destroy(err);
    this.reject(err);
    this.connection?.stream.resume();
    // Ending the connection makes the server abort the backup; the client's own end follows in `done`.
    (this.connection?.stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  }

  /** Tablespaces outside the data directory, from the result set before the archives: oid and location. */
  private tablespaces(): BackupTablespace[] {
    return (this.announced ??= (this.results[1] ?? []).filter((r) => (r[0] ?? '') !== '' && (r[1] ?? '') !== '').map((r) => ({ oid: r[0]!, location: r[1]! })));
  }

  /** A new archive: its name and tablespace location (empty for the data directory), C strings. */
  private startArchive(body: Buffer): void {
    const nul = body.indexOf(0);
    const name = body.subarray(0, nul).toString('utf8');
    const location = body.subarray(nul + 1, body.indexOf(0, nul + 1)).toString('utf8');
    this.archive = this.walker();
    if (location === '') {
      this.prefix = '';
      return;
    }
    const tablespace = this.tablespaces().find((t) => t.location === location);
    if (!tablespace || !/^\d+$/.test(tablespace.oid)) {
      this.fail(new ReplicationStreamError(`${this.where} sent archive "${name}" for tablespace location ${location}, which its tablespace list does not name`));
      return;
    }
    this.received.push(tablespace);
    this.prefix = `pg_tblspc/${tablespace.oid}/`;
    // The directory that stands for the tablespace, in place of the base archive's symlink to it.
    const mtime = Math.floor(Date.now() / 1000);
    if (this.received.length === 1) this.write(newHeader({ name: 'pg_tblspc/', type: '5', size: 0, mode: 0o700, mtime }));
    this.write(newHeader({ name: this.prefix, type: '5', size: 0, mode: 0o700, mtime }));
  }

  /**
   * Forwards an archive's members up to its end-of-archive block (dropped, with anything after it); member
   * headers are held until whole, so none is half forwarded.
   */
  private walker(): TarWalker {
    return new TarWalker({
      header: (h, member) => {
        const name = member.name.replace(/\/$/, '');
        // Dropped: the base archive's symlinks to tablespaces, and a tablespace archive's own root entry.
        const drop = this.prefix === '' ? member.type === '2' && this.tablespaces().some((t) => name === `pg_tblspc/${t.oid}`) : name === '' || name === '.';
        if (drop) return 'drop';
        this.write(this.prefix ? renamedHeader(h, this.prefix + member.name) : h);
      },
      body: (piece) => this.write(piece),
    });
  }

  private write(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(BLOCK - this.fill, data.length - off);
      data.copy(this.block, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === BLOCK) this.flush();
    }
  }

  private flush(): void {
    if (this.fill === 0) return;
    const full = this.fill === BLOCK ? this.block : this.block.subarray(0, this.fill);
    this.block = Buffer.allocUnsafe(BLOCK);
    this.fill = 0;
    if (!this.tar.push(full)) this.connection?.stream.pause();
  }

  /** The backup_manifest member and the end-of-archive blocks, as pg_basebackup appends them. */
  private finishTar(): void {
    this.flush();
    const manifest = Buffer.concat(this.manifest);
    const padded = Buffer.alloc(paddedSize(manifest.length));
    manifest.copy(padded);
    this.tar.push(newHeader({ name: 'backup_manifest', type: '0', size: manifest.length, mode: 0o600, mtime: Math.floor(Date.now() / 1000) })); // as PostgreSQL's tar writer makes it
    this.tar.push(padded);
    this.tar.push(Buffer.alloc(2 * TAR_BLOCK));
    this.tar.push(null);
  }
}
