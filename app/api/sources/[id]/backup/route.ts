import { z } from 'zod';
import { parseBody, withPermission } from '@/lib/api/handler';
import { ApiError, notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { backupJob } from '@/lib/jobs/backup';
import { enqueueJob } from '@/lib/jobs/enqueue';

const body = z.object({
  mode: z.enum(['incremental', 'full'], { error: 'must be incremental or full' }).default('incremental'),
  /** PostgreSQL sources: a dump (logical) or a base backup (physical) instead of the configured kind. */
  backupKind: z.enum(['logical', 'physical'], { error: 'must be logical or physical' }).optional(),
});

// "Back up now": enqueues and answers at once with the JobRun id.
export const POST = withPermission<{ id: string }>('jobs:run', async (req, { params, user }) => {
  const { mode, backupKind } = await parseBody(req, body);
  const source = await db().source.findUnique({ where: { id: params.id }, select: { id: true, kind: true, storageTargetId: true } });
  if (!source) throw notFound('Source');
  if (backupKind && source.kind !== 'postgres') throw new ApiError('validation_failed', 'Invalid input: backupKind: only PostgreSQL sources take a backup kind', { backupKind: 'only PostgreSQL sources take a backup kind' });
  if (!source.storageTargetId) throw new ApiError('conflict', 'This source has no storage target');
  const { jobRunId } = await enqueueJob(db(), backupJob, { sourceId: source.id, mode, backupKind }, { sourceId: source.id, storageTargetId: source.storageTargetId, requestedById: user.id });
  await audit(db(), { actorId: user.id, action: 'source.backup', entityType: 'Source', entityId: source.id, details: { jobRunId, mode, ...(backupKind ? { backupKind } : {}) } });
  return Response.json({ jobRunId }, { status: 202 });
});
