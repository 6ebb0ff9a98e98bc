// Job: back up one source into its storage target's repository and record the restore point. Database
// sources always take a complete dump or base backup (`mode` matters for files only).
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const backupJob = defineJob({
  queue: 'backup',
  kind: 'backup',
  attempts: 3,
  schema: jobBase.extend({
    sourceId: z.string().min(1),
    mode: z.enum(['incremental', 'full']).default('incremental'),
    /** PostgreSQL sources: a dump (logical) or a base backup (physical) instead of the source's configured backupKind. */
    backupKind: z.enum(['logical', 'physical']).optional(),
  }),
});
