// MySQL/MariaDB binary-log archiving from the command line (docs/mysql.md §7):
//   database binlog-push   rotates the server's binlog and archives every closed binlog file the repository lacks
// Point-in-time restores are `database restore --to-time T` (database.ts): the newest dump before T, then the
// archived binlogs replayed up to T.
import type { Command } from 'commander';
import type { GlobalOptions } from '../context';
import { openRepo } from '../context';
import { abortOnSignals } from '../interrupt';
import { emit } from '../output';
import { formatBytes } from '../progress';
import { mysqlConnectionFrom } from './database';

type PushFlags = { host?: string; port?: string; user?: string; socket?: string; dbPasswordFile?: string; sourceName: string; flush: boolean; tempDir?: string };

export function registerDatabaseBinlog(program: Command, globals: () => GlobalOptions) {
  const group = program.commands.find((c) => c.name() === 'database');
  if (!group) throw new Error('registerDatabaseBinlog: register the database group first');
  const push = group
    .command('binlog-push')
    .description('MySQL/MariaDB: rotate the binary log and archive every closed binlog file the repository lacks (run it every few minutes: that is the RPO of point-in-time restores)')
    .option('--source-name <name>', 'the source whose archive this is: the --source-name of its dumps', 'database')
    .option('--no-flush', 'do not rotate first (FLUSH BINARY LOGS): only files the server already closed are archived')
    .option('--temp-dir <dir>', 'parent of the private temp directory the binlog files pass through')
    .option('--host <host>', 'server host (default MYSQL_HOST)')
    .option('--port <port>', 'server port (default MYSQL_TCP_PORT, else 3306)')
    .option('--socket <file>', 'Unix socket file, instead of host and port (default MYSQL_UNIX_PORT when no host is given)')
    .option('--user <name>', 'user to connect as (default USER); needs RELOAD (for the rotation) and REPLICATION SLAVE / BINLOG MONITOR')
    .option('--db-password-file <file>', 'file holding the database password (default LIFEBOAT_DB_PASSWORD_FILE, else MYSQL_PWD, else ~/.my.cnf)');
  push.action(async (cmd: PushFlags) => {
    const opts = globals();
    const { pushBinlogs } = await import('../../../lib/sources/mysql/binlog');
    const { repo, close } = await openRepo(opts);
    const interrupt = abortOnSignals();
    try {
      const r = await pushBinlogs(repo, { connection: mysqlConnectionFrom(cmd, ''), source: cmd.sourceName, flush: cmd.flush, tempDir: cmd.tempDir, signal: interrupt.signal });
      const out = { ...r, newest: r.newest && { name: r.newest.name, time: r.newest.time.toISOString() } };
      emit(opts.json, out, () => [
        r.pushed.length ? `archived ${r.pushed.map((p) => p.name).join(', ')} (${formatBytes(r.pushed.reduce((n, p) => n + p.bytes, 0))}) from ${r.server}` : `nothing new to archive from ${r.server}`,
        `${r.alreadyArchived} closed binlog file(s) were archived already; newest archived ${r.newest?.name ?? 'none'}; the server writes ${r.current} now`,
      ]);
    } finally {
      interrupt.dispose();
      close();
    }
  });
}
