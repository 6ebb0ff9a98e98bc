// Job: restore one database of a logical restore point (PostgreSQL or MySQL/MariaDB) into a NEW database on
// the server of a catalog source (the backed-up source itself, or a staging source of the same kind), then
// validate it (manifest comparison, smoke queries). Ids and names only: the worker reads connection
// settings and the sealed password from the catalog.
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const restoreDatabaseJob = defineJob({
  queue: 'restore-database',
  kind: 'restore',
  attempts: 1,
  schema: jobBase.extend({
    restorePointId: z.string().min(1),
    /** The source whose server receives the new database (same kind as the restore point's source). */
    serverSourceId: z.string().min(1),
    /** Name of the database to create; the restore refuses an existing one. */
    targetDatabase: z.string().min(1).max(64),
    /** Which database of the restore point (required when it holds several). */
    database: z.string().min(1).optional(),
  }),
});

export type RestoreDatabaseData = z.output<typeof restoreDatabaseJob.schema>;
