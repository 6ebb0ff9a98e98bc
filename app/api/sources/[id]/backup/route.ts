import { z } from 'zod';
import { parseBody, withPermission } from '@/lib/api/handler';
import { ApiError, notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { backupJob } from '@/lib/jobs/backup';
import { enqueueJob } from '@/lib/jobs/enqueue';

const body = z.object({ mode: z.enum(['incremental', 'full'], { error: 'must be incremental or full' }).default('incremental') });

// "Back up now": enqueues and answers at once with the JobRun id.
export const POST = withPermission<{ id: string }>('jobs:run', async (req, { params, user }) => {
  const { mode } = await parseBody(req, body);
  const source = await db().source.findUnique({ where: { id: params.id }, select: { id: true, kind: true, storageTargetId: true } });
  if (!source) throw notFound('Source');
  if (source.kind !== 'filesystem' && source.kind !== 'config') throw new ApiError('conflict', `${source.kind} sources cannot be backed up yet`);
  if (!source.storageTargetId) throw new ApiError('conflict', 'This source has no storage target');
  const { jobRunId } = await enqueueJob(db(), backupJob, { sourceId: source.id, mode }, { sourceId: source.id, storageTargetId: source.storageTargetId, requestedById: user.id });
  await audit(db(), { actorId: user.id, action: 'source.backup', entityType: 'Source', entityId: source.id, details: { jobRunId, mode } });
  return Response.json({ jobRunId }, { status: 202 });
});
