// The worker's map from job definition to handler. One processor module per job kind.
import { backupJob } from '../lib/jobs/backup';
import { checkStorageTargetJob } from '../lib/jobs/check-storage-target';
import { restoreJob } from '../lib/jobs/restore';
import { verifyJob } from '../lib/jobs/verify';
import { backup } from './processors/backup';
import { checkStorageTarget } from './processors/check-storage-target';
import { restore } from './processors/restore';
import { verify } from './processors/verify';

export const handlers = [
  { def: checkStorageTargetJob, handler: checkStorageTarget },
  { def: backupJob, handler: backup },
  { def: restoreJob, handler: restore },
  { def: verifyJob, handler: verify },
] as const;
