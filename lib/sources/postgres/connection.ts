// How the PostgreSQL source reaches a server: connection settings, the PostgreSQL client programs it runs
// (pg_dump, pg_dumpall, pg_restore, psql) and `pg` clients for its own queries.
// Guarantees: the password only ever travels in a child's environment (PGPASSWORD) or in the `pg` client's
// memory, never in argv, error messages or logs; every connection failure becomes a PgConnectionError naming
// user, host, port and database. Stateless apart from the cached program directory.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

/** Where a PostgreSQL server is and who to connect as. `host` may be a Unix socket directory ("/run/postgresql"). */
export type PgConnection = {
  host?: string;
  port?: number;
  user?: string;
  /** Given to children as PGPASSWORD only; without it libpq's usual sources apply (~/.pgpass, PGPASSWORD). */
  password?: string;
  database: string;
  /** libpq sslmode (disable, prefer, require, verify-ca, verify-full); libpq's default when omitted. */
  sslmode?: string;
};

export type PgTool = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql' | 'pg_basebackup' | 'pg_verifybackup' | 'pg_ctl' | 'pg_controldata';
/** The programs runTool runs: PostgreSQL's, and GNU tar for unpacking base backups. */
export type ToolName = PgTool | 'tar';

/** A server that cannot be reached or refused us (the message names user, host, port and database). */
export class PgConnectionError extends Error {
  name = 'PgConnectionError';
}

/** A PostgreSQL client program that failed; `stderr` holds its first lines. */
export class PgToolError extends Error {
  name = 'PgToolError';
  constructor(message: string, readonly tool: ToolName, readonly exitCode: number | null, readonly stderr: string) {
    super(message);
  }
}

const DEFAULT_PORT = 5432;

/** "postgres@127.0.0.1:5432/app" (never the password). */
export function describeConnection(c: PgConnection, database = c.database): string {
  return `${c.user ?? process.env.PGUSER ?? 'default user'}@${c.host ?? process.env.PGHOST ?? 'localhost'}:${c.port ?? DEFAULT_PORT}/${database}`;
}

/** A libpq key=value connection string for `database` (values quoted, so any database name is taken literally). */
export function conninfo(c: PgConnection, database = c.database): string {
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = [`dbname=${q(database)}`, `application_name=${q('lifeboat')}`];
  if (c.host) parts.push(`host=${q(c.host)}`);
  if (c.port) parts.push(`port=${q(String(c.port))}`);
  if (c.user) parts.push(`user=${q(c.user)}`);
  if (c.sslmode) parts.push(`sslmode=${q(c.sslmode)}`);
  return parts.join(' ');
}

/** Environment for a client program: ours, plus PGPASSWORD when a password is given, and a fixed message language. */
export function childEnv(c: PgConnection): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_MESSAGES: 'C', PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '15' };
  if (c.password !== undefined) env.PGPASSWORD = c.password;
  return env;
}

let cachedBinDir: string | null | undefined;

/**
 * Directory of the client programs: `binDir` when given, else $LIFEBOAT_PG_BIN, else the newest
 * /usr/lib/postgresql/<major>/bin holding pg_dump (pg_dump must be at least the server's major version, so
 * newest is right), else null (programs are looked up on PATH).
 */
export function pgBinDir(binDir?: string): string | null {
  if (binDir) return binDir;
  if (process.env.LIFEBOAT_PG_BIN) return process.env.LIFEBOAT_PG_BIN;
  if (cachedBinDir !== undefined) return cachedBinDir;
  cachedBinDir = null;
  try {
    const majors = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of majors) {
      const dir = join('/usr/lib/postgresql', v, 'bin');
      if (existsSync(join(dir, 'pg_dump'))) {
        cachedBinDir = dir;
        break;
      }
    }
  } catch {
    /* not a Debian layout: PATH */
  }
  return cachedBinDir;
}

export function pgTool(tool: PgTool, binDir?: string): string {
  const dir = pgBinDir(binDir);
  return dir ? join(dir, tool) : tool;
}

/**
 * Session settings under which a row's text form is the same on every connection (the validation checksum
 * hashes it): UTC, ISO dates, shortest-exact floats, hex bytea, C money format; no timeouts; row security
 * off like pg_dump (a role subject to a policy gets an error instead of a silently filtered count).
 */
export const DETERMINISTIC_SESSION = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 1',
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
  'SET statement_timeout = 0',
  'SET idle_in_transaction_session_timeout = 0',
  'SET row_security = off',
].join('; ');

/** Connects a `pg` client to `database` (default: the connection's), failing with a PgConnectionError naming it. */
/** `replication`: a physical replication connection (BASE_BACKUP), which needs the REPLICATION privilege. */
export async function connectClient(c: PgConnection, database = c.database, signal?: AbortSignal, opts: { replication?: boolean } = {}): Promise<pg.Client> {
  signal?.throwIfAborted();
  // Loaded on first use: every CLI command (wal-push per WAL segment, too) would otherwise pay for it.
  const { default: { Client } } = await import('pg');
  const client = new Client({
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database,
    application_name: 'lifeboat',
    connectionTimeoutMillis: 15_000,
    ...(opts.replication ? { replication: true } : {}),
    ssl: c.sslmode && !['disable', 'allow', 'prefer'].includes(c.sslmode) ? { rejectUnauthorized: c.sslmode === 'verify-full' || c.sslmode === 'verify-ca' } : undefined,
  });
  client.on('error', () => {}); // a dropped connection surfaces through the pending query instead
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new PgConnectionError(`cannot connect to PostgreSQL as ${describeConnection(c, database)}: ${(err as Error).message}`);
  }
  return client;
}

/**
 * Ends a client; when a query may still be running (an abort), first asks the server to cancel it from a
 * second connection, so the backend stops instead of scanning on for nobody.
 */
export async function closeClient(client: pg.Client, c: PgConnection, database: string, cancelRunning = false): Promise<void> {
  if (cancelRunning) {
    const pid = (client as unknown as { processID: number | null }).processID;
    if (pid) {
      const admin = await connectClient(c, database).catch(() => null);
      await admin?.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
      await admin?.end().catch(() => {});
    }
  }
  await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
