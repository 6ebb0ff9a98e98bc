// Job: point-in-time recovery of one database of a WAL-archived PostgreSQL source into a NEW database on a
// staging server: the worker recovers the cluster (newest fitting base backup + archived WAL up to the
// target) into a private scratch directory, copies the database over and validates the copy. Ids, names and
// the target only: connection settings, passwords and the repository come from the catalog.
import { z } from 'zod';
import { defineJob, jobBase } from './define';

export const recoveryTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('time'), time: z.iso.datetime({ offset: true }) }),
  z.object({ kind: z.literal('latest') }),
]);

export const recoverDatabaseJob = defineJob({
  queue: 'recover-database',
  kind: 'restore',
  attempts: 1,
  schema: jobBase.extend({
    /** The WAL-archived source: its storage target holds the base backups and the archive. */
    sourceId: z.string().min(1),
    /** Which cluster of the source's base backups (needed only when there are several). */
    systemId: z.string().regex(/^\d+$/).optional(),
    target: recoveryTargetSchema,
    /** The database of the recovered cluster to copy. */
    database: z.string().min(1).max(64),
    /** The source whose server receives the new database (a staging PostgreSQL source). */
    serverSourceId: z.string().min(1),
    targetDatabase: z.string().min(1).max(64),
  }),
});

export type RecoverDatabaseData = z.output<typeof recoverDatabaseJob.schema>;
