// Reading and cleaning `locks/` (docs/repository-format.md §10).
// - listLocks loads every lock (8 at a time) and splits them into readable locks (oldest first) and unreadable
//   ones (IntegrityError, bad JSON shape, unknown version), so one corrupt object neither hides the others nor
//   vanishes silently. Locks deleted while listing (released or refreshed meanwhile) are skipped.
// - findConflicts applies the §10 rules; an unreadable lock always conflicts (it may be an exclusive one).
// - removeStaleLocks deletes locks whose `expires` is in the past by `now()`; it never touches unreadable
//   or live ones. Safe to run concurrently with holders: a live holder's lock is never stale by §10.
import { isNotFound, type BlobStore } from '../../blob';
import type { MasterKey } from '../crypto/master-key';
import { CompressionError } from '../compress';
import { AAD, IntegrityError } from '../crypto/sealed-box';
import { objectKey } from '../layout';
import { deleteObject, listObjectIds, loadObject } from '../objects';
import {
  LockFormatError, conflictsWith, isStale, lockSchema, type LockEntry, type LockInfo, type UnreadableLock,
} from './schema';

export interface LockListing {
  locks: LockEntry[];
  unreadable: UnreadableLock[];
}

const CONCURRENCY = 8;

export async function loadLock(store: BlobStore, key: MasterKey, id: string, signal?: AbortSignal): Promise<LockInfo> {
  const value = await loadObject<unknown>(store, 'locks', key, AAD.lock, id, signal);
  const parsed = lockSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'lock'}: ${i.message}`).join('; ');
    throw new LockFormatError(`${objectKey('locks', id)}: not a valid lock: ${problems}`);
  }
  return parsed.data;
}

/** `known`: locks whose content the caller has (its own, just written): listed without reading them back. */
export async function listLocks(store: BlobStore, key: MasterKey, opts: { signal?: AbortSignal; known?: LockEntry } = {}): Promise<LockListing> {
  const listing: LockListing = { locks: [], unreadable: [] };
  const ids = (await listObjectIds(store, 'locks', opts.signal)).filter((id) => {
    if (id !== opts.known?.id) return true;
    listing.locks.push(opts.known);
    return false;
  });
  for (let i = 0; i < ids.length; i += CONCURRENCY) {
    await Promise.all(ids.slice(i, i + CONCURRENCY).map(async (id) => {
      try {
        listing.locks.push({ id, lock: await loadLock(store, key, id, opts.signal) });
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isUnreadable(err)) throw err; // storage failures and aborts say nothing about the lock
        listing.unreadable.push({ id, error: err });
      }
    }));
  }
  listing.locks.sort((a, b) => Date.parse(a.lock.time) - Date.parse(b.lock.time) || (a.id < b.id ? -1 : 1));
  return listing;
}

/** Locks in `listing` (other than `ownId`) that forbid holding a lock of kind `exclusive` at `nowMs`. */
export function findConflicts(listing: LockListing, exclusive: boolean, nowMs: number, ownId?: string): Array<LockEntry | UnreadableLock> {
  return [
    ...listing.locks.filter((e) => e.id !== ownId && conflictsWith(e.lock, exclusive, nowMs)),
    ...listing.unreadable.filter((e) => e.id !== ownId),
  ];
}

export interface RemoveStaleLocksResult {
  removed: string[];
  /** Lock ids that could not be read and were left in place (remove them by hand once sure nobody holds them). */
  unreadable: string[];
}

export async function removeStaleLocks(
  store: BlobStore, key: MasterKey, opts: { now?: () => number; signal?: AbortSignal } = {},
): Promise<RemoveStaleLocksResult> {
  const listing = await listLocks(store, key, { signal: opts.signal });
  const nowMs = (opts.now ?? Date.now)();
  const stale = listing.locks.filter((e) => isStale(e.lock, nowMs)).map((e) => e.id);
  for (const id of stale) await deleteObject(store, 'locks', id, opts.signal);
  return { removed: stale, unreadable: listing.unreadable.map((e) => e.id) };
}

/** The object is there but is not a lock this reader can use. */
function isUnreadable(err: unknown): err is Error {
  return err instanceof IntegrityError || err instanceof CompressionError || err instanceof LockFormatError;
}
