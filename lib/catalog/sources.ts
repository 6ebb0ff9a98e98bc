// Sources as the console manages them: filesystem and config sources (paths and globs) and database sources
// (postgres, mysql: connection settings in database-config.ts). Non-secret settings live in Source.config,
// validated here so the worker can trust what it reads back; a database password is sealed into
// Source.secretsEnc (source-secrets.ts) and what this module returns only says `hasPassword`.
import { z } from 'zod';
import type { Db } from '../db/client';
import { databaseConfigFor, isDatabaseKind, passwordInConfig, type MysqlConfig, type PostgresConfig } from './database-config';
import { restorePointContent, type RestorePointContent } from './restore-points';
import { sealSourceSecrets } from './source-secrets';

const absolute = (what: string) => z.string().trim().refine((p) => p.startsWith('/'), `${what} must be absolute paths`);

export const filesystemConfig = z.object({
  paths: z.array(absolute('paths'), { error: 'paths is required' }).min(1, 'give at least one path'),
  excludes: z.array(z.string().trim().min(1)).default([]),
  includes: z.array(absolute('include globs')).default([]),
  oneFileSystem: z.boolean().default(false),
});
export type FilesystemConfig = z.output<typeof filesystemConfig>;

const KINDS = ['filesystem', 'config', 'postgres', 'mysql'] as const;
const configSchemaFor = (kind: unknown) => (typeof kind === 'string' && isDatabaseKind(kind) ? databaseConfigFor(kind) : filesystemConfig);

const sourceFields = z.object({
  name: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(64, 'must be at most 64 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may contain letters, digits, dots, dashes and underscores'),
  kind: z.enum(KINDS, { error: 'must be filesystem, config, postgres or mysql' }),
  environment: z.enum(['production', 'staging'], { error: 'must be production or staging' }).default('staging'),
  criticality: z.enum(['critical', 'high', 'standard', 'low']).default('standard'),
  description: z.string().trim().max(500).optional(),
  storageTargetId: z.string({ error: 'is required' }).min(1, 'is required'),
  rpoMinutes: z.coerce.number().int().min(1, 'must be at least 1 minute').default(1440),
  config: z.unknown(),
  /** Database sources only: sealed into secretsEnc; on update, absent = keep the stored one. */
  password: z.string({ error: 'must be text' }).min(1, 'must not be empty (leave it out to keep the stored one)').max(1024, 'is too long').optional(),
  /** Update only: forget the stored password (the server's own rules apply: trust, ~/.pgpass...). */
  clearPassword: z.boolean().optional(),
});

/**
 * A source as created or replaced through the API. Config errors are reported under `config.<field>` even
 * when other fields are wrong too (the refinement always runs), so a form can show them all at once.
 */
export const sourceInput = sourceFields
  .superRefine(
    (v, ctx) => {
      const raw = v as Partial<z.output<typeof sourceFields>>;
      const parsed = configSchemaFor(raw.kind).safeParse(raw.config);
      if (!parsed.success) for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['config', ...i.path], message: i.message });
      if (passwordInConfig(raw.config)) ctx.addIssue({ code: 'custom', path: ['config', 'password'], message: 'the password goes in the password field (it is stored encrypted), never in config' });
      if (typeof raw.kind === 'string' && !isDatabaseKind(raw.kind) && (raw.password !== undefined || raw.clearPassword)) {
        ctx.addIssue({ code: 'custom', path: ['password'], message: 'only database sources (postgres, mysql) have a password' });
      }
    },
    { when: () => true },
  )
  .transform((v) => ({ ...v, config: configSchemaFor(v.kind).parse(v.config) as FilesystemConfig | PostgresConfig | MysqlConfig }));
export type SourceInput = z.output<typeof sourceInput>;

export type PublicSource = {
  id: string;
  name: string;
  kind: string;
  environment: string;
  criticality: string;
  description: string | null;
  storageTargetId: string | null;
  storageTargetName: string | null;
  rpoMinutes: number;
  config: unknown;
  /** Database sources: whether a password is stored (it never leaves the catalog except into the worker). */
  hasPassword: boolean;
  lastRestorePointAt: string | null;
  /** PostgreSQL with WAL archiving, MySQL/MariaDB with archived binlogs: recoverable up to about this moment (end of the recovery window). */
  walArchivedAt: string | null;
  restorePoints: number;
  /** green: within RPO; amber: up to 1.5x RPO; red: beyond, or never backed up. */
  rpoStatus: 'green' | 'amber' | 'red';
  achievedRpoMinutes: number | null;
  /** What the achieved RPO is measured from: the newest restore point, or the archived log (WAL, binlogs) when that is newer. */
  rpoFrom: 'restore point' | 'WAL' | null;
};

/** The newer of the last restore point and the end of the WAL recovery window: what a restore could reach now. */
export function newestRecoverable(lastRestorePoint: Date | null, walArchivedAt: Date | null): { at: Date | null; from: PublicSource['rpoFrom'] } {
  if (walArchivedAt && (!lastRestorePoint || walArchivedAt > lastRestorePoint)) return { at: walArchivedAt, from: 'WAL' };
  return { at: lastRestorePoint, from: lastRestorePoint ? 'restore point' : null };
}

