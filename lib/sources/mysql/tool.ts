// Runs one MySQL/MariaDB client program (mariadb-dump or mysqldump, mariadb or mysql) as a child with pipes.
// Program lookup: `binDir` when given, else $LIFEBOAT_MYSQL_BIN, else PATH; the MariaDB name first, then the
// MySQL one (Debian's mariadb-client has both; MySQL installs only the latter).
// Guarantees: those of ../child-tool.ts, failures being MysqlToolErrors; argv never holds a password
// (connection.ts's option file does).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnTool, type RunningTool } from '../child-tool';

export type MysqlToolKind = 'dump' | 'client' | 'binlog';
const NAMES: Record<MysqlToolKind, string[]> = { dump: ['mariadb-dump', 'mysqldump'], client: ['mariadb', 'mysql'], binlog: ['mariadb-binlog', 'mysqlbinlog'] };

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

export type RunningMysqlTool = RunningTool;

/** `env` adds to ours (mariadb-binlog reads --stop-datetime in the local zone: TZ=UTC). */
export function runMysqlTool(program: string, args: string[], opts: { what: string; signal?: AbortSignal; env?: Record<string, string> }): RunningMysqlTool {
  return spawnTool(program, args, { ...opts, env: { ...process.env, LC_ALL: 'C', ...opts.env }, makeError: (message, code, stderr) => new MysqlToolError(message, program.split('/').pop()!, code, stderr) });
}

/** The program's `--version` line. */
export async function toolVersion(program: string, signal?: AbortSignal): Promise<string> {
  const t = runMysqlTool(program, ['--version'], { what: 'its version', signal });
  let out = '';
  t.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await t.done;
  return out.trim();
}
