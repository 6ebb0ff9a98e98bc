// Point-in-time recovery of a PostgreSQL cluster into a new data directory.
// 1. The base backup's tar stream is read from the repository and unpacked in this process (content-check.ts,
//    tar-extract.ts: parallel writes, each file's CRC-32C taken as it passes; no temp file).
// 2. Every file is checked against the backup manifest (manifest-check.ts, from those checksums; with SHA
//    checksums pg_verifybackup reads the files again), before anything is changed.
// 3. Recovery settings go into postgresql.auto.conf between marker lines: restore_command runs
//    `lifeboat wal-fetch` with an environment file written into the data directory (mode 0600, owner the
//    server's OS user), the target (time, LSN, immediate or none for latest), recovery_target_action =
//    promote; archive_mode = off so a restored copy never archives into the production archive (its WAL
//    would collide with the original's timeline); recovery.signal starts archive recovery.
// 4. The server is started (pg_ctl, as the data directory's OS user: PostgreSQL refuses root) and watched
//    through pg_controldata until the cluster is "in production", i.e. recovery finished and it promoted.
//    The log says where recovery stopped; a FATAL (target not reached, a WAL file that fails to decrypt)
//    stops it and becomes the error. Then the recovery block, the environment file and the wal-fetch spool
//    are removed. Before the start, the spool gets the archive's listing and a prefetcher (wal-spool.mjs).
// On failure the server is stopped and a data directory this function created is removed again.
import { spawn, spawnSync } from 'node:child_process';
import { chown, mkdir, readdir, readFile, rm, writeFile, access, appendFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Snapshot } from '../../../repo/snapshot';
import type { BlobReader } from '../streams';
import { firstLines, runTool } from '../tool';
import { pgTool } from '../connection';
import type { BaseBackupEntry } from './format';
import { BaseBackupCheckError, unpackBaseBackup } from './content-check';
import { parseSegmentName, type ArchivedWal, type WalArchive } from './wal-archive';
import { prefetchSegments } from './wal-prefetch';
import type { RecoveryTarget } from './window';
import { SPOOL_DIR, previousSegmentName, restoreCommandFastPath, writeListing } from './wal-spool.mjs';
import { walRunFrom } from './window';
import { placeTablespaces, TablespaceError, type TablespacePlacement } from './tablespaces';

export type RecoverRepo = BlobReader;

export type RecoverProgress = {
  phase: 'restore' | 'verify' | 'recover' | 'done';
  bytesDone: number;
  bytesTotal: number;
  /** During recovery: WAL files restored from the archive so far, and the last one. */
  walFiles?: number;
  walFile?: string;
  /** Rough share of the WAL run replayed (0..1), when the run's end is known. */
  walFraction?: number;
};

export type RecoverOptions = {
  /** The new data directory: must not exist, or be empty. */
  dataDir: string;
  target: RecoveryTarget;
  /** With a time target: stop before (false) or after (true, default) a transaction committed exactly then. */
  inclusive?: boolean;
  /** The command line that runs lifeboat (argv), and the environment wal-fetch needs (repository, password). */
  walFetch: { command: string[]; env: Record<string, string> };
  /** OS user that owns the data directory and runs the server; default: `postgres` as root, else ourselves. */
  runAs?: string;
  port?: number;
  listenAddresses?: string;
  socketDir?: string;
  /**
   * A throwaway copy read by this process (recover-to-database.ts): no TCP listener, only the socket in
   * `socketDir` (which must be private), and that socket trusted (the server starts with its own hba_file), so
   * any role of the copy can be used without knowing its password.
   */
  privateTrust?: boolean;
  /** Keep the restored cluster's archive_mode as in the backup (default: set it off). */
  keepArchiving?: boolean;
  /** Tablespaces restored somewhere else than their original locations (old location -> new directory). */
  tablespaceMapping?: ReadonlyMap<string, string>;
  /** Start the server and wait for recovery to finish (default true); false leaves it ready to start. */
  start?: boolean;
  /** Check the restored files against the backup manifest with pg_verifybackup (default true). */
  verify?: boolean;
  /** Give up waiting for recovery after this long (default 4 h, the RTO target). */
  timeoutMs?: number;
  /** The archive listing: primes wal-fetch (files not listed are answered "not archived" at once) and reports progress. */
  wal?: readonly ArchivedWal[];
  /** The archive itself, to fetch the first segments while the base backup unpacks. */
  archive?: WalArchive;
  binDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: RecoverProgress) => void;
};

