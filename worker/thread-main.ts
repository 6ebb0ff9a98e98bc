// Inside a job thread (see thread.ts; loaded through thread-entry.mjs): own catalog client and reporter, the handler, the outcome by message.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { isTransient } from '../lib/blob';
import { readEnv } from '../lib/config/env';
import { createDb } from '../lib/db/client';
import { JobReporter } from '../lib/jobs/reporter';
import { log } from '../lib/log';
import { PermanentJobError, type JobHandler } from './processor';
import type { ThreadMessage } from './thread';

const { module, exportName, data } = workerData as { module: string; exportName: string; data: { jobRunId: string } };
const controller = new AbortController();
parentPort!.on('message', (m: { type: string; reason?: string }) => {
  if (m.type === 'abort') controller.abort(new Error(m.reason ?? 'aborted'));
});

const db = createDb(readEnv(['DATABASE_URL']).DATABASE_URL);
const post = (m: ThreadMessage) => parentPort!.postMessage(m);
try {
  const handler = (await import(module))[exportName] as JobHandler<never>;
  const reporter = new JobReporter(db, data.jobRunId, { workerId: `thread-${threadId}` });
  const outcome = await handler(data as never, { db, reporter, signal: controller.signal, log: log.child({ jobRunId: data.jobRunId, thread: threadId }) });
  await reporter.flush();
  post({ type: 'done', outcome });
} catch (err) {
  const e = err as Error;
  post({ type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(err), transient: isTransient(err), permanent: err instanceof PermanentJobError });
} finally {
  await db.$disconnect().catch(() => {});
  parentPort!.close();
}
