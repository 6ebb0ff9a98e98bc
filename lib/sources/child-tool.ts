// Runs one external program of a database source (pg_dump, pg_basebackup, tar, mariadb-dump...) as a child
// with pipes. Guarantees: `done` settles once the child has exited and its stderr is read, rejecting with the
// caller's error (makeError) naming the program, `what` (e.g. "database app") and the first lines of stderr on
// a non-zero exit, a signal or a failed start; an abort, or kill(), terminates the child (SIGTERM, SIGKILL
// after 5 s) and `done` rejects with the abort reason. stderr is kept up to a bound, so a chatty child
// cannot grow memory. Passwords never go in argv: the engines pass them in the environment or a 0600 file.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

const STDERR_KEEP = 16 * 1024;
const STDERR_LINES_SHOWN = 8;
const KILL_AFTER_MS = 5000;

export type RunningTool = {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  stdin: Writable;
  stdout: Readable;
  /** Resolves when the child exited with status 0; see the module comment for rejections. */
  done: Promise<void>;
  /** Everything on stderr so far (bounded). */
  stderr(): string;
  kill(): void;
};

export type SpawnToolOptions = {
  env: NodeJS.ProcessEnv;
  /** What the program works on, for messages: "database app", "globals". */
  what: string;
  signal?: AbortSignal;
  /** Run as this OS user (through runuser; we must be root): the PostgreSQL server programs refuse root. */
  runAs?: string;
  /** The program's name in messages (default: the last part of its path). */
  name?: string;
  /** Added to the message when the program could not be started (e.g. what to install). */
  startHint?: string;
  makeError(message: string, exitCode: number | null, stderr: string): Error;
};

export function spawnTool(program: string, args: string[], opts: SpawnToolOptions): RunningTool {
  const name = opts.name ?? program.split('/').pop()!;
  const [file, argv] = opts.runAs ? ['runuser', ['-u', opts.runAs, '--', program, ...args]] : [program, args];
  const child = spawn(file, argv, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (err.length < STDERR_KEEP) err += s.slice(0, STDERR_KEEP - err.length);
  });
  // EPIPE when the child exits before reading all its input: the exit status tells what happened.
  child.stdin.on('error', () => {});
  let killTimer: NodeJS.Timeout | undefined;
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
  };
  opts.signal?.addEventListener('abort', kill, { once: true });

  const done = new Promise<void>((resolve, reject) => {
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    child.once('close', (code, sig) => {
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', kill);
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      if (spawnError) {
        const hint = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' && opts.startHint ? ` (${opts.startHint})` : '';
        return reject(opts.makeError(`${name} for ${opts.what} could not be started: ${spawnError.message}${hint}`, null, ''));
      }
      if (code === 0) return resolve();
      const lines = firstLines(err);
      const status = code === null ? `was killed by ${sig}` : `failed with exit code ${code}`;
      reject(opts.makeError(`${name} for ${opts.what} ${status}${lines ? `: ${lines}` : ''}`, code, err));
    });
  });
  done.catch(() => {}); // callers await it; never an unhandled rejection while they are busy elsewhere
  return { child, stdin: child.stdin, stdout: child.stdout, done, stderr: () => err, kill };
}

/** The first meaningful stderr lines, joined with " | ". */
export function firstLines(stderr: string, n = STDERR_LINES_SHOWN): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, n)
    .join(' | ');
}
