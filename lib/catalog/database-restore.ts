// Restores of database restore points into a new database, as the console asks for them. Decides, before
// anything is enqueued: which server receives the database (the backed-up source's own server, or the server
// of another catalog source of the same kind marked environment=staging), whether that is production
// (production needs a second person's approval, which is not built yet: refused, like file restores), and
// whether the target name and the database to restore are valid. Returns the job payload (ids and names
// only) or throws ApiError / ZodError with field messages.
import { z } from 'zod';
import { ApiError, notFound } from '../api/errors';
import type { Db } from '../db/client';
import { databaseConfigFor, describeDatabaseConfig, isDatabaseKind, type DatabaseKind, type MysqlConfig, type PostgresConfig } from './database-config';
import { restorePointContent } from './restore-points';
import type { RestoreDatabaseData } from '../jobs/restore-database';
import type { RecoverDatabaseData } from '../jobs/recover-database';

const targetDatabaseName = z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(63, 'must be at most 63 characters')
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'may contain letters, digits and underscores, and must not start with a digit');

export const databaseRestoreInput = z.object({
  targetDatabase: targetDatabaseName,
  /** The source whose server receives the database; default: the restore point's own source. */
  serverSourceId: z.string().trim().min(1).optional(),
  /** Which database of the restore point (required when it holds several). */
  database: z.string().trim().min(1).optional(),
});

const MYSQL_SYSTEM = ['information_schema', 'performance_schema', 'mysql', 'sys'];

const fieldError = (field: string, message: string) => new ApiError('validation_failed', `Invalid input: ${field}: ${message}`, { [field]: message });

export type DatabaseRestorePlan = {
  payload: Omit<RestoreDatabaseData, 'jobRunId'>;
  links: { sourceId: string; storageTargetId: string; restorePointId: string };
  server: { sourceId: string; name: string; environment: string; describe: string };
};

export async function planDatabaseRestore(db: Db, restorePointId: string, raw: unknown): Promise<DatabaseRestorePlan> {
  const input = databaseRestoreInput.parse(raw);
  const point = await db.restorePoint.findUnique({ where: { id: restorePointId }, include: { source: true } });
  if (!point || point.status === 'forgotten') throw notFound('Restore point');
  const kind = point.source.kind;
  if (!isDatabaseKind(kind)) throw new ApiError('conflict', `This is a ${kind} restore point: restore it into a directory instead`);
  const { content, databases } = restorePointContent(point.summary);
  if (content === 'postgres-physical') throw new ApiError('conflict', 'This is a PostgreSQL base backup: it is restored by point-in-time recovery: use “Restore to a point in time” in the recovery window panel');
  if (content === 'files') throw new ApiError('conflict', 'This restore point holds no database dump');
  if (input.database !== undefined && !databases.includes(input.database)) throw fieldError('database', `the restore point holds no database "${input.database}"; it holds: ${databases.join(', ')}`);
  if (input.database === undefined && databases.length !== 1) throw fieldError('database', `the restore point holds ${databases.length} databases (${databases.join(', ')}): choose one`);

  const server = await stagingServer(db, point.source, input.serverSourceId, input.targetDatabase);
  return {
    payload: { restorePointId: point.id, serverSourceId: server.sourceId, targetDatabase: input.targetDatabase, database: input.database ?? databases[0] },
    links: { sourceId: point.sourceId, storageTargetId: point.storageTargetId, restorePointId: point.id },
    server,
  };
}

type SourceRow = NonNullable<Awaited<ReturnType<Db['source']['findUnique']>>>;

/**
 * The server that receives a restored database: the backed-up source's own (default) or another source of its
 * kind marked staging; never production (approvals are not built); with complete connection settings; and a
 * target name the server does not use for itself.
 */
async function stagingServer(db: Db, backedUp: SourceRow, serverSourceId: string | undefined, target: string): Promise<DatabaseRestorePlan['server']> {
  const kind = backedUp.kind as DatabaseKind;
  const id = serverSourceId ?? backedUp.id;
  const server = id === backedUp.id ? backedUp : await db.source.findUnique({ where: { id } });
  if (!server) throw fieldError('serverSourceId', 'no such source');
  if (server.kind !== kind) throw fieldError('serverSourceId', `must be a ${kind} source like the backed-up one, not ${server.kind}`);
  if (server.id !== backedUp.id && server.environment !== 'staging') throw fieldError('serverSourceId', 'must be a source marked staging (or the backed-up source itself)');
  if (server.environment === 'production') {
    throw new ApiError('conflict', 'Restoring onto a production server needs a second person’s approval, which this version cannot record yet: choose a staging server, or use the CLI (lifeboat database restore) under your change process');
  }
  const config = databaseConfigFor(kind).safeParse(server.config);
  if (!config.success) throw new ApiError('conflict', `Source ${server.name} has incomplete connection settings: complete them first`);
  const taken = kind === 'postgres' ? [(config.data as PostgresConfig).database, (config.data as PostgresConfig).maintenanceDatabase, 'template0', 'template1'] : [(config.data as MysqlConfig).database, ...MYSQL_SYSTEM];
  if (taken.some((n) => n.toLowerCase() === target.toLowerCase())) throw fieldError('targetDatabase', `${target} is a database the server already uses: restore into a new name`);
  return { sourceId: server.id, name: server.name, environment: server.environment, describe: describeDatabaseConfig(kind, config.data) };
}

export type StagingServer = { id: string; name: string; describe: string; self: boolean };

