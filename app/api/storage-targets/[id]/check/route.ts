import { withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { checkStorageTargetJob } from '@/lib/jobs/check-storage-target';
import { enqueueJob } from '@/lib/jobs/enqueue';

// Enqueues the check and answers at once with the JobRun id; the browser polls /api/jobs/:id.
export const POST = withPermission<{ id: string }>('jobs:run', async (_req, { params, user }) => {
  const target = await db().storageTarget.findUnique({ where: { id: params.id }, select: { id: true } });
  if (!target) throw notFound('Storage target');
  const { jobRunId } = await enqueueJob(db(), checkStorageTargetJob, { storageTargetId: target.id }, { storageTargetId: target.id, requestedById: user.id });
  await audit(db(), { actorId: user.id, action: 'storage_target.check', entityType: 'StorageTarget', entityId: target.id, details: { jobRunId } });
  return Response.json({ jobRunId }, { status: 202 });
});
