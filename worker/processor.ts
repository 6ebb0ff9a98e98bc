// Turns a typed job handler into a BullMQ processor: validates the payload (malformed = permanent failure),
// records start/outcome in the JobRun row, and decides retry vs. fail-for-good. A handler throws
// PermanentJobError (or anything not transient) to fail for good; TransientJobError (or a transient storage
// error that outlived the storage layer's own retries) lets BullMQ retry with backoff.
import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import type { Db } from '../lib/db/client';
import type { JobDefinition } from '../lib/jobs/define';
import { JobReporter } from '../lib/jobs/reporter';
import type { Logger } from '../lib/log';
import { isTransient } from '../lib/blob';

export class TransientJobError extends Error {
  name = 'TransientJobError';
}

/** A fault that retrying cannot fix (missing source, invalid settings): the job fails for good. */
export class PermanentJobError extends Error {
  name = 'PermanentJobError';
}

export type JobContext = { db: Db; reporter: JobReporter; signal: AbortSignal; log: Logger };
export type JobOutcome = { status: 'succeeded' | 'partial' | 'failed'; result?: object; error?: string };
export type JobHandler<S extends z.ZodObject> = (data: z.output<S>, ctx: JobContext) => Promise<JobOutcome>;

export function makeProcessor<S extends z.ZodObject>(def: JobDefinition<S>, handler: JobHandler<S>, deps: { db: Db; log: Logger; workerId: string }) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<object | undefined> => {
    const parsed = def.schema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Malformed ${def.queue} job payload: ${parsed.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')}`);
    const data = parsed.data;
    const { jobRunId } = data as { jobRunId: string };
    const reporter = new JobReporter(deps.db, jobRunId, { workerId: deps.workerId, onProgress: (f) => void job.updateProgress(Math.round(f * 100)) });
    const log = deps.log.child({ queue: def.queue, jobRunId });
    await reporter.start(job.attemptsMade + 1);
    try {
      const outcome = await handler(data, { db: deps.db, reporter, signal: signal ?? new AbortController().signal, log });
      await reporter.finish(outcome.status, { result: outcome.result, error: outcome.error });
      return outcome.result;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const retryable = err instanceof TransientJobError || (!(err instanceof PermanentJobError) && isTransient(err));
      const willRetry = retryable && !signal?.aborted && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      if (willRetry) {
        await deps.db.jobRun.update({ where: { id: jobRunId }, data: { status: 'queued', step: `retrying after: ${message}`, error: message } });
        throw err;
      }
      log.error({ err }, 'job failed');
      await reporter.finish('failed', { error: message });
      throw new UnrecoverableError(message);
    }
  };
}
