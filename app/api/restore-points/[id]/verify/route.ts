import { z } from 'zod';
import { parseBody, withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { enqueueJob } from '@/lib/jobs/enqueue';
import { verifyJob } from '@/lib/jobs/verify';

const body = z.object({
  readDataPercent: z.number({ error: 'must be a number' }).min(0, 'must be 0-100').max(100, 'must be 0-100').default(0),
  testRestore: z.boolean().default(true),
});

export const POST = withPermission<{ id: string }>('jobs:run', async (req, { params, user }) => {
  const input = await parseBody(req, body);
  const point = await db().restorePoint.findUnique({ where: { id: params.id }, select: { id: true, sourceId: true, storageTargetId: true } });
  if (!point) throw notFound('Restore point');
  const { jobRunId } = await enqueueJob(db(), verifyJob, { restorePointId: point.id, ...input }, { sourceId: point.sourceId, storageTargetId: point.storageTargetId, restorePointId: point.id, requestedById: user.id });
  await audit(db(), { actorId: user.id, action: 'restore_point.verify', entityType: 'RestorePoint', entityId: point.id, details: { jobRunId } });
  return Response.json({ jobRunId }, { status: 202 });
});
