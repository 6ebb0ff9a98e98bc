// Job: verify a restore point (structure, optional read-data share, optional test restore) and record it.
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const verifyJob = defineJob({
  queue: 'verify',
  kind: 'verify',
  attempts: 1,
  schema: jobBase.extend({
    restorePointId: z.string().min(1),
    readDataPercent: z.number().min(0).max(100).default(0),
    testRestore: z.boolean().default(true),
  }),
});
