import { parseBody, withPermission } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { databaseRestoreInput, planDatabaseRestore } from '@/lib/catalog/database-restore';
import { enqueueJob } from '@/lib/jobs/enqueue';
import { restoreDatabaseJob } from '@/lib/jobs/restore-database';

// Restore to a staging database: one database of a logical restore point into a NEW database on a staging
// server (the source's own server when it is staging, or a staging source of the same kind). Runs at once;
// production servers are refused until approvals exist. Answers 202 { jobRunId } at once.
export const POST = withPermission<{ id: string }>('jobs:run', async (req, { params, user }) => {
  const input = await parseBody(req, databaseRestoreInput);
  const plan = await planDatabaseRestore(db(), params.id, input);
  const { jobRunId } = await enqueueJob(db(), restoreDatabaseJob, plan.payload, { ...plan.links, requestedById: user.id });
  await db().restoreRequest.create({
    data: {
      sourceId: plan.links.sourceId,
      restorePointId: plan.links.restorePointId,
      targetEnvironment: 'staging',
      target: { kind: 'database', serverSourceId: plan.server.sourceId, server: plan.server.describe, database: plan.payload.targetDatabase, from: plan.payload.database ?? null },
      status: 'running',
      requestedById: user.id,
      jobRunId,
    },
  });
  await audit(db(), { actorId: user.id, action: 'restore_point.restore_database', entityType: 'RestorePoint', entityId: plan.links.restorePointId, details: { jobRunId, server: plan.server.name, targetDatabase: plan.payload.targetDatabase } });
  return Response.json({ jobRunId }, { status: 202 });
});
