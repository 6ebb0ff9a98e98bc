// Sources as the console manages them. Filesystem and config sources for now (database kinds come with
// their issue). Non-secret settings live in Source.config; this module validates them, so the worker can
// trust what it reads back.
import { z } from 'zod';
import type { Db } from '../db/client';

const absolute = (what: string) => z.string().trim().refine((p) => p.startsWith('/'), `${what} must be absolute paths`);

export const filesystemConfig = z.object({
  paths: z.array(absolute('paths'), { error: 'paths is required' }).min(1, 'give at least one path'),
  excludes: z.array(z.string().trim().min(1)).default([]),
  includes: z.array(absolute('include globs')).default([]),
  oneFileSystem: z.boolean().default(false),
});
export type FilesystemConfig = z.output<typeof filesystemConfig>;

export const sourceInput = z.object({
  name: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(64, 'must be at most 64 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may contain letters, digits, dots, dashes and underscores'),
  kind: z.enum(['filesystem', 'config'], { error: 'must be filesystem or config (database sources come later)' }),
  environment: z.enum(['production', 'staging'], { error: 'must be production or staging' }).default('staging'),
  criticality: z.enum(['critical', 'high', 'standard', 'low']).default('standard'),
  description: z.string().trim().max(500).optional(),
  storageTargetId: z.string({ error: 'is required' }).min(1, 'is required'),
  rpoMinutes: z.coerce.number().int().min(1, 'must be at least 1 minute').default(1440),
  config: filesystemConfig,
});

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
  lastRestorePointAt: string | null;
  restorePoints: number;
  /** green: within RPO; amber: up to 1.5x RPO; red: beyond, or never backed up. */
  rpoStatus: 'green' | 'amber' | 'red';
  achievedRpoMinutes: number | null;
};

export function rpoStatus(lastAt: Date | null, rpoMinutes: number, now = Date.now()): { status: PublicSource['rpoStatus']; minutes: number | null } {
  if (!lastAt) return { status: 'red', minutes: null };
  const minutes = Math.max(0, Math.round((now - lastAt.getTime()) / 60_000));
  return { status: minutes <= rpoMinutes ? 'green' : minutes <= rpoMinutes * 1.5 ? 'amber' : 'red', minutes };
}

export async function listSources(db: Db): Promise<PublicSource[]> {
  const rows = await db.source.findMany({
    orderBy: { name: 'asc' },
    include: {
      storageTarget: { select: { name: true } },
      _count: { select: { restorePoints: { where: { status: { not: 'forgotten' } } } } },
      restorePoints: { where: { status: { in: ['complete', 'partial'] } }, orderBy: { completedAt: 'desc' }, take: 1, select: { completedAt: true } },
    },
  });
  return rows.map((s) => {
    const last = s.restorePoints[0]?.completedAt ?? null;
    const rpo = rpoStatus(last, s.rpoMinutes);
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
      lastRestorePointAt: last?.toISOString() ?? null,
      restorePoints: s._count.restorePoints,
      rpoStatus: rpo.status,
      achievedRpoMinutes: rpo.minutes,
    };
  });
}

export async function createSource(db: Db, raw: unknown) {
  const input = sourceInput.parse(raw);
  const target = await db.storageTarget.findUnique({ where: { id: input.storageTargetId }, select: { id: true } });
  if (!target) throw new z.ZodError([{ code: 'custom', path: ['storageTargetId'], message: 'no such storage target', input: input.storageTargetId }]);
  return db.source.create({
    data: {
      name: input.name,
      kind: input.kind,
      environment: input.environment,
      criticality: input.criticality,
      description: input.description ?? null,
      storageTargetId: input.storageTargetId,
      rpoMinutes: input.rpoMinutes,
      config: input.config,
    },
  });
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
  }));
}
