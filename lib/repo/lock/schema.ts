// Lock objects (docs/repository-format.md §10): schema, staleness, conflict rules and the errors that name a
// holder. Pure and stateless; I/O lives in list.ts and acquire.ts.
import { z } from 'zod';

export const LOCK_VERSION = 1;
export const DEFAULT_LOCK_TTL_MS = 5 * 60_000;

const rfc3339 = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time such as 2024-01-15T10:00:00Z' });

export const lockSchema = z.object({
  version: z.literal(LOCK_VERSION, { error: (i) => `unsupported lock version ${JSON.stringify(i.input)} (this reader knows ${LOCK_VERSION})` }),
  time: rfc3339,
  expires: rfc3339,
  hostname: z.string().min(1),
  pid: z.number().int().nonnegative(),
  exclusive: z.boolean(),
  operation: z.string().min(1),
});

export type LockInfo = z.output<typeof lockSchema>;

/** A readable lock object in `locks/`. */
export interface LockEntry {
  id: string;
  lock: LockInfo;
}

/** A lock object that exists but cannot be loaded (corrupt, or from an unknown format version). */
export interface UnreadableLock {
  id: string;
  error: Error;
}

/** Stale = its holder did not refresh it in time: `expires` is in the past (§10). Anyone MAY delete it. */
export function isStale(lock: LockInfo, nowMs: number): boolean {
  return Date.parse(lock.expires) < nowMs;
}

/** Does `other` forbid taking a lock of kind `exclusive` now? Shared locks coexist; exclusive ones exclude all. */
export function conflictsWith(other: LockInfo, exclusive: boolean, nowMs: number): boolean {
  return !isStale(other, nowMs) && (exclusive || other.exclusive);
}

/** "repository is locked exclusively by prune on host X (pid N) since T, expires T2" */
export function describeHolder(entry: LockEntry | UnreadableLock): string {
  if ('error' in entry) return `repository has a lock that cannot be read (locks/${entry.id}: ${entry.error.message})`;
  const l = entry.lock;
  return `repository is locked ${l.exclusive ? 'exclusively ' : ''}by ${l.operation} on host ${l.hostname} (pid ${l.pid}) since ${l.time}, expires ${l.expires}`;
}

export class LockConflictError extends Error {
  name = 'LockConflictError';
  constructor(
    /** Locks that stood in the way, readable ones first. */
    readonly holders: Array<LockEntry | UnreadableLock>,
    want: { exclusive: boolean; operation: string },
  ) {
    const first = holders[0];
    const more = holders.length > 1 ? ` (and ${holders.length - 1} more lock${holders.length > 2 ? 's' : ''})` : '';
    super(`${first ? describeHolder(first) : 'repository is locked'}${more}; cannot take ${want.exclusive ? 'an exclusive' : 'a shared'} lock for ${want.operation}`);
  }
}

/** The lock could not be kept: refreshing failed until it expired, or another process removed it as stale. */
export class LockLostError extends Error {
  name = 'LockLostError';
}

export class LockFormatError extends Error {
  name = 'LockFormatError';
}
