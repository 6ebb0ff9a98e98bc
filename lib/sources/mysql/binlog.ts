// Binary-log archiving and point-in-time replay for MySQL/MariaDB sources (docs/mysql.md §7).
// - pushBinlogs: rotates the server's binary log (FLUSH BINARY LOGS, unless told not to), then copies every
//   closed binlog file the archive lacks with `mariadb-binlog --read-from-remote-server --raw` into a private
//   temp directory and archives it (binlog-archive.ts). Run it from cron or a timer: how often is the RPO.
// - replayBinlogs: after a dump was restored, replays the archived binlogs from the dump's recorded position up
//   to a moment into the restored database: `mariadb-binlog --start-position --stop-datetime --database
//   [--rewrite-db]` piped into the `mariadb` client, every event of that database and no other.
// The password reaches the programs only through a private option file (connection.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../../blob';
import type { MasterKey } from '../../repo/crypto/master-key';
import { BinlogArchive, BinlogArchiveError, replayFiles, type ArchivedBinlog } from './binlog-archive';
import { clientDefaults, closeSession, connectSession, describeConnection, quoteIdent, rowsOf, toolArgs, type MysqlConnection } from './connection';
import type { BinlogPosition } from './format';
import { findTool, runMysqlTool } from './tool';
import { writeAll } from '../postgres/streams';

export type BinlogRepo = { store: BlobStore; masterKey: MasterKey; config: { compression: { level: number } } };

export type BinlogPushOptions = {
  connection: MysqlConnection;
  /** The source whose archive this is (the dumps' --source-name). */
  source: string;
  /** FLUSH BINARY LOGS first, so what was written until now is in a closed file (default true). */
  flush?: boolean;
  tempDir?: string;
  binDir?: string;
  signal?: AbortSignal;
};

export type BinlogPushResult = {
  server: string;
  /** Files archived by this run, in order. */
  pushed: { name: string; bytes: number }[];
  alreadyArchived: number;
  /** The file the server is writing now (archived by a later run). */
  current: string;
  newest: ArchivedBinlog | null;
};

export async function pushBinlogs(repo: BinlogRepo, opts: BinlogPushOptions): Promise<BinlogPushResult> {
  const { connection: c, signal } = opts;
  const archive = new BinlogArchive(repo.store, repo.masterKey, opts.source, repo.config.compression.level);
  const session = await connectSession(c, null, signal);
  let logs: { Log_name: string; File_size: number | string }[];
  try {
    const [on] = await rowsOf<{ v: number | string }>(session, 'SELECT @@GLOBAL.log_bin AS v');
    if (Number(on?.v) !== 1) throw new BinlogArchiveError(`binary logging is off on ${describeConnection(c, null)}: start the server with log_bin (and a server_id) to archive binlogs`);
    if (opts.flush !== false) await session.query('FLUSH BINARY LOGS');
    logs = await rowsOf(session, 'SHOW BINARY LOGS');
  } finally {
    await closeSession(session, c);
  }
  if (logs.length === 0) throw new BinlogArchiveError(`${describeConnection(c, null)} lists no binary logs`);
  const closed = logs.slice(0, -1).map((l) => l.Log_name);
  const have = new Set((await archive.list(signal)).map((f) => f.name));
  const todo = closed.filter((name) => !have.has(name));
  const pushed: BinlogPushResult['pushed'] = [];
  if (todo.length) {
    const dir = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'lifeboat-binlog-'));
    const defaults = await clientDefaults(c, opts.tempDir);
    try {
      const args = [...defaults.args, '--read-from-remote-server', '--raw', `--result-file=${dir}/`, ...toolArgs(c), ...todo];
      const tool = runMysqlTool(findTool('binlog', opts.binDir), args, { what: `binary logs ${todo[0]}..${todo[todo.length - 1]} of ${describeConnection(c, null)}`, signal });
      tool.stdout.resume();
      await tool.done;
      for (const name of todo) {
        const data = await readFile(join(dir, name));
        await archive.push(name, data, signal);
        pushed.push({ name, bytes: data.length });
        await rm(join(dir, name), { force: true });
      }
    } finally {
      await defaults.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const listed = await archive.list(signal);
  return { server: describeConnection(c, null), pushed, alreadyArchived: closed.length - todo.length, current: logs[logs.length - 1]!.Log_name, newest: listed.at(-1) ?? null };
}

