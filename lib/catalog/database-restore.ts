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

export const databaseRestoreInput = z.object({
  targetDatabase: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(63, 'must be at most 63 characters')
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'may contain letters, digits and underscores, and must not start with a digit'),
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
  if (content === 'postgres-physical') throw new ApiError('conflict', 'This is a PostgreSQL base backup: it is restored by point-in-time recovery (a whole cluster), not into a database');
  if (content === 'files') throw new ApiError('conflict', 'This restore point holds no database dump');
  if (input.database !== undefined && !databases.includes(input.database)) throw fieldError('database', `the restore point holds no database "${input.database}"; it holds: ${databases.join(', ')}`);
  if (input.database === undefined && databases.length !== 1) throw fieldError('database', `the restore point holds ${databases.length} databases (${databases.join(', ')}): choose one`);

  const serverSourceId = input.serverSourceId ?? point.sourceId;
  const server = serverSourceId === point.sourceId ? point.source : await db.source.findUnique({ where: { id: serverSourceId } });
  if (!server) throw fieldError('serverSourceId', 'no such source');
  if (server.kind !== kind) throw fieldError('serverSourceId', `must be a ${kind} source like the backed-up one, not ${server.kind}`);
  if (server.id !== point.sourceId && server.environment !== 'staging') throw fieldError('serverSourceId', 'must be a source marked staging (or the backed-up source itself)');
  if (server.environment === 'production') {
    throw new ApiError('conflict', 'Restoring onto a production server needs a second person’s approval, which this version cannot record yet: choose a staging server, or use the CLI (lifeboat database restore) under your change process');
  }
  const config = databaseConfigFor(kind as DatabaseKind).safeParse(server.config);
  if (!config.success) throw new ApiError('conflict', `Source ${server.name} has incomplete connection settings: complete them first`);

  const target = input.targetDatabase;
  const taken = kind === 'postgres' ? [(config.data as PostgresConfig).database, (config.data as PostgresConfig).maintenanceDatabase, 'template0', 'template1'] : [(config.data as MysqlConfig).database, ...MYSQL_SYSTEM];
  if (taken.some((n) => n.toLowerCase() === target.toLowerCase())) throw fieldError('targetDatabase', `${target} is a database the server already uses: restore into a new name`);

  return {
    payload: { restorePointId: point.id, serverSourceId: server.id, targetDatabase: target, database: input.database ?? databases[0] },
    links: { sourceId: point.sourceId, storageTargetId: point.storageTargetId, restorePointId: point.id },
    server: { sourceId: server.id, name: server.name, environment: server.environment, describe: describeDatabaseConfig(kind as DatabaseKind, config.data) },
  };
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
