// Worker process: one BullMQ Worker per job kind. SIGTERM/SIGINT close the workers gracefully: running
// jobs get LIFEBOAT_WORKER_SHUTDOWN_GRACE_SECONDS to finish; past that the process exits and BullMQ's
// stalled-job check hands them to another worker (jobs are safe to run twice). Nothing is lost.
import { hostname } from 'node:os';
import { Queue, Worker } from 'bullmq';
import { readEnvOrExit } from '../lib/config/env';
import { createDb } from '../lib/db/client';
import { workerConnection } from '../lib/jobs/connection';
import { log } from '../lib/log';
import { makeProcessor } from './processor';
import { reconcileStaleRuns } from './reconcile';
import { handlers } from './handlers';
import { scheduleWalStatus } from './wal-status';
import type { z } from 'zod';
import type { JobDefinition } from '../lib/jobs/define';

const env = readEnvOrExit(['DATABASE_URL', 'REDIS_URL', 'LIFEBOAT_SECRET_KEY', 'LIFEBOAT_WORKER_CONCURRENCY', 'LIFEBOAT_WORKER_SHUTDOWN_GRACE_SECONDS', 'LIFEBOAT_WAL_STATUS_SECONDS']);
const workerId = `${hostname()}:${process.pid}`;
const db = createDb(env.DATABASE_URL);
const connection = workerConnection();
let lastRedisWarning = 0;
connection.on('error', (err) => {
  // ioredis reconnects by itself; say so at most every 10 s instead of once per attempt.
  if (Date.now() - lastRedisWarning < 10_000) return;
  lastRedisWarning = Date.now();
  log.warn({ err: err.message }, 'Redis connection error; reconnecting');
});

const queues = new Map<string, Queue>();
const kindToQueue = new Map<string, string[]>();
for (const { def } of handlers) {
  queues.set(def.queue, new Queue(def.queue, { connection }));
  kindToQueue.set(def.kind, [...(kindToQueue.get(def.kind) ?? []), def.queue]);
}
const settled = await reconcileStaleRuns(db, queues, kindToQueue);
if (settled) log.warn({ settled }, 'settled job runs left running by a stopped worker');

const workers = handlers.map(
  ({ def, handler }) =>
    new Worker(def.queue, makeProcessor(def as JobDefinition<z.ZodObject>, handler as never, { db, log, workerId }), {
      connection,
      concurrency: env.LIFEBOAT_WORKER_CONCURRENCY,
      autorun: true,
    }),
);
for (const w of workers) w.on('error', (err) => log.debug({ err, queue: w.name }, 'worker error'));
log.info({ workerId, queues: [...queues.keys()] }, 'worker ready');
const stopWalStatus = scheduleWalStatus(db, env.LIFEBOAT_SECRET_KEY, env.LIFEBOAT_WAL_STATUS_SECONDS, log);

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  log.info({ signal }, 'worker closing: waiting for running jobs');
  stopWalStatus();
  setTimeout(() => {
    log.warn('shutdown grace period over: exiting; unfinished jobs will be picked up again by a worker');
    process.exit(1);
  }, env.LIFEBOAT_WORKER_SHUTDOWN_GRACE_SECONDS * 1000).unref();
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all([...queues.values()].map((q) => q.close()));
  await db.$disconnect();
  connection.disconnect();
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
