// The worker's map from job definition to handler. One processor module per job kind. Data-moving jobs
// run in worker threads (thread.ts) so the main event loop stays free for BullMQ's lock renewals.
import { backupJob } from '../lib/jobs/backup';
import { checkStorageTargetJob } from '../lib/jobs/check-storage-target';
import { restoreJob } from '../lib/jobs/restore';
import { restoreDatabaseJob } from '../lib/jobs/restore-database';
import { recoverDatabaseJob } from '../lib/jobs/recover-database';
import { verifyJob } from '../lib/jobs/verify';
import { checkStorageTarget } from './processors/check-storage-target';
import { inThread } from './thread';

const processor = (name: string) => new URL(`./processors/${name}.ts`, import.meta.url);

export const handlers = [
  { def: checkStorageTargetJob, handler: checkStorageTarget },
  { def: backupJob, handler: inThread<typeof backupJob.schema>(processor('backup'), 'backup') },
  { def: restoreJob, handler: inThread<typeof restoreJob.schema>(processor('restore'), 'restore') },
  { def: restoreDatabaseJob, handler: inThread<typeof restoreDatabaseJob.schema>(processor('restore-database'), 'restoreDatabase') },
  { def: recoverDatabaseJob, handler: inThread<typeof recoverDatabaseJob.schema>(processor('recover-database'), 'recoverDatabase') },
  { def: verifyJob, handler: inThread<typeof verifyJob.schema>(processor('verify'), 'verify') },
] as const satisfies readonly { def: { queue: string }; handler: unknown }[];

