// On start-up, a worker settles JobRun rows left "running" by a worker that died: if BullMQ still has the
// job waiting (its lock expired and it was put back), the row goes back to queued; if BullMQ no longer
// knows it or it ended, the row is marked failed. Rows whose job is active under a live worker are left.
// A catalog kind may have several queues (restore: files and databases); the job is looked up in each.
import type { Queue } from 'bullmq';
import type { Db } from '../lib/db/client';

export async function reconcileStaleRuns(db: Db, queues: Map<string, Queue>, kindToQueues: Map<string, string[]>): Promise<number> {
  const running = await db.jobRun.findMany({ where: { status: 'running' }, select: { id: true, kind: true } });
  let settled = 0;
  for (const run of running) {
    let job;
    for (const name of kindToQueues.get(run.kind) ?? []) {
      job = await queues.get(name)?.getJob(run.id);
      if (job) break;
    }
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
