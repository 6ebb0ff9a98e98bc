import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { AAD } from '../crypto/sealed-box';
import { objectKey } from '../layout';
import { saveObject } from '../objects';
import { testStoreKinds } from '../snapshot/testing';
import { acquireLock, type AcquireLockOptions } from './acquire';
import { listLocks, removeStaleLocks } from './list';
import { LockConflictError, LockLostError } from './schema';

const key = generateMasterKey();
const T0 = Date.parse('2024-01-15T10:00:00.000Z');
const TTL = 60_000;

function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function take(store: BlobStore, opts: Partial<AcquireLockOptions> & { exclusive: boolean; operation: string }) {
  return acquireLock(store, key, { ttlMs: TTL, autoRefresh: false, hostname: 'h1', pid: 11, ...opts });
}

async function exists(store: BlobStore, id: string): Promise<boolean> {
  return store.head(objectKey('locks', id)).then(() => true, () => false);
}

describe.each(testStoreKinds('lock'))('locks in $name', (kind) => {
  it('lets shared locks coexist and release deletes them', async () => {
    const store = await kind.fresh();
    const a = await take(store, { exclusive: false, operation: 'backup' });
    const b = await take(store, { exclusive: false, operation: 'restore', hostname: 'h2' });
    expect((await listLocks(store, key)).locks.map((e) => e.id).sort()).toEqual([a.id, b.id].sort());
    await a.release();
    await a.release(); // idempotent
    expect(await exists(store, a.id)).toBe(false);
    expect((await listLocks(store, key)).locks.map((e) => e.lock.operation)).toEqual(['restore']);
    await b.release();
    expect(await listLocks(store, key)).toEqual({ locks: [], unreadable: [] });
  });

  it('blocks exclusive behind shared and shared behind exclusive, naming the holder', async () => {
    const store = await kind.fresh();
    const c = clock();
    const shared = await take(store, { exclusive: false, operation: 'backup', now: c.now });
    const err = await take(store, { exclusive: true, operation: 'prune', now: c.now }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockConflictError);
    expect((err as Error).message).toBe('repository is locked by backup on host h1 (pid 11) since 2024-01-15T10:00:00.000Z, ' +
      'expires 2024-01-15T10:01:00.000Z; cannot take an exclusive lock for prune');
    expect((err as LockConflictError).holders.map((h) => h.id)).toEqual([shared.id]);
    await shared.release();
    const excl = await take(store, { exclusive: true, operation: 'prune', hostname: 'x', pid: 42, now: c.now });
    for (const exclusive of [false, true]) {
      const e2 = await take(store, { exclusive, operation: 'backup', now: c.now }).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(LockConflictError);
      expect((e2 as Error).message).toContain('repository is locked exclusively by prune on host x (pid 42) since 2024-01-15T10:00:00.000Z, expires 2024-01-15T10:01:00.000Z');
    }
    expect((await listLocks(store, key)).locks.map((e) => e.id)).toEqual([excl.id]); // losers left nothing behind
    await excl.release();
  });

  it('ignores stale locks and removes only those', async () => {
    const store = await kind.fresh();
    const c = clock();
    const old = await take(store, { exclusive: true, operation: 'prune', now: c.now });
    c.advance(TTL + 1);
    const fresh = await take(store, { exclusive: false, operation: 'backup', now: c.now });
    expect(await removeStaleLocks(store, key, { now: c.now })).toEqual({ removed: [old.id], unreadable: [] });
    expect((await listLocks(store, key)).locks.map((e) => e.id)).toEqual([fresh.id]);
    expect(await removeStaleLocks(store, key, { now: c.now })).toEqual({ removed: [], unreadable: [] });
    await fresh.release();
  });

  it('refresh writes a new lock object, deletes the old one and keeps the lock live', async () => {
    const store = await kind.fresh();
    const c = clock();
    const lock = await take(store, { exclusive: true, operation: 'prune', now: c.now });
    const first = lock.id;
    c.advance(TTL / 2);
    await lock.refresh();
    expect(lock.id).not.toBe(first);
    expect(await exists(store, first)).toBe(false);
    expect(lock.info.time).toBe('2024-01-15T10:00:00.000Z'); // when it was taken, unchanged
    expect(lock.info.expires).toBe(new Date(T0 + TTL / 2 + TTL).toISOString());
    c.advance(TTL / 2 + 1); // past the first expiry, not the refreshed one
    const { locks } = await listLocks(store, key);
    expect(locks.map((e) => e.id)).toEqual([lock.id]);
    await expect(take(store, { exclusive: false, operation: 'backup', now: c.now })).rejects.toBeInstanceOf(LockConflictError);
    expect((await removeStaleLocks(store, key, { now: c.now })).removed).toEqual([]);
    await lock.release();
    expect(await listLocks(store, key)).toEqual({ locks: [], unreadable: [] });
  });

  it('is lost when it expired before a refresh, or when another process removed it', async () => {
    const store = await kind.fresh();
    const c = clock();
    const a = await take(store, { exclusive: false, operation: 'backup', now: c.now });
    c.advance(TTL + 1);
    await expect(a.refresh()).rejects.toBeInstanceOf(LockLostError);
    expect(a.isLost).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect((await a.lost).message).toMatch(/lock for backup \(shared\) expired at 2024-01-15T10:01:00.000Z before it could be refreshed/);
    await a.release();

    const b = await take(store, { exclusive: false, operation: 'check', now: c.now });
    const other = clock(c.now() + 2 * TTL); // a host whose clock runs ahead removes b as stale
    expect((await removeStaleLocks(store, key, { now: other.now })).removed).toEqual([b.id]);
    await expect(b.refresh()).rejects.toThrow(/was removed by another process/);
    expect(b.isLost).toBe(true);
    expect(await listLocks(store, key)).toEqual({ locks: [], unreadable: [] }); // the refresh's new object was withdrawn
    await b.release();
  });

  it('refreshes automatically every ttl/3', async () => {
    const store = await kind.fresh();
    // ttl 3 s: one automatic refresh at ~1 s, done well before we look at ~1.6 s and before the next one.
    const lock = await acquireLock(store, key, { exclusive: false, operation: 'backup', ttlMs: 3000 });
    const first = lock.id;
    await new Promise((r) => setTimeout(r, 1600));
    expect(lock.id).not.toBe(first);
    expect(lock.isLost).toBe(false);
    const { locks } = await listLocks(store, key);
    expect(locks.map((e) => e.id)).toEqual([lock.id]);
    expect(Date.parse(locks[0]!.lock.expires)).toBeGreaterThan(Date.now());
    await lock.release();
    expect(await listLocks(store, key)).toEqual({ locks: [], unreadable: [] });
  });

  it('treats an unreadable lock as a conflict and never removes it', async () => {
    const store = await kind.fresh();
    const bad = await saveObject(store, 'locks', key, AAD.lock, { version: 9, hostname: 'h' });
    const { unreadable } = await listLocks(store, key);
    expect(unreadable.map((u) => u.id)).toEqual([bad]);
    const err = await take(store, { exclusive: false, operation: 'backup' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(new RegExp(`^repository has a lock that cannot be read \\(locks/${bad}: .*unsupported lock version 9`));
    expect(await removeStaleLocks(store, key, { now: () => Date.now() + 1e12 })).toEqual({ removed: [], unreadable: [bad] });
  });

  it('waits up to waitMs for a conflicting lock to go away', async () => {
    const store = await kind.fresh();
    const shared = await take(store, { exclusive: false, operation: 'backup' });
    setTimeout(() => void shared.release(), 400);
    const started = Date.now();
    const excl = await take(store, { exclusive: true, operation: 'prune', waitMs: 10_000, retryDelayMs: 100 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    await excl.release();
    const ac = new AbortController();
    const blocker = await take(store, { exclusive: true, operation: 'prune' });
    setTimeout(() => ac.abort(new Error('stop waiting')), 200);
    await expect(take(store, { exclusive: false, operation: 'backup', waitMs: 10_000, signal: ac.signal })).rejects.toThrow('stop waiting');
    await blocker.release();
  });

  it('lets at most one of two concurrent exclusive takers win (5 rounds)', async () => {
    const store = await kind.fresh();
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        take(store, { exclusive: true, operation: 'prune', pid: 1 }),
        take(store, { exclusive: true, operation: 'prune', pid: 2 }),
      ]);
      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners.length).toBeLessThanOrEqual(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LockConflictError);
      const { locks } = await listLocks(store, key);
      expect(locks.length).toBe(winners.length);
      for (const w of winners) await w.value.release();
    }
  });
});