export type RecoverResult = {
  dataDir: string;
  baseBackup: string;
  started: boolean;
  /** From the server log: where recovery stopped ("before commit of transaction 740, time ..."), when known. */
  stoppedAt: string | null;
  lastTransactionTime: string | null;
  timeline: number | null;
  walFilesRestored: number;
  /** Where each tablespace outside the data directory was restored. */
  tablespaces: { oid: string; dir: string }[];
  seconds: number;
  logFile: string;
  /** Stops the server (pg_ctl stop -m fast). */
  stop: () => Promise<void>;
};

export class RecoverError extends Error {
  name = 'RecoverError';
}

const ENV_FILE = 'lifeboat-wal-fetch.env';
const TRUST_HBA_FILE = 'lifeboat-private-hba.conf';
const LOG_FILE = 'lifeboat-recovery.log';
const BEGIN = '# lifeboat recover: begin';
const END = '# lifeboat recover: end';
const KEEP = '# lifeboat recover: restored copy settings';
const POLL_MS = 250;

export async function recoverPostgres(repo: RecoverRepo, base: BaseBackupEntry, opts: RecoverOptions): Promise<RecoverResult> {
  const t0 = Date.now();
  const dataDir = resolve(opts.dataDir);
  const signal = opts.signal ?? new AbortController().signal;
  const runAs = opts.runAs ?? (process.getuid?.() === 0 ? 'postgres' : undefined);
  const owner = runAs ? osUser(runAs) : null;
  const tool = (name: Parameters<typeof runTool>[0], args: string[], what: string) => runTool(name, args, { binDir: opts.binDir, env: { ...process.env, LC_MESSAGES: 'C' }, what, signal, runAs });
  const meta = base.physical;
  const total = meta.bytes;
  const report = (p: Omit<RecoverProgress, 'bytesTotal'>) => opts.onProgress?.({ bytesTotal: total, ...p });
  const logFile = join(dataDir, LOG_FILE);

  const created = await prepareDataDir(dataDir, owner);
  let started = false;
  let tablespaces: TablespacePlacement | undefined;
  const stop = async () => {
    await tool('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop'], `the recovered cluster in ${dataDir}`).done;
  };
  try {
    tablespaces = await placeTablespaces(meta, opts.tablespaceMapping ?? new Map(), dataDir, owner);
    // 1. Unpack; meanwhile fetch the first WAL segments the server will ask for (the detached prefetcher
    // started later takes ~2 s to get going).
    const early = opts.start !== false && opts.archive && opts.wal
      ? prefetchSegments(opts.archive, join(dataDir, SPOOL_DIR), previousSegmentName(meta.startWal), 16 * 1024 * 1024, { count: 4, idleExitMs: 0 }).catch(() => null)
      : null;
    report({ phase: 'restore', bytesDone: 0 });
    let done = 0;
    // 2. Every file is checked against the manifest while unpacking, before anything is changed; those
    // checks stand for the per-blob hashes. A manifest with SHA checksums: pg_verifybackup reads the
    // files again.
    const unpacked = await unpackBaseBackup(repo, base.snapshot as Snapshot, meta, `base backup ${base.id.slice(0, 8)}`, dataDir, {
      owner,
      tablespaces: tablespaces.dirs,
      signal,
      verify: opts.verify,
      endToEnd: true,
      onBytes: (n) => {
        done += n;
        report({ phase: 'restore', bytesDone: done });
      },
    }).catch((err: unknown) => {
      throw err instanceof BaseBackupCheckError ? new RecoverError(err.message) : err;
    });
    if (meta.manifest && opts.verify !== false) {
      report({ phase: 'verify', bytesDone: done });
      if (!unpacked.manifestChecked) await tool('pg_verifybackup', ['--no-parse-wal', '--quiet', `--ignore=${SPOOL_DIR}`, dataDir], `checking ${dataDir} against its backup manifest`).done;
    }

    // 3. Recovery settings.
    await writeRecoveryConfig(dataDir, opts, owner);

    if (opts.start === false) {
      return { dataDir, baseBackup: base.id, started: false, stoppedAt: null, lastTransactionTime: null, timeline: null, walFilesRestored: 0, tablespaces: placed(tablespaces), seconds: (Date.now() - t0) / 1000, logFile, stop: async () => {} };
    }

    // 4. Prime the wal-fetch spool: the archive's listing (answers "not archived" without a lookup) and a
    // prefetcher already fetching from the backup's first segment, running as the server's user.
    await early;
    if (opts.wal) await primeSpool(dataDir, meta.startWal, opts, owner, runAs);

    // 5. Start and watch.
    const serverOptions = opts.privateTrust ? ['-o', `-c hba_file=${shQuote(join(dataDir, TRUST_HBA_FILE))}`] : [];
    await tool('pg_ctl', ['-D', dataDir, '-l', logFile, ...serverOptions, '-W', 'start'], `starting the recovered cluster in ${dataDir}`).done;
    started = true;
    const run = opts.wal ? walRunFrom(meta.startWal, opts.wal).run : null;
    const outcome = await waitForPromotion(dataDir, logFile, { ...opts, runAs }, (walFiles, walFile) => {
      let walFraction: number | undefined;
      if (run && walFile && /^[0-9A-F]{24}$/.test(walFile)) {
        const pos = (n: string) => parseSegmentName(n).log * 256 + parseSegmentName(n).seg;
        walFraction = Math.max(0, Math.min(1, (pos(walFile) - pos(run.firstSegment) + 1) / run.segments));
      }
      report({ phase: 'recover', bytesDone: done, walFiles, walFile, walFraction });
    });
    await removeRecoveryBlock(dataDir);
    await rm(join(dataDir, ENV_FILE), { force: true });
    // Stop the detached prefetcher (nothing will ask for WAL any more), then remove the spool; it may still be
    // writing into it: retry, and never fail a finished recovery over it.
    await readFile(join(dataDir, SPOOL_DIR, '.prefetch.pid'), 'utf8')
      .then((text) => {
        const pid = Number(text.trim());
        if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) process.kill(pid, 'SIGTERM'); // never 0: that is our own group
      })
      .catch(() => {});
    await rm(join(dataDir, SPOOL_DIR), { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => {});
    report({ phase: 'done', bytesDone: done, walFiles: outcome.walFilesRestored });
    return { dataDir, baseBackup: base.id, started: true, ...outcome, tablespaces: placed(tablespaces), seconds: (Date.now() - t0) / 1000, logFile, stop };
  } catch (err) {
    const log = started ? await readFile(logFile, 'utf8').catch(() => '') : '';
    if (started) await tool('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], 'stopping the failed recovery').done.catch(() => {});
    if (created) await rm(dataDir, { recursive: true, force: true }).catch(() => {});
    await tablespaces?.undo().catch(() => {});
    if (err instanceof TablespaceError) throw new RecoverError(err.message);
    if (signal.aborted) throw signal.reason;
    const fatal = fatalLines(log);
    if (fatal) throw new RecoverError(`recovery into ${dataDir} failed: ${fatal}${created ? ' (the data directory was removed)' : ''}`);
    throw err;
  }
}

