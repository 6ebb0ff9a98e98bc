// Job: back up one source into its storage target's repository and record the restore point.
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const backupJob = defineJob({
  queue: 'backup',
  kind: 'backup',
  attempts: 3,
  schema: jobBase.extend({ sourceId: z.string().min(1), mode: z.enum(['incremental', 'full']).default('incremental') }),
});
