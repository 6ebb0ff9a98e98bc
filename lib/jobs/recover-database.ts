// Job: point-in-time recovery of one database into a NEW database on a staging server. PostgreSQL (WAL
// archived): the worker recovers the cluster (newest fitting base backup + archived WAL up to the target) into
// a private scratch directory, copies the database over and validates the copy. MySQL/MariaDB (binary logs
// archived): the newest dump before the target is restored and validated, then the binlogs replayed up to it.
// Ids, names and the target only: connection settings, passwords and the repository come from the catalog.
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
    /** The source: its storage target holds the base backups or dumps, and the WAL or binlog archive. */
    sourceId: z.string().min(1),
    /** PostgreSQL: which cluster of the source's base backups (needed only when there are several). */
    systemId: z.string().regex(/^\d+$/).optional(),
    target: recoveryTargetSchema,
    /** The database to recover (of the cluster, or of the dump). */
    database: z.string().min(1).max(64),
    /** The source whose server receives the new database (a staging source of the same kind). */
    serverSourceId: z.string().min(1),
    targetDatabase: z.string().min(1).max(64),
  }),
});

export type RecoverDatabaseData = z.output<typeof recoverDatabaseJob.schema>;
