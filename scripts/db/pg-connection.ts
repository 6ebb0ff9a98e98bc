// PostgreSQL connection settings for the migration runner.
// Contract: `parseDatabaseUrl(url)` turns a postgresql:// URL into explicit pg fields (never a connectionString,
// see adapter-pg bug 2 in pg-adapter.ts); `probeDatabase(conn)` connects once and either resolves or throws a
// DbConnectError whose message is one line naming host:port; `createDatabase(conn)` creates conn.database
// through the server's `postgres` database.
import pg from 'pg';

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** Prisma's `?schema=` parameter (Postgres schema, default public). */
  schema?: string;
  ssl?: boolean | { rejectUnauthorized: boolean };
  connectTimeoutMs: number;
  /** "host:port/database", for messages. Never contains the password. */
  display: string;
}

export const DATABASE_URL_HINT = 'expected postgresql://user@host:port/database';

export class DbConnectError extends Error {
  constructor(
    message: string,
    readonly code: 'unreachable' | 'auth' | 'no-database' | 'invalid-url' | 'other',
  ) {
    super(message);
    this.name = 'DbConnectError';
  }
}

export function parseDatabaseUrl(databaseUrl: string): PgConnection {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new DbConnectError(`DATABASE_URL is not a valid URL: ${DATABASE_URL_HINT}`, 'invalid-url');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new DbConnectError(`DATABASE_URL must use postgresql:// (got ${url.protocol}//): ${DATABASE_URL_HINT}`, 'invalid-url');
  }
  const q = url.searchParams;
  const host = q.get('host') || decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = Number(q.get('port') || url.port || 5432);
  const user = decodeURIComponent(url.username) || q.get('user') || process.env.PGUSER || process.env.USER || 'postgres';
  const password = url.password ? decodeURIComponent(url.password) : (q.get('password') ?? undefined);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || user;
  const sslmode = q.get('sslmode');
  let ssl: PgConnection['ssl'];
  if (sslmode === 'require' || sslmode === 'prefer' || sslmode === 'no-verify') ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-ca' || sslmode === 'verify-full') ssl = true;
  const timeoutS = Number(q.get('connect_timeout') || 10);
  return {
    host,
    port,
    user,
    password,
    database,
    schema: q.get('schema') || undefined,
    ssl,
    connectTimeoutMs: Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS * 1000 : 10_000,
    display: `${host}:${port}/${database}`,
  };
}

/** Fields for pg.Client / pg.Pool (plus overrides). */
export function pgConfig(conn: PgConnection, overrides: pg.ClientConfig = {}): pg.ClientConfig {
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl: conn.ssl,
    connectionTimeoutMillis: conn.connectTimeoutMs,
    application_name: 'lifeboat-migrate',
    ...overrides,
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOENT']);

export function describeConnectError(err: unknown, conn: PgConnection): DbConnectError {
  const e = err as { code?: string; message?: string };
  const where = `${conn.host}:${conn.port}`;
  const msg = (e?.message ?? String(err)).split('\n')[0] ?? '';
  if (e?.code && UNREACHABLE.has(e.code)) {
    return new DbConnectError(`Cannot reach PostgreSQL at ${where} (${e.code})`, 'unreachable');
  }
  if (/timeout/i.test(msg)) return new DbConnectError(`Cannot reach PostgreSQL at ${where} (connection timeout)`, 'unreachable');
  if (e?.code === '28P01' || e?.code === '28000') {
    return new DbConnectError(`PostgreSQL at ${where} rejected user "${conn.user}": ${msg}`, 'auth');
  }
  if (e?.code === '3D000') {
    return new DbConnectError(`Database "${conn.database}" does not exist on PostgreSQL at ${where}`, 'no-database');
  }
  return new DbConnectError(`PostgreSQL at ${where}: ${msg}`, 'other');
}

/** Runs one query on a short-lived connection. Errors come back as DbConnectError (connect) or pg errors. */
export async function withClient<T>(conn: PgConnection, fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const client = new pg.Client(pgConfig(conn, database ? { database } : {}));
  client.on('error', () => {}); // a dropped idle connection must not crash the runner
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw describeConnectError(err, database ? { ...conn, database } : conn);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Resolves if conn.database accepts connections; otherwise throws a one-line DbConnectError. */
export async function probeDatabase(conn: PgConnection): Promise<void> {
  await withClient(conn, async (c) => void (await c.query('SELECT 1')));
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The error for a role without CREATEDB (42501 on CREATE DATABASE). */
export function noCreateDb(conn: PgConnection, what: string): DbConnectError {
  return new DbConnectError(
    `PostgreSQL at ${conn.host}:${conn.port}: ${what}: role "${conn.user}" lacks CREATEDB (grant it, or create the database beforehand)`,
    'auth',
  );
}

/** CREATE DATABASE conn.database, connecting through the `postgres` maintenance database (or template1). */
export async function createDatabase(conn: PgConnection): Promise<void> {
  try {
    await createDatabaseVia(conn, 'postgres');
  } catch (err) {
    if (!(err instanceof DbConnectError && err.code === 'no-database')) throw err;
    await createDatabaseVia(conn, 'template1');
  }
}

async function createDatabaseVia(conn: PgConnection, maintenanceDb: string): Promise<void> {
  await withClient(
    conn,
    async (c) => {
      try {
        await c.query(`CREATE DATABASE ${quoteIdent(conn.database)}`);
      } catch (err) {
        // 42P04 duplicate_database; 23505 when a concurrent CREATE DATABASE wins the race. Both: it exists now.
        const code = (err as { code?: string }).code;
        if (code === '42501') throw noCreateDb(conn, `cannot create database "${conn.database}"`);
        if (code !== '42P04' && code !== '23505') throw err;
      }
    },
    maintenanceDb,
  );
}
