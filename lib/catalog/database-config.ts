// Connection settings of database sources (kind postgres or mysql) as stored in Source.config, validated
// with zod so the worker can trust what it reads back. Only NON-secret settings live here: the password is
// sealed into Source.secretsEnc (source-secrets.ts) and never appears in config, job payloads or responses.
// A `password` key inside config is refused (sources.ts) with a message pointing at the password field.
import { z } from 'zod';

const port = z.coerce.number({ error: 'must be a TCP port' }).int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
const name = (what: string) => z.string({ error: `${what} is required` }).trim().min(1, `${what} is required`).max(128, `${what} is too long`);
const smokeQueries = z
  .array(z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'))
  .max(20, 'at most 20 smoke queries')
  .default([]);
const manifest = z.enum(['checksum', 'count', 'none'], { error: 'must be checksum, count or none' }).default('checksum');

export const postgresConfig = z.object({
  /** Host name, address, or a Unix socket directory (absolute path). */
  host: name('host'),
  port: port.default(5432),
  user: name('user'),
  /** One database name, or "all" (every connectable database plus roles and tablespaces). */
  database: name('database'),
  sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'], { error: 'must be disable, allow, prefer, require, verify-ca or verify-full' }).optional(),
  /** Database to connect to for listing databases, globals and CREATE DATABASE on restore (default postgres). */
  maintenanceDatabase: name('maintenance database').default('postgres'),
  /** What "Back up now" and schedules take: a pg_dump (logical) or a base backup for point-in-time recovery (physical). */
  backupKind: z.enum(['logical', 'physical'], { error: 'must be logical or physical' }).default('logical'),
  manifest,
  smokeQueries,
});
export type PostgresConfig = z.output<typeof postgresConfig>;

export const mysqlConfig = z
  .object({
    host: z.string().trim().min(1).max(255).optional(),
    port: port.default(3306),
    /** Unix socket file, used instead of host and port. */
    socket: z.string().trim().refine((p) => p.startsWith('/'), 'socket must be an absolute path').optional(),
    user: name('user'),
    /** One database name, or "all" (every database but the system ones). */
    database: name('database'),
    manifest,
    smokeQueries,
    /**
     * The worker archives the server's binary logs into the repository after each dump and every
     * LIFEBOAT_WAL_STATUS_SECONDS (worker/binlog-archiving.ts): point-in-time restores. Needs log_bin.
     */
    archiveBinlogs: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .refine((c) => c.host || c.socket, { message: 'give a host or a socket', path: ['host'] });
export type MysqlConfig = z.output<typeof mysqlConfig>;

export type DatabaseKind = 'postgres' | 'mysql';
export const isDatabaseKind = (kind: string): kind is DatabaseKind => kind === 'postgres' || kind === 'mysql';

/** The zod schema for a database kind's config. */
export function databaseConfigFor(kind: DatabaseKind): z.ZodType<PostgresConfig | MysqlConfig> {
  return kind === 'postgres' ? postgresConfig : mysqlConfig;
}

/** A password put into config by mistake: refused (the object schemas would silently drop it). */
export function passwordInConfig(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'password' in raw;
}

/** "postgres@db1:5432/shop" (never a password). */
export function describeDatabaseConfig(kind: DatabaseKind, config: PostgresConfig | MysqlConfig): string {
  if (kind === 'mysql') {
    const c = config as MysqlConfig;
    return `${c.user}@${c.socket ?? `${c.host}:${c.port}`}/${c.database}`;
  }
  const c = config as PostgresConfig;
  return `${c.user}@${c.host}:${c.port}/${c.database}`;
}