export function rpoStatus(lastAt: Date | null, rpoMinutes: number, now = Date.now()): { status: PublicSource['rpoStatus']; minutes: number | null } {
  if (!lastAt) return { status: 'red', minutes: null };
  const minutes = Math.max(0, Math.round((now - lastAt.getTime()) / 60_000));
  return { status: minutes <= rpoMinutes ? 'green' : minutes <= rpoMinutes * 1.5 ? 'amber' : 'red', minutes };
}

export async function listSources(db: Db, where: { id?: string } = {}): Promise<PublicSource[]> {
  const rows = await db.source.findMany({
    where,
    orderBy: { name: 'asc' },
    include: {
      storageTarget: { select: { name: true } },
      _count: { select: { restorePoints: { where: { status: { not: 'forgotten' } } } } },
      restorePoints: { where: { status: { in: ['complete', 'partial'] } }, orderBy: { completedAt: 'desc' }, take: 1, select: { completedAt: true } },
    },
  });
  return rows.map((s) => {
    const last = s.restorePoints[0]?.completedAt ?? null;
    const newest = newestRecoverable(last, s.walArchivedAt);
    const rpo = rpoStatus(newest.at, s.rpoMinutes);
    return {
      id: s.id,
      name: s.name,
      kind: s.kind,
      environment: s.environment,
      criticality: s.criticality,
      description: s.description,
      storageTargetId: s.storageTargetId,
      storageTargetName: s.storageTarget?.name ?? null,
      rpoMinutes: s.rpoMinutes,
      config: s.config,
      hasPassword: s.secretsEnc !== null,
      lastRestorePointAt: last?.toISOString() ?? null,
      walArchivedAt: s.walArchivedAt?.toISOString() ?? null,
      restorePoints: s._count.restorePoints,
      rpoStatus: rpo.status,
      achievedRpoMinutes: rpo.minutes,
      rpoFrom: newest.from,
    };
  });
}

async function checkTarget(db: Db, storageTargetId: string) {
  const target = await db.storageTarget.findUnique({ where: { id: storageTargetId }, select: { id: true } });
  if (!target) throw new z.ZodError([{ code: 'custom', path: ['storageTargetId'], message: 'no such storage target', input: storageTargetId }]);
}

function columns(input: SourceInput) {
  return {
    name: input.name,
    kind: input.kind,
    environment: input.environment,
    criticality: input.criticality,
    description: input.description ?? null,
    storageTargetId: input.storageTargetId,
    rpoMinutes: input.rpoMinutes,
    config: input.config as object,
  };
}

export async function createSource(db: Db, raw: unknown, secretKey: string) {
  const input = sourceInput.parse(raw);
  await checkTarget(db, input.storageTargetId);
  return db.source.create({ data: { ...columns(input), secretsEnc: sealSourceSecrets({ password: input.password }, secretKey) } });
}

/** Replaces a source's settings; the kind cannot change; the password is kept unless a new one (or clearPassword) is given. */
export async function updateSource(db: Db, id: string, raw: unknown, secretKey: string) {
  const input = sourceInput.parse(raw);
  const existing = await db.source.findUnique({ where: { id }, select: { kind: true } });
  if (!existing) return null;
  if (existing.kind !== input.kind) throw new z.ZodError([{ code: 'custom', path: ['kind'], message: `cannot change from ${existing.kind}: its restore points are ${existing.kind} backups`, input: input.kind }]);
  await checkTarget(db, input.storageTargetId);
  const secrets = input.password !== undefined ? { secretsEnc: sealSourceSecrets({ password: input.password }, secretKey) } : input.clearPassword ? { secretsEnc: null } : {};
  return db.source.update({ where: { id }, data: { ...columns(input), ...secrets } });
}

/** One source as the console shows it (no secrets), or null. */
export async function getSource(db: Db, id: string): Promise<PublicSource | null> {
  return (await listSources(db, { id }))[0] ?? null;
}

export type PublicRestorePoint = {
  id: string;
  snapshotId: string;
  mode: string;
  status: string;
  completedAt: string;
  startedAt: string;
  sizeBytes: number;
  storedBytes: number;
  fileCount: number;
  storageTargetName: string;
  verifiedAt: string | null;
  verifyOk: boolean | null;
  /** files, or a database logical dump / base backup (restorable to a staging database: the logical ones). */
  content: RestorePointContent;
  /** Databases held by a logical dump. */
  databases: string[];
};

export async function listRestorePoints(db: Db, sourceId: string, take = 100): Promise<PublicRestorePoint[]> {
  const rows = await db.restorePoint.findMany({
    where: { sourceId, status: { not: 'forgotten' } },
    orderBy: { completedAt: 'desc' },
    take,
    include: { storageTarget: { select: { name: true } } },
  });
  return rows.map((r) => ({
    id: r.id,
    snapshotId: r.snapshotId,
    mode: r.mode,
    status: r.status,
    completedAt: r.completedAt.toISOString(),
    startedAt: r.startedAt.toISOString(),
    sizeBytes: Number(r.sizeBytes),
    storedBytes: Number(r.storedBytes),
    fileCount: r.fileCount,
    storageTargetName: r.storageTarget.name,
    verifiedAt: r.verifiedAt?.toISOString() ?? null,
    verifyOk: r.verifyOk,
    ...restorePointContent(r.summary),
  }));
}