/** The servers a restore point of `sourceId` may be restored onto from the console: itself when staging, and staging sources of its kind. */
export async function stagingServersFor(db: Db, sourceId: string): Promise<StagingServer[]> {
  const source = await db.source.findUnique({ where: { id: sourceId }, select: { id: true, kind: true, environment: true } });
  if (!source || !isDatabaseKind(source.kind)) return [];
  const rows = await db.source.findMany({ where: { kind: source.kind, OR: [{ environment: 'staging' }, { id: source.id }] }, orderBy: { name: 'asc' } });
  const out: StagingServer[] = [];
  for (const r of rows) {
    if (r.environment !== 'staging') continue;
    const c = databaseConfigFor(source.kind as DatabaseKind).safeParse(r.config);
    if (c.success) out.push({ id: r.id, name: r.name, describe: describeDatabaseConfig(source.kind as DatabaseKind, c.data), self: r.id === source.id });
  }
  return out.sort((a, b) => Number(b.self) - Number(a.self));
}

export const pointInTimeRestoreInput = z
  .object({
    /** Recover up to this moment (ISO 8601 with a zone); or `latest`. */
    targetTime: z.iso.datetime({ offset: true, error: 'must be a date and time with a zone, like 2024-01-15T10:30:00Z' }).optional(),
    latest: z.boolean().optional(),
    targetDatabase: targetDatabaseName,
    /** The database of the recovered cluster to copy (default: the source's own database). */
    database: z.string().trim().min(1).max(63).optional(),
    serverSourceId: z.string().trim().min(1).optional(),
    systemId: z.string().regex(/^\d+$/, 'must be a PostgreSQL system identifier (digits)').optional(),
  })
  .refine((v) => (v.targetTime !== undefined) !== (v.latest === true), { message: 'choose either a target time or the latest point', path: ['targetTime'] });

/** The recovery window as the console reads it (lib/console/recovery-window.ts): from / to per cluster. */
export type WindowBounds = { systemId: string; from: string | null; to: string | null }[];

export type PointInTimeRestorePlan = {
  payload: Omit<RecoverDatabaseData, 'jobRunId'>;
  links: { sourceId: string; storageTargetId: string };
  server: DatabaseRestorePlan['server'];
};

/**
 * A point-in-time restore of one database of a WAL-archived PostgreSQL source, or of a MySQL/MariaDB source with
 * archived binary logs, into a staging server. The target time must lie inside the recovery window (`windows`,
 * read from the repository by the caller): before it there is no base backup or dump to start from; after it
 * the archive has nothing to replay to get there.
 */
export async function planPointInTimeRestore(db: Db, sourceId: string, raw: unknown, windows: () => Promise<WindowBounds>, now = Date.now()): Promise<PointInTimeRestorePlan> {
  const input = pointInTimeRestoreInput.parse(raw);
  const source = await db.source.findUnique({ where: { id: sourceId } });
  if (!source) throw notFound('Source');
  if (source.kind !== 'postgres' && source.kind !== 'mysql') throw new ApiError('conflict', `Point-in-time recovery needs a WAL-archived PostgreSQL source or a MySQL/MariaDB source with archived binary logs; ${source.name} is ${source.kind}`);
  const kind = source.kind;
  if (!source.storageTargetId) throw new ApiError('conflict', `Source ${source.name} has no storage target`);
  if (kind === 'mysql' && input.systemId) throw fieldError('systemId', 'is for PostgreSQL clusters; a MySQL/MariaDB source has one binlog archive');
  const server = await stagingServer(db, source, input.serverSourceId, input.targetDatabase);
  const own = databaseConfigFor(kind).safeParse(source.config);
  // A MySQL source backing up "all" databases names none: the restore needs one.
  const ownDatabase = own.success && !(kind === 'mysql' && own.data.database === 'all') ? own.data.database : undefined;
  const database = input.database ?? ownDatabase;
  if (!database) throw fieldError('database', kind === 'mysql' ? 'is required: the source backs up every database, choose one' : 'is required: the source names no database');

  const all = (await windows()).filter((w) => w.from !== null && (!input.systemId || w.systemId === input.systemId));
  const missing = kind === 'mysql' ? 'This source has no recovery window yet: take a dump with binary logging on, then archive the binary logs (lifeboat database binlog-push)' : 'This source has no recovery window yet: take a base backup with WAL archiving set up';
  if (all.length === 0) throw new ApiError('conflict', input.systemId ? `No recovery window for system ${input.systemId}` : missing);
  if (all.length > 1) throw fieldError('systemId', `the source's base backups belong to ${all.length} clusters (${all.map((w) => w.systemId).join(', ')}): choose one`);
  const w = all[0]!;
  if (input.targetTime !== undefined) {
    const t = Date.parse(input.targetTime);
    const fmt = (iso: string | null) => (iso ? iso.replace('.000Z', 'Z') : '?');
    if (t > now) throw fieldError('targetTime', 'is in the future');
    if (t < Date.parse(w.from!)) throw fieldError('targetTime', `is before the recovery window, which starts at ${fmt(w.from)} (${kind === 'mysql' ? 'the oldest dump with archived binary logs' : "the oldest base backup's end"})`);
    if (w.to !== null && t > Date.parse(w.to)) throw fieldError('targetTime', `is after the newest archived ${kind === 'mysql' ? 'binary log' : 'WAL'} (about ${fmt(w.to)}): choose a time up to then, or the latest point`);
  }
  return {
    payload: {
      sourceId: source.id,
      ...(kind === 'postgres' ? { systemId: w.systemId } : {}),
      target: input.targetTime !== undefined ? { kind: 'time', time: new Date(input.targetTime).toISOString() } : { kind: 'latest' },
      database,
      serverSourceId: server.sourceId,
      targetDatabase: input.targetDatabase,
    },
    links: { sourceId: source.id, storageTargetId: source.storageTargetId },
    server,
  };
}
