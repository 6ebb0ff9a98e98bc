// lib/sources/mysql: MySQL/MariaDB logical backups (mariadb-dump streamed into the repository) with a validation
// manifest taken in the dump's own snapshot, and restores into a database of any name that are validated against
// it. Import from here. Layout, consistency and what is not built: docs/mysql.md.
export { backupMysqlLogical, type MysqlBackupOptions, type MysqlBackupProgress, type MysqlBackupRepo, type MysqlBackupResult } from './backup';
export {
  MysqlRestoreError, mysqlDatabasesIn, restoreMysqlLogical,
  type MysqlRestoreOptions, type MysqlRestoreProgress, type MysqlRestoreRepo, type MysqlRestoreResult,
} from './restore';
export { MysqlConnectionError, describeConnection, type MysqlConnection } from './connection';
export { MysqlToolError } from './tool';
export { MYSQL_FORMAT, readMysqlMeta, sqlFileName, type BinlogPosition, type MysqlDatabaseEntry, type MysqlMeta, type MysqlTableCheck } from './format';
export { CHECKSUM_ALGORITHM, type Mismatch, type ValidationReport } from './manifest';
export { runSmokeQueries, validateRestoredDatabase, type SmokeResult } from './validate';
