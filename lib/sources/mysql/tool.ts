// Runs one MySQL/MariaDB client program (mariadb-dump or mysqldump, mariadb or mysql) as a child with pipes.
// Program lookup: `binDir` when given, else $LIFEBOAT_MYSQL_BIN, else PATH; the MariaDB name first, then the
// MySQL one (Debian's mariadb-client has both; MySQL installs only the latter).
// Guarantees: argv never holds a password (connection.ts's option file does); `done` settles once the child
// exited and its stderr is read, rejecting with a MysqlToolError naming the program, `what` and the first
// stderr lines on a non-zero exit, a signal or a failed start; an abort or kill() terminates the child
// (SIGTERM, SIGKILL after 5 s) and `done` rejects with the abort reason. stderr is kept up to a bound.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { firstLines } from '../postgres/tool';

export type MysqlToolKind = 'dump' | 'client';
const NAMES: Record<MysqlToolKind, string[]> = { dump: ['mariadb-dump', 'mysqldump'], client: ['mariadb', 'mysql'] };
const STDERR_KEEP = 16 * 1024;

/** A client program that failed; `stderr` holds what it printed (bounded). */
export class MysqlToolError extends Error {
  name = 'MysqlToolError';
  constructor(message: string, readonly tool: string, readonly exitCode: number | null, readonly stderr: string) {
    super(message);
  }
}

/** Absolute path of the program of that kind, or a MysqlToolError saying what to install. */
export function findTool(kind: MysqlToolKind, binDir?: string): string {
  const dirs = binDir ? [binDir] : process.env.LIFEBOAT_MYSQL_BIN ? [process.env.LIFEBOAT_MYSQL_BIN] : (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of NAMES[kind]) {
    for (const dir of dirs) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        /* next */
      }
    }
  }
  throw new MysqlToolError(`neither ${NAMES[kind].join(' nor ')} was found in ${binDir ?? process.env.LIFEBOAT_MYSQL_BIN ?? 'PATH'} (install the MariaDB or MySQL client, e.g. apt-get install mariadb-client, or set LIFEBOAT_MYSQL_BIN)`, NAMES[kind][0]!, null, '');
}

export type RunningMysqlTool = { stdin: Writable; stdout: Readable; done: Promise<void>; stderr(): string; kill(): void };

export function runMysqlTool(program: string, args: string[], opts: { what: string; signal?: AbortSignal }): RunningMysqlTool {
  const name = program.split('/').pop()!;
  const child = spawn(program, args, { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (err.length < STDERR_KEEP) err += s.slice(0, STDERR_KEEP - err.length);
  });
  child.stdin.on('error', () => {}); // EPIPE when it exits early: its exit status says why
  let timer: NodeJS.Timeout | undefined;
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    timer ??= setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  };
  opts.signal?.addEventListener('abort', kill, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    let startError: Error | undefined;
    child.once('error', (e) => (startError = e));
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      if (startError) return reject(new MysqlToolError(`${name} for ${opts.what} could not be started: ${startError.message}`, name, null, ''));
      if (code === 0) return resolve();
      const lines = firstLines(err);
      reject(new MysqlToolError(`${name} for ${opts.what} ${code === null ? `was killed by ${sig}` : `failed with exit code ${code}`}${lines ? `: ${lines}` : ''}`, name, code, err));
    });
  });
  done.catch(() => {});
  return { stdin: child.stdin, stdout: child.stdout, done, stderr: () => err, kill };
}

/** The program's `--version` line. */
export async function toolVersion(program: string, signal?: AbortSignal): Promise<string> {
  const t = runMysqlTool(program, ['--version'], { what: 'its version', signal });
  let out = '';
  t.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await t.done;
  return out.trim();
}
