// lib/sources/postgres/physical: PostgreSQL base backups, the WAL archive and point-in-time recovery
// (docs/postgres-pitr.md, format docs/repository-format.md §9.5). Import from here.
export { checkArchiving, type ArchiveCheck, type ArchiveCheckResult } from './archive-check';
export { BaseBackupError, backupPostgresPhysical, type BaseBackupOptions, type BaseBackupProgress, type BaseBackupRepo, type BaseBackupResult } from './base-backup';
export { BaseBackupCheckError, baseBackupProblem, checkBaseBackupContent, type BaseBackupCheck } from './content-check';
export { BASE_DIR, BASE_FILE, PHYSICAL_FORMAT, baseBackupsIn, physicalMetaOf, type BaseBackupEntry, type PhysicalMeta } from './format';
export { recoverToDatabase, type RecoverToDatabaseOptions, type RecoverToDatabaseResult } from './recover-to-database';
export { RecoverError, recoverPostgres, type RecoverOptions, type RecoverProgress, type RecoverResult } from './recover';
export { TablespaceError, parseTablespaceMappings } from './tablespaces';
export {
  WAL_DIR, WalArchive, WalConflictError, WalNameError, walBySystem, checkSystemId, checkWalFileName, parseLsn, segmentOfLsn, systemIdOfDataDir,
  type ArchivedWal,
} from './wal-archive';
export { chooseBaseBackup, recoveryWindow, walRunFrom, type RecoveryTarget, type RecoveryWindow } from './window';
