import { withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { db } from '@/lib/db/client';
import { getJobRun } from '@/lib/console/jobs';

export const GET = withPermission<{ id: string }>('catalog:read', async (_req, { params }) => {
  const run = await getJobRun(db(), params.id);
  if (!run) throw notFound('Job run');
  return Response.json({ jobRun: run });
});
