import { parseBody, withPermission } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { readEnv } from '@/lib/config/env';
import { db } from '@/lib/db/client';
import { planPointInTimeRestore, pointInTimeRestoreInput } from '@/lib/catalog/database-restore';
import { recoveryWindowForSource } from '@/lib/console/recovery-window';
import { enqueueJob } from '@/lib/jobs/enqueue';
import { recoverDatabaseJob } from '@/lib/jobs/recover-database';

// Restore to a point in time: one database of a WAL-archived PostgreSQL source, or of a MySQL/MariaDB source with
// archived binary logs, restored to a time inside its recovery window (or the latest point), into a NEW database
// on a staging server. The window is read
// from the repository first, so a time outside it is refused here, naming the window. Answers 202 { jobRunId }.
export const POST = withPermission<{ id: string }>('jobs:run', async (req, { params, user }) => {
  const input = await parseBody(req, pointInTimeRestoreInput);
  const secretKey = readEnv(['LIFEBOAT_SECRET_KEY']).LIFEBOAT_SECRET_KEY;
  const plan = await planPointInTimeRestore(db(), params.id, input, async () => (await recoveryWindowForSource(db(), params.id, secretKey, Date.now(), req.signal))?.systems ?? []);
  const { jobRunId } = await enqueueJob(db(), recoverDatabaseJob, plan.payload, { ...plan.links, requestedById: user.id });
  const targetTime = plan.payload.target.kind === 'time' ? new Date(plan.payload.target.time) : null;
  await db().restoreRequest.create({
    data: {
      sourceId: plan.links.sourceId,
      targetTime,
      targetEnvironment: 'staging',
      target: { kind: 'database', pointInTime: targetTime?.toISOString() ?? 'latest', serverSourceId: plan.server.sourceId, server: plan.server.describe, database: plan.payload.targetDatabase, from: plan.payload.database },
      status: 'running',
      requestedById: user.id,
      jobRunId,
    },
  });
  await audit(db(), { actorId: user.id, action: 'source.recover_database', entityType: 'Source', entityId: plan.links.sourceId, details: { jobRunId, server: plan.server.name, targetDatabase: plan.payload.targetDatabase, pointInTime: targetTime?.toISOString() ?? 'latest' } });
  return Response.json({ jobRunId }, { status: 202 });
});
