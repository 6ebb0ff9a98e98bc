// Starting a job: a JobRun row is written first (status queued) and its id becomes the BullMQ job id, so
// the console can show the job before the worker picks it up, and enqueueing twice is a no-op. If Redis
// refuses the job, the row is marked failed and the caller gets a clear error; nothing is left "queued".
import { Queue } from 'bullmq';
import type { z } from 'zod';
import type { Db } from '../db/client';
import { ApiError } from '../api/errors';
import { producerConnection, producerReady } from './connection';
import type { JobDefinition } from './define';

const queues = new Map<string, Queue>();

export function queueFor(def: JobDefinition<z.ZodObject>): Queue {
  let q = queues.get(def.queue);
  if (!q) {
    q = new Queue(def.queue, { connection: producerConnection() });
    queues.set(def.queue, q);
  }
  return q;
}

type RunLinks = { requestedById?: string | null; sourceId?: string | null; storageTargetId?: string | null; restorePointId?: string | null };

export async function enqueueJob<S extends z.ZodObject>(
  db: Db,
  def: JobDefinition<S>,
  data: Omit<z.input<S>, 'jobRunId'>,
  links: RunLinks = {},
): Promise<{ jobRunId: string }> {
  const run = await db.jobRun.create({ data: { kind: def.kind, status: 'queued', step: 'waiting for a worker', ...links } });
  const payload = def.schema.parse({ ...data, jobRunId: run.id });
  try {
    await producerReady();
    await queueFor(def).add(def.queue, payload, {
      jobId: run.id,
      attempts: def.attempts,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  } catch {
    await db.jobRun.update({
      where: { id: run.id },
      data: { status: 'failed', finishedAt: new Date(), error: `Could not enqueue: the job queue (Redis) is unavailable` },
    });
    throw new ApiError('unavailable', 'The job queue (Redis) is unavailable; try again shortly');
  }
  return { jobRunId: run.id };
}
