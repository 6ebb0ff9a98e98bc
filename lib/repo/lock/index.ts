// lib/repo/lock: repository locks (docs/repository-format.md §10). Import from here; inner modules may change.
export {
  DEFAULT_LOCK_TTL_MS, LOCK_VERSION, LockConflictError, LockFormatError, LockLostError, conflictsWith, describeHolder,
  isStale, lockSchema, type LockEntry, type LockInfo, type UnreadableLock,
} from './schema';
export { findConflicts, listLocks, loadLock, removeStaleLocks, type LockListing, type RemoveStaleLocksResult } from './list';
export { acquireLock, type AcquireLockOptions, type Lock } from './acquire';
export { HeldLock } from './held';