export type BinlogReplayOptions = {
  /** The server holding the restored database. */
  connection: MysqlConnection;
  /** The database's name in the binlogs (the backed-up one) and where its events go. */
  sourceDatabase: string;
  targetDatabase: string;
  tempDir?: string;
  binDir?: string;
  signal?: AbortSignal;
};

export type BinlogReplayResult = { files: string[]; bytes: number; seconds: number; archivedUntil: string };

/** "2024-01-15 10:30:01" in UTC: the second after `t`, which mariadb-binlog's --stop-datetime excludes. */
function stopDatetime(t: Date): string {
  const next = new Date((Math.floor(t.getTime() / 1000) + 1) * 1000);
  return next.toISOString().replace('T', ' ').slice(0, 19);
}

export type ReplayPlan = { archive: BinlogArchive; start: BinlogPosition; stopTime: Date; files: ArchivedBinlog[]; archivedUntil: string };

/**
 * What a replay from `start` to `stopTime` needs, checked before anything is restored: the archive must hold
 * the start file and every later one without a gap, up to a file archived (closed) after the moment.
 */
export async function planReplay(archive: BinlogArchive, start: BinlogPosition, stopTime: Date, signal?: AbortSignal): Promise<ReplayPlan> {
  const run = replayFiles(await archive.list(signal), start.file);
  const last = run[run.length - 1]!;
  if (last.time.getTime() < stopTime.getTime()) {
    throw new BinlogArchiveError(`the binlog archive of source ${archive.source} reaches only to about ${last.time.toISOString()} (newest archived file ${last.name}): archive more with \`lifeboat database binlog-push\`, or choose an earlier time`);
  }
  // Files closed (archived) before the moment hold only earlier events; the first one closed after it is the last needed.
  const files = run.slice(0, run.findIndex((f) => f.time.getTime() >= stopTime.getTime()) + 1);
  return { archive, start, stopTime, files, archivedUntil: last.time.toISOString() };
}

export async function replayBinlogs(plan: ReplayPlan, opts: BinlogReplayOptions): Promise<BinlogReplayResult> {
  const started = Date.now();
  const { signal, connection: c } = opts;
  const { archive, files: needed } = plan;
  const dir = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'lifeboat-binlog-'));
  const defaults = await clientDefaults(c, opts.tempDir);
  try {
    let bytes = 0;
    const paths: string[] = [];
    for (const f of needed) {
      const data = await archive.fetch(f.name, signal);
      if (!data) throw new BinlogArchiveError(`${f.name} vanished from the binlog archive of source ${archive.source}`);
      const path = join(dir, f.name);
      await writeFile(path, data, { mode: 0o600, flag: 'wx' });
      paths.push(path);
      bytes += data.length;
    }
    // --database filters by the name in the log (mariadb-binlog applies it before --rewrite-db), by default database for statements.
    const rename = opts.sourceDatabase === opts.targetDatabase ? [] : [`--rewrite-db=${opts.sourceDatabase}->${opts.targetDatabase}`];
    const decode = runMysqlTool(
      findTool('binlog', opts.binDir),
      [`--start-position=${plan.start.position}`, `--stop-datetime=${stopDatetime(plan.stopTime)}`, ...rename, `--database=${opts.sourceDatabase}`, ...paths],
      { what: `binary logs ${needed[0]!.name}..${needed[needed.length - 1]!.name}`, signal, env: { TZ: 'UTC' } },
    );
    const apply = runMysqlTool(findTool('client', opts.binDir), [...defaults.args, ...toolArgs(c), `--database=${opts.targetDatabase}`], { what: `replaying binary logs into ${describeConnection(c, opts.targetDatabase)}`, signal });
    apply.stdout.resume();
    try {
      await writeAll(decode.stdout, apply.stdin, apply.done, () => {});
      await Promise.all([decode.done, apply.done]);
    } catch (err) {
      decode.kill();
      apply.kill();
      throw err;
    }
    return { files: needed.map((f) => f.name), bytes, seconds: (Date.now() - started) / 1000, archivedUntil: plan.archivedUntil };
  } finally {
    await defaults.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Drops a database this restore created (a point-in-time restore whose replay failed). */
export async function dropCreatedDatabase(c: MysqlConnection, name: string): Promise<void> {
  const session = await connectSession(c, null);
  try {
    await session.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  } finally {
    await closeSession(session, c);
  }
}

export { BinlogArchive, BinlogArchiveError } from './binlog-archive';
