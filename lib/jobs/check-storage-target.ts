// Job: prove a storage target round-trips (write, read back and compare, list, delete a probe object).
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const checkStorageTargetJob = defineJob({
  queue: 'check-storage-target',
  kind: 'check_storage_target',
  attempts: 1,
  schema: jobBase.extend({ storageTargetId: z.string().min(1) }),
});

export type CheckStorageTargetData = z.output<typeof checkStorageTargetJob.schema>;
