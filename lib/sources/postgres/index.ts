// lib/sources/postgres: PostgreSQL logical backups (pg_dump custom format streamed into the repository) with
// a validation manifest, and restores into a new database that are validated against it. Import from here.
export { backupPostgresLogical, type PgBackupRepo, type PostgresBackupOptions, type PostgresBackupProgress, type PostgresBackupResult } from './backup';
export {
  PgRestoreError, databasesIn, restorePostgresLogical,
  type PgRestoreRepo, type PostgresRestoreOptions, type PostgresRestoreProgress, type PostgresRestoreResult,
} from './restore';
export { PgConnectionError, PgToolError, describeConnection, pgBinDir, type PgConnection } from './connection';
export { POSTGRES_FORMAT, dumpFileName, readPostgresMeta, type DatabaseEntry, type PostgresMeta } from './format';
export { CHECKSUM_ALGORITHM, describeMismatches, type Mismatch, type TableCheck, type ValidationReport } from './manifest';
export { runSmokeQueries, validateRestoredDatabase, type SmokeResult } from './validate';
