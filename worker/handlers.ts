// The worker's map from job definition to handler. One processor module per job kind.
import { checkStorageTargetJob } from '../lib/jobs/check-storage-target';
import { checkStorageTarget } from './processors/check-storage-target';

export const handlers = [{ def: checkStorageTargetJob, handler: checkStorageTarget }] as const;
