// How the MySQL/MariaDB source reaches a server: connection settings, `mysql2` sessions for its own queries,
// and the private option file that hands the password to the client programs (tool.ts).
// Guarantees: the password travels only in the `mysql2` session's memory and in a `--defaults-extra-file`
// written 0600 inside a fresh 0700 temp directory that is removed afterwards; never in argv (visible to every
// user in `ps`), error messages or logs. MYSQL_PWD is not used for it: MySQL 8 deprecates it and it is
// inherited by everything the child starts. Every connection failure becomes a MysqlConnectionError naming
// user@host:port/database. Both the programs and `mysql2` reach the same server: over TCP (the programs get
// --protocol=TCP) unless a socket is given, when both use that socket.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';

/** Where a MySQL/MariaDB server is and who to connect as. */
export type MysqlConnection = {
  /** Host name or address (default "localhost", reached over TCP). */
  host?: string;
  port?: number;
  /** Unix socket path: used instead of host/port when given. */
  socket?: string;
  /** Default: the OS user name (as the mariadb client does). */
  user?: string;
  /** Given to the programs in a private option file only; without it their usual sources apply (~/.my.cnf, MYSQL_PWD). */
  password?: string;
  /** A database name, or "all" for a backup of every non-system database. */
  database: string;
};

export type MysqlSession = mysql.Connection;

/** A server that cannot be reached or refused us (the message names user, host, port and database). */
export class MysqlConnectionError extends Error {
  name = 'MysqlConnectionError';
}

export const DEFAULT_PORT = 3306;
/** Databases that belong to the server, never dumped by "all" nor restored into. */
export const SYSTEM_DATABASES = ['information_schema', 'performance_schema', 'mysql', 'sys'];

const userOf = (c: MysqlConnection) => c.user ?? userInfo().username;

/** "app@127.0.0.1:3306/shop" or "app@/run/mysqld/mysqld.sock/shop" (never the password). */
export function describeConnection(c: MysqlConnection, database: string | null = c.database): string {
  const where = c.socket ? c.socket : `${c.host ?? 'localhost'}:${c.port ?? DEFAULT_PORT}`;
  return `${userOf(c)}@${where}${database ? `/${database}` : ''}`;
}

/** Connection arguments for mariadb-dump / mariadb (after the --defaults-extra-file one). */
export function toolArgs(c: MysqlConnection): string[] {
  const args = c.socket ? [`--socket=${c.socket}`, '--protocol=SOCKET'] : [`--host=${c.host ?? 'localhost'}`, `--port=${c.port ?? DEFAULT_PORT}`, '--protocol=TCP'];
  return [...args, `--user=${userOf(c)}`];
}

/**
 * Session settings under which the manifest's row text is the same on every connection: TIMESTAMP values in
 * UTC (mariadb-dump writes them in UTC too), no statement time limit.
 */
const SESSION_SETUP = ["SET SESSION time_zone = '+00:00'", 'SET SESSION max_statement_time = 0'];

/** Opens a `mysql2` session (to `database`, or none), failing with a MysqlConnectionError naming it. */
export async function connectSession(c: MysqlConnection, database: string | null, signal?: AbortSignal): Promise<MysqlSession> {
  signal?.throwIfAborted();
  let session: MysqlSession;
  try {
    // Loaded on first use: every CLI command would otherwise pay for it.
    const { createConnection } = (await import('mysql2/promise')).default;
    session = await createConnection({
      host: c.socket ? undefined : (c.host ?? 'localhost'),
      port: c.socket ? undefined : (c.port ?? DEFAULT_PORT),
      socketPath: c.socket,
      user: userOf(c),
      password: c.password,
      database: database ?? undefined,
      charset: 'utf8mb4',
      connectTimeout: 15_000,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
    });
  } catch (err) {
    throw new MysqlConnectionError(`cannot connect to MySQL/MariaDB as ${describeConnection(c, database)}: ${(err as Error).message}`);
  }
  session.on('error', () => {}); // a dropped connection surfaces through the pending query instead
  for (const q of SESSION_SETUP) await session.query(q).catch(() => {}); // max_statement_time is MariaDB-only
  return session;
}

/**
 * Ends a session; when a query may still be running (an abort), first kills that query from a second
 * connection, so the server stops scanning for nobody.
 */
export async function closeSession(session: MysqlSession, c: MysqlConnection, cancelRunning = false): Promise<void> {
  if (cancelRunning && session.threadId) {
    const admin = await connectSession(c, null).catch(() => null);
    await admin?.query(`KILL QUERY ${Number(session.threadId)}`).catch(() => {});
    await admin?.end().catch(() => {});
  }
  await Promise.race([session.end().catch(() => session.destroy()), new Promise((r) => setTimeout(r, 5000).unref())]);
  session.destroy();
}

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** One query's rows as plain objects. */
export async function rowsOf<T>(session: MysqlSession, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await session.query(sql, params);
  return rows as T[];
}

/** A value for an option file line: double-quoted, with the escapes the option-file reader understands. */
function optionValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

export type ClientDefaults = {
  /** Arguments that must come FIRST on a client program's command line (empty without a password). */
  args: string[];
  /** Removes the temp directory (idempotent). */
  dispose(): Promise<void>;
};

/** A private option file holding the password for the client programs ([client] group), when there is one. */
export async function clientDefaults(c: MysqlConnection, tempDir?: string): Promise<ClientDefaults> {
  if (c.password === undefined) return { args: [], dispose: async () => {} };
  const dir = await mkdtemp(join(tempDir ?? tmpdir(), 'lifeboat-mysql-'));
  const file = join(dir, 'client.cnf');
  try {
    await writeFile(file, `[client]\npassword=${optionValue(c.password)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { args: [`--defaults-extra-file=${file}`], dispose: () => rm(dir, { recursive: true, force: true }) };
}
