import { z } from 'zod';
import { parseBody, withPermission } from '@/lib/api/handler';
import { ApiError, notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { restoreTargetProblem } from '@/lib/catalog/restore-targets';
import { enqueueJob } from '@/lib/jobs/enqueue';
import { restoreJob } from '@/lib/jobs/restore';

const body = z.object({
  targetPath: z.string({ error: 'is required' }).trim().min(1, 'is required').superRefine((p, ctx) => {
    const problem = restoreTargetProblem(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  from: z.string().trim().optional(),
});

// Restore to a directory. Production sources need a second person's approval, which is not built yet:
// until it is, the console refuses production restores instead of skipping the approval.
export const POST = withPermission<{ id: string }>('jobs:run', async (req, { params, user }) => {
  const input = await parseBody(req, body);
  const point = await db().restorePoint.findUnique({ where: { id: params.id }, include: { source: { select: { id: true, environment: true, kind: true } } } });
  if (!point) throw notFound('Restore point');
  if (point.source.environment === 'production') {
    throw new ApiError('conflict', 'Production restores need a second person’s approval, which this version cannot record yet; use the CLI (lifeboat restore) under your change process');
  }
  if (point.source.kind !== 'filesystem' && point.source.kind !== 'config') throw new ApiError('conflict', `This is a ${point.source.kind} restore point: restore it into a database (POST /api/restore-points/:id/restore-database)`);
  const { jobRunId } = await enqueueJob(db(), restoreJob, { restorePointId: point.id, targetPath: input.targetPath, from: input.from || undefined }, { sourceId: point.source.id, storageTargetId: point.storageTargetId, restorePointId: point.id, requestedById: user.id });
  await audit(db(), { actorId: user.id, action: 'restore_point.restore', entityType: 'RestorePoint', entityId: point.id, details: { jobRunId, targetPath: input.targetPath } });
  return Response.json({ jobRunId }, { status: 202 });
});
