// On start-up, a worker settles JobRun rows left "running" by a worker that died: if BullMQ still has the
// job waiting (its lock expired and it was put back), the row goes back to queued; if BullMQ no longer
// knows it or it ended, the row is marked failed. Rows whose job is active under a live worker are left.
import type { Queue } from 'bullmq';
import type { Db } from '../lib/db/client';

export async function reconcileStaleRuns(db: Db, queues: Map<string, Queue>, kindToQueue: Map<string, string>): Promise<number> {
  const running = await db.jobRun.findMany({ where: { status: 'running' }, select: { id: true, kind: true } });
  let settled = 0;
  for (const run of running) {
    const queueName = kindToQueue.get(run.kind);
    const job = queueName ? await queues.get(queueName)?.getJob(run.id) : undefined;
    const state = job ? await job.getState() : 'unknown';
    if (state === 'active') continue;
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await db.jobRun.update({ where: { id: run.id }, data: { status: 'queued', step: 'requeued after a worker stopped' } });
    } else {
      await db.jobRun.update({
        where: { id: run.id },
        data: { status: 'failed', finishedAt: new Date(), error: 'The worker running this job stopped before it finished' },
      });
    }
    settled++;
  }
  return settled;
}