export type OsUser = { name: string; uid: number; gid: number };

/**
 * The uid and gid of an OS user (the server's), or a RecoverError naming it: from /etc/passwd, else from
 * `getent passwd` (users of LDAP and other NSS sources). Spawning `id` twice cost ~40 ms of every recovery.
 */
export function osUser(name: string): OsUser {
  const entry = passwdEntry(readFileSafe('/etc/passwd'), name) ?? passwdEntry(spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout ?? '', name);
  if (!entry) throw new RecoverError(`OS user ${name} does not exist (it must own the restored data directory and run the server)`);
  return { name, ...entry };
}

/** uid and gid of `name` in passwd(5) lines. */
export function passwdEntry(text: string, name: string): { uid: number; gid: number } | null {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!)) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Creates the data directory (mode 0700, owned by the server's user); true when we created it. */
function placed(p: TablespacePlacement): { oid: string; dir: string }[] {
  return [...p.dirs].map(([oid, dir]) => ({ oid, dir }));
}

async function prepareDataDir(dataDir: string, owner: OsUser | null): Promise<boolean> {
  let existed = true;
  try {
    const entries = await readdir(dataDir);
    if (entries.length) throw new RecoverError(`the target data directory ${dataDir} is not empty: recover into a new or empty directory (nothing was changed)`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    existed = false;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (owner) await chown(dataDir, owner.uid, owner.gid);
  return !existed;
}

/** "2024-01-15 10:30:00.123+00": the timestamptz form recovery_target_time accepts (not ISO's T and Z). */
const pgTimestamp = (d: Date) => `${d.toISOString().replace('T', ' ').replace('Z', '')}+00`;
const confQuote = (v: string) => `'${v.replace(/'/g, "''")}'`;
const shQuote = (v: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

async function writeRecoveryConfig(dataDir: string, opts: RecoverOptions, owner: OsUser | null): Promise<void> {
  const own = async (file: string) => {
    if (owner) await chown(file, owner.uid, owner.gid);
  };
  // A Debian-style backup has its configuration outside the data directory: give the copy minimal files.
  for (const [name, text] of [
    ['postgresql.conf', '# written by lifeboat recover: the backed-up cluster kept its configuration outside the data directory\n'],
    ['pg_hba.conf', '# written by lifeboat recover\nlocal all all peer\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n'],
  ] as const) {
    const file = join(dataDir, name);
    if (!(await exists(file))) {
      await writeFile(file, text, { mode: 0o600 });
      await own(file);
    }
  }
  if (opts.privateTrust) {
    if (!opts.socketDir || opts.listenAddresses !== '') throw new RecoverError('a privately trusted copy needs its own socket directory and no TCP listener');
    const hba = join(dataDir, TRUST_HBA_FILE);
    await writeFile(hba, '# written by lifeboat: a throwaway copy reachable only through its private socket directory\nlocal all all trust\n', { mode: 0o600 });
    await own(hba);
  }
  const envFile = join(dataDir, ENV_FILE);
  const env = Object.entries(opts.walFetch.env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
  await writeFile(envFile, `# written by lifeboat recover for restore_command; removed when recovery finishes\n${env}\n`, { mode: 0o600 });
  await own(envFile);

  const restoreCommand = [restoreCommandFastPath(), ...opts.walFetch.command.map(shQuote), '--env-file', shQuote(envFile), 'wal-fetch', '%f', '%p'].join(' ');
  const target: string[] = [];
  if (opts.target.kind === 'time') target.push(`recovery_target_time = ${confQuote(pgTimestamp(opts.target.time))}`, `recovery_target_inclusive = ${opts.inclusive === false ? 'off' : 'on'}`);
  if (opts.target.kind === 'lsn') target.push(`recovery_target_lsn = ${confQuote(opts.target.lsn)}`, `recovery_target_inclusive = ${opts.inclusive === false ? 'off' : 'on'}`);
  if (opts.target.kind === 'immediate') target.push(`recovery_target = 'immediate'`);
  const keep: string[] = [];
  if (!opts.keepArchiving) keep.push(`archive_mode = 'off'`);
  if (opts.port) keep.push(`port = ${opts.port}`);
  if (opts.listenAddresses !== undefined) keep.push(`listen_addresses = ${confQuote(opts.listenAddresses)}`);
  if (opts.socketDir) keep.push(`unix_socket_directories = ${confQuote(opts.socketDir)}`);
  const block = [
    ...(keep.length ? [KEEP, ...keep] : []),
    BEGIN,
    `restore_command = ${confQuote(restoreCommand)}`,
    ...target,
    `recovery_target_timeline = 'latest'`,
    `recovery_target_action = 'promote'`,
    // The end of recovery is read from the log: keep its messages untranslated while recovering.
    `lc_messages = 'C'`,
    END,
    '',
  ].join('\n');
  const auto = join(dataDir, 'postgresql.auto.conf');
  await appendFile(auto, `\n${block}`, { mode: 0o600 });
  await own(auto);
  const signalFile = join(dataDir, 'recovery.signal');
  await writeFile(signalFile, '', { mode: 0o600 });
  await own(signalFile);
}

async function removeRecoveryBlock(dataDir: string): Promise<void> {
  const auto = join(dataDir, 'postgresql.auto.conf');
  const text = await readFile(auto, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return;
  // Rewritten in place (same inode, owner and mode): PostgreSQL only reads recovery settings at start-up.
  await writeFile(auto, text.slice(0, start) + text.slice(end + END.length + 1));
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function primeSpool(dataDir: string, startWal: string, opts: RecoverOptions, owner: OsUser | null, runAs: string | undefined): Promise<void> {
  const spool = join(dataDir, SPOOL_DIR);
  writeListing(spool, opts.wal!.map((w) => w.name));
  if (owner) for (const p of [spool, ...(await readdir(spool)).map((f) => join(spool, f))]) await chown(p, owner.uid, owner.gid);
  const segmentSize = controlState(dataDir, { ...opts, runAs }).segmentSize ?? 16 * 1024 * 1024;
  const argv = [...opts.walFetch.command, '--env-file', join(dataDir, ENV_FILE), 'wal-prefetch', '--after', previousSegmentName(startWal, segmentSize), '--segment-size', String(segmentSize)];
  const [file, args] = runAs ? ['runuser', ['-u', runAs, '--', ...argv]] : [argv[0]!, argv.slice(1)];
  const child = spawn(file, args, { cwd: dataDir, detached: true, stdio: 'ignore' });
  child.on('error', () => {});
  child.unref();
}

type Outcome = { stoppedAt: string | null; lastTransactionTime: string | null; timeline: number | null; walFilesRestored: number };

/** Polls pg_controldata until the cluster is in production; fails when the postmaster dies or time runs out. */
async function waitForPromotion(dataDir: string, logFile: string, opts: RecoverOptions, progress: (walFiles: number, walFile?: string) => void): Promise<Outcome> {
  const deadline = Date.now() + (opts.timeoutMs ?? 4 * 3600_000);
  const signal = opts.signal;
  let lastRestored = 0;
  let seenRunning = false;
  const startedAt = Date.now();
  for (;;) {
    signal?.throwIfAborted();
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const restored = [...log.matchAll(/restored log file "([^"]+)" from archive/g)];
    if (restored.length !== lastRestored) {
      lastRestored = restored.length;
      progress(restored.length, restored[restored.length - 1]?.[1]);
    }
    // pg_control of a backup taken from a primary already says "in production": the log tells that this
    // start-up's archive recovery ended (and the promotion that follows it) before the state counts.
    const finished = /archive recovery complete/.test(log) && /database system is ready to accept connections/.test(log.slice(log.search(/archive recovery complete/)));
    const state = finished ? controlState(dataDir, opts) : null;
    if (state?.state === 'in production') {
      return {
        stoppedAt: /recovery stopping (.*)$/m.exec(log)?.[1]?.trim() ?? null,
        lastTransactionTime: /last completed transaction was at log time (.*)$/m.exec(log)?.[1]?.trim() ?? null,
        timeline: state.timeline,
        walFilesRestored: restored.length,
      };
    }
    const running = await exists(join(dataDir, 'postmaster.pid'));
    seenRunning ||= running;
    if (!running && (seenRunning || Date.now() - startedAt > 15_000)) {
      // Not running (any more): give the log a moment to be complete, then report its FATAL lines.
      await new Promise((r) => setTimeout(r, 200));
      const finalLog = await readFile(logFile, 'utf8').catch(() => '');
      throw new RecoverError(`the recovered server in ${dataDir} stopped before recovery finished: ${fatalLines(finalLog) || firstLines(finalLog.split('\n').slice(-8).join('\n'))} (log: ${logFile})`);
    }
    if (Date.now() > deadline) throw new RecoverError(`recovery in ${dataDir} did not finish within ${Math.round((opts.timeoutMs ?? 4 * 3600_000) / 60_000)} minutes (log: ${logFile})`);
    // Every 50 ms at first (a short recovery is over in well under a second; each poll is part of the
    // RTO), every POLL_MS once it runs longer.
    await new Promise((r) => setTimeout(r, Date.now() - startedAt < 5000 ? 50 : POLL_MS));
  }
}

/** pg_controldata's cluster state ("in archive recovery", "in production") and timeline; quick, so run synchronously. */
function controlState(dataDir: string, opts: Pick<RecoverOptions, 'binDir' | 'runAs'>): { state: string | null; timeline: number | null; segmentSize: number | null } {
  const cmd = pgTool('pg_controldata', opts.binDir);
  const [file, args] = opts.runAs ? ['runuser', ['-u', opts.runAs, '--', cmd, '-D', dataDir]] : [cmd, ['-D', dataDir]];
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) return { state: null, timeline: null, segmentSize: null };
  const state = /^Database cluster state:\s+(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? null;
  const tl = /^Latest checkpoint's TimeLineID:\s+(\d+)$/m.exec(r.stdout)?.[1];
  const seg = /^Bytes per WAL segment:\s+(\d+)$/m.exec(r.stdout)?.[1];
  return { state, timeline: tl ? Number(tl) : null, segmentSize: seg ? Number(seg) : null };
}

/** The server log's FATAL/PANIC lines, joined. */
function fatalLines(log: string): string {
  return log
    .split('\n')
    .filter((l) => /\b(FATAL|PANIC):/.test(l))
    .slice(-4)
    .map((l) => l.replace(/^.*?\b(FATAL|PANIC):\s*/, '$1: ').trim())
    .join(' | ');
}
