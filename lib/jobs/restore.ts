// Job: restore a filesystem/config restore point into a directory on the worker's machine.
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const restoreJob = defineJob({
  queue: 'restore',
  kind: 'restore',
  attempts: 1,
  schema: jobBase.extend({
    restorePointId: z.string().min(1),
    targetPath: z.string().refine((p) => p.startsWith('/'), 'targetPath must be absolute'),
    /** Path inside the snapshot whose contents land in targetPath; default: the snapshot's single path. */
    from: z.string().optional(),
  }),
});
