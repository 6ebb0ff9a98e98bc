// Point-in-time recovery of ONE database into a staging server (the console's "restore to a point in time"):
// 0. A target database that exists already is refused before anything else (the copy checks again).
// 1. The cluster is recovered (recover.ts: base backup + archived WAL up to the target) into a private scratch
//    directory, started with no TCP listener, only a Unix socket inside that directory, trusted there.
// 2. The wanted database is copied from it into a NEW database on the staging server (../copy.ts: pg_dump |
//    pg_restore, then row counts and checksums compared with the recovered copy, and the smoke queries).
// 3. The scratch cluster is stopped and its directory removed, whatever happened.
// Why not keep the recovered cluster: it runs on the worker's machine, on no port anyone manages; the staging
// server is where people look, and the rest of the console already knows how to reach it.
import { randomInt } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeClient, connectClient, type PgConnection } from '../connection';
import { assertNewDatabase, copyPostgresDatabase, type CopyDatabaseResult, type CopyProgress } from '../copy';
import type { BaseBackupEntry } from './format';
import { osUser, recoverPostgres, type RecoverOptions, type RecoverProgress, type RecoverRepo } from './recover';

export type RecoverToDatabaseOptions = Pick<RecoverOptions, 'target' | 'inclusive' | 'walFetch' | 'verify' | 'timeoutMs' | 'wal' | 'archive' | 'binDir' | 'signal'> & {
  /** Parent of the scratch directory (default: the OS temp dir); it needs room for the whole cluster. */
  scratchParent?: string;
  /** A role of the backed-up cluster (e.g. the source's user); only used to look up its bootstrap superuser. */
  role: string;
  /** The database of the recovered cluster to copy. */
  database: string;
  /** The staging server; `to.database` is its maintenance database. */
  to: PgConnection;
  targetDatabase: string;
  smokeQueries?: string[];
  onProgress?: (p: RecoverProgress | CopyProgress) => void;
};

export type RecoverToDatabaseResult = {
  baseBackup: string;
  stoppedAt: string | null;
  lastTransactionTime: string | null;
  timeline: number | null;
  walFilesRestored: number;
  recoverySeconds: number;
  copy: CopyDatabaseResult;
  seconds: number;
};

export async function recoverToDatabase(repo: RecoverRepo, base: BaseBackupEntry, opts: RecoverToDatabaseOptions): Promise<RecoverToDatabaseResult> {
  const started = Date.now();
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  await assertNewDatabase(opts.to, opts.targetDatabase, opts.signal);
  const scratch = await mkdtemp(join(opts.scratchParent ?? tmpdir(), 'lifeboat-pitr-scratch-'));
  let stop: (() => Promise<void>) | undefined;
  try {
    if (runAs) {
      const owner = osUser(runAs);
      await chown(scratch, owner.uid, owner.gid);
    }
    // No TCP listener: the port only names the socket file (and seeds the shared memory key), so any will do.
    const port = randomInt(20_000, 60_000);
    const recovered = await recoverPostgres(repo, base, {
      ...opts,
      dataDir: join(scratch, 'data'),
      // Tablespaces go into the scratch directory too: their original locations belong to the original.
      tablespaceMapping: new Map((base.physical.tablespaces ?? []).map((t) => [resolve(t.location), join(scratch, 'tablespaces', t.oid)])),
      runAs,
      port,
      listenAddresses: '',
      socketDir: scratch,
      privateTrust: true,
      onProgress: opts.onProgress,
    });
    stop = recovered.stop;
    const local: PgConnection = { host: scratch, port, user: opts.role, database: opts.database };
    const superuser = await bootstrapSuperuser(local, opts.signal);
    const copy = await copyPostgresDatabase({
      from: { ...local, user: superuser },
      database: opts.database,
      to: opts.to,
      targetDatabase: opts.targetDatabase,
      smokeQueries: opts.smokeQueries,
      binDir: opts.binDir,
      signal: opts.signal,
      onProgress: opts.onProgress,
    });
    return {
      baseBackup: recovered.baseBackup,
      stoppedAt: recovered.stoppedAt,
      lastTransactionTime: recovered.lastTransactionTime,
      timeline: recovered.timeline,
      walFilesRestored: recovered.walFilesRestored,
      recoverySeconds: recovered.seconds,
      copy,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await stop?.().catch(() => {});
    await rm(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(() => {});
  }
}

/** The cluster's bootstrap superuser (role oid 10, usually "postgres"): it may read every table. */
async function bootstrapSuperuser(c: PgConnection, signal?: AbortSignal): Promise<string> {
  const client = await connectClient(c, c.database, signal);
  try {
    return (await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE oid = 10')).rows[0]!.rolname;
  } finally {
    await closeClient(client, c, c.database);
  }
}
