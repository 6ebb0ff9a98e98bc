// Taking a repository lock (docs/repository-format.md §10).
// acquireLock: list locks/ and give up early if a live conflicting lock exists; otherwise write our lock, list
// again and, if a conflicting lock appeared meanwhile, delete ours and back off. Retries with jittered,
// doubling delays until `waitMs` (real time) has passed (default 0: one attempt), then rejects with
// LockConflictError naming the holder. Two takers racing for exclusive locks may both back off, never both
// win. Storage errors reject as they are (our own lock is deleted first when it was written); aborts reject
// with the signal's reason. Requires a store whose listings show completed puts (S3 since 2020, RGW, local).
import { hostname as osHostname } from 'node:os';
import type { BlobStore } from '../../blob';
import type { MasterKey } from '../crypto/master-key';
import { AAD } from '../crypto/sealed-box';
import { deleteObject, saveObject } from '../objects';
import { HeldLock } from './held';
import { findConflicts, listLocks } from './list';
import { DEFAULT_LOCK_TTL_MS, LOCK_VERSION, LockConflictError, type LockEntry, type LockInfo, type UnreadableLock } from './schema';

export interface AcquireLockOptions {
  exclusive: boolean;
  /** What the lock protects, shown to others: backup, restore, check, forget, prune, ... */
  operation: string;
  /** Time to live; refreshed every ttlMs/3 (default 5 minutes). */
  ttlMs?: number;
  /** How long to keep retrying while the repository is locked (default 0: fail at once). */
  waitMs?: number;
  /** First retry delay, doubled up to 10 s, each jittered ±50% (default 500 ms). */
  retryDelayMs?: number;
  signal?: AbortSignal;
  /** Clock for lock times and staleness (tests inject a fake one). Default Date.now. */
  now?: () => number;
  /** Refresh automatically on a timer (default true). */
  autoRefresh?: boolean;
  hostname?: string;
  pid?: number;
}

export type Lock = HeldLock;

const MAX_RETRY_DELAY_MS = 10_000;

export async function acquireLock(store: BlobStore, key: MasterKey, opts: AcquireLockOptions): Promise<Lock> {
  const now = opts.now ?? Date.now;
  const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  if (!(ttlMs > 0)) throw new RangeError(`lock ttlMs must be positive, got ${ttlMs}`);
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let delay = opts.retryDelayMs ?? 500;
  for (;;) {
    opts.signal?.throwIfAborted();
    const attempt = await tryOnce(store, key, opts, now, ttlMs);
    if ('lock' in attempt) return attempt.lock;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new LockConflictError(attempt.conflicts, opts);
    await sleep(Math.min(remaining, delay * (0.5 + Math.random())), opts.signal);
    delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
  }
}

type Attempt = { lock: Lock } | { conflicts: Array<LockEntry | UnreadableLock> };

async function tryOnce(store: BlobStore, key: MasterKey, opts: AcquireLockOptions, now: () => number, ttlMs: number): Promise<Attempt> {
  const before = findConflicts(await listLocks(store, key, { signal: opts.signal }), opts.exclusive, now());
  if (before.length > 0) return { conflicts: before };
  const t = now();
  const info: LockInfo = {
    version: LOCK_VERSION,
    time: new Date(t).toISOString(),
    expires: new Date(t + ttlMs).toISOString(),
    hostname: opts.hostname ?? osHostname(),
    pid: opts.pid ?? process.pid,
    exclusive: opts.exclusive,
    operation: opts.operation,
  };
  const id = await saveObject(store, 'locks', key, AAD.lock, info, opts.signal);
  let after: Array<LockEntry | UnreadableLock>;
  try {
    // Our own lock is not read back: on radosgw each small GET waits ~45 ms for its body.
    after = findConflicts(await listLocks(store, key, { signal: opts.signal, known: { id, lock: info } }), opts.exclusive, now(), id);
  } catch (err) {
    await deleteObject(store, 'locks', id).catch(() => undefined);
    throw err;
  }
  if (after.length > 0) {
    await deleteObject(store, 'locks', id);
    return { conflicts: after };
  }
  return { lock: new HeldLock({ store, key, ttlMs, now, autoRefresh: opts.autoRefresh ?? true }, id, info) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
