// Repository upkeep that needs the exclusive lock (docs/repository-format.md §10.1), run by
// `lifeboat maintenance` and, once the index has grown, after backups:
// - compactIndexWhenLarge: merges small index files once there are AUTO_COMPACT_INDEX_FILES of them (each
//   backup adds one, and every command that loads the index pays a GET and a decryption per file). It waits
//   for nobody: while any other lock is held it skips, and a later backup tries again.
// - mergeIndexAfterBackup: that, best effort, for the CLI's and the worker's backups.
import type { BlobStore } from '../blob';
import type { MasterKey } from './crypto/master-key';
import { compactIndex, type CompactIndexResult } from './index/compact';
import { acquireLock, LockConflictError } from './lock';
import { listObjectIds } from './objects';

/** Index files that make a backup merge them afterwards (~0.15 s of loading on a local radosgw). */
export const AUTO_COMPACT_INDEX_FILES = 32;

export type CompactOutcome =
  | { compacted: CompactIndexResult }
  | { skipped: 'few index files' | 'repository in use'; indexFiles: number };

export interface CompactWhenLargeOptions {
  signal?: AbortSignal;
  /** Merge only once there are this many index files (default AUTO_COMPACT_INDEX_FILES). */
  minFiles?: number;
  /** How long to wait for the exclusive lock (default 0). */
  lockWaitMs?: number;
  /** Reject with the LockConflictError instead of skipping while others hold locks. */
  failWhenLocked?: boolean;
}

export async function compactIndexWhenLarge(store: BlobStore, key: MasterKey, opts: CompactWhenLargeOptions = {}): Promise<CompactOutcome> {
  const indexFiles = (await listObjectIds(store, 'index', opts.signal)).length;
  if (indexFiles < (opts.minFiles ?? AUTO_COMPACT_INDEX_FILES)) return { skipped: 'few index files', indexFiles };
  const lock = await acquireLock(store, key, { exclusive: true, operation: 'maintenance', waitMs: opts.lockWaitMs ?? 0, signal: opts.signal }).catch((err: unknown) => {
    if (err instanceof LockConflictError && !opts.failWhenLocked) return null;
    throw err;
  });
  if (!lock) return { skipped: 'repository in use', indexFiles };
  try {
    return { compacted: await compactIndex(store, key, { signal: opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal }) };
  } finally {
    await lock.release().catch(() => {});
  }
}

/**
 * After a backup, once its own lock is released: compactIndexWhenLarge, best effort. Null when nothing was
 * merged; a failure goes to `onError` (which may rethrow) and the backup stands.
 */
export async function mergeIndexAfterBackup(
  repo: { store: BlobStore; masterKey: MasterKey }, signal: AbortSignal, onError: (err: unknown) => void,
): Promise<CompactIndexResult | null> {
  try {
    const outcome = await compactIndexWhenLarge(repo.store, repo.masterKey, { signal });
    return 'compacted' in outcome ? outcome.compacted : null;
  } catch (err) {
    onError(err);
    return null;
  }
}
