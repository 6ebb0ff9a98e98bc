// Lock behaviour when storage fails: refresh retries, lost locks, release retries, no leftovers after errors.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBlobStore, TransientBlobError, withFaults, type FaultRule } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { acquireLock } from './acquire';
import { listLocks } from './list';
import { LockLostError } from './schema';

const key = generateMasterKey();
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function faultyStore(rules: FaultRule[]) {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-lockfault-'));
  dirs.push(dir);
  const inner = new LocalBlobStore(dir, { fsync: false });
  return { inner, store: withFaults(inner, { rules }) };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('locks under storage faults', () => {
  it('retries a failed automatic refresh before the lock expires', async () => {
    const { store } = await faultyStore([{ op: 'put', calls: [2] }]); // put 1 takes the lock, put 2 is the first refresh
    const lock = await acquireLock(store, key, { exclusive: false, operation: 'backup', ttlMs: 900 });
    const first = lock.id;
    await sleep(1400);
    expect(store.faults.injected.map((f) => f.op)).toEqual(['put']);
    expect(lock.isLost).toBe(false);
    expect(lock.id).not.toBe(first);
    await lock.release();
  });

  it('is lost when refreshing fails until the lock expires', async () => {
    const { store, inner } = await faultyStore([{ op: 'put', calls: Array.from({ length: 100 }, (_, i) => i + 2) }]);
    const lock = await acquireLock(store, key, { exclusive: true, operation: 'prune', ttlMs: 600 });
    const err = await Promise.race([lock.lost, sleep(3000).then(() => null)]);
    expect(err).toBeInstanceOf(LockLostError);
    expect(err!.message).toMatch(/lock for prune \(exclusive\) expired at .* (before it could be refreshed|without a successful refresh)/);
    expect(lock.signal.reason).toBe(err);
    await expect(lock.refresh()).rejects.toBe(err);
    await lock.release();
    expect((await listLocks(inner, key)).locks).toEqual([]);
  });

  it('release can be retried after a failed delete', async () => {
    const { store, inner } = await faultyStore([{ op: 'delete', calls: [1] }]);
    const lock = await acquireLock(store, key, { exclusive: false, operation: 'backup', autoRefresh: false });
    await expect(lock.release()).rejects.toBeInstanceOf(TransientBlobError);
    expect((await listLocks(inner, key)).locks.map((e) => e.id)).toEqual([lock.id]);
    await expect(lock.refresh()).rejects.toThrow(/was released/);
    await lock.release();
    expect((await listLocks(inner, key)).locks).toEqual([]);
  });

  it('withdraws its own lock when the check after writing it fails', async () => {
    const { store, inner } = await faultyStore([{ op: 'list', calls: [2] }]);
    await expect(acquireLock(store, key, { exclusive: true, operation: 'prune', autoRefresh: false })).rejects.toBeInstanceOf(TransientBlobError);
    expect((await listLocks(inner, key)).locks).toEqual([]);
  });
});

describe('lock watchdog', () => {
  it('marks the lock lost at expiry while a refresh request hangs', async () => {
    const { store } = await faultyStore([]);
    let hang = false;
    const hanging = {
      describe: () => store.describe(),
      list: store.list.bind(store),
      get: store.get.bind(store),
      head: store.head.bind(store),
      delete: store.delete.bind(store),
      put: (...args: Parameters<typeof store.put>) => (hang ? new Promise<never>(() => undefined) : store.put(...args)),
    };
    const lock = await acquireLock(hanging, key, { exclusive: false, operation: 'backup', ttlMs: 600 });
    hang = true;
    const started = Date.now();
    const err = await Promise.race([lock.lost, sleep(3000).then(() => null)]);
    expect(err).toBeInstanceOf(LockLostError);
    expect(err!.message).toContain('without a successful refresh');
    expect(Date.now() - started).toBeLessThan(1000);
    hang = false;
    await lock.release();
    expect((await listLocks(store, key)).locks).toEqual([]);
  });

  it('withdraws the object of a refresh that lands after release', async () => {
    const { store } = await faultyStore([]);
    let slow = false;
    const slowPuts = {
      describe: () => store.describe(),
      list: store.list.bind(store),
      get: store.get.bind(store),
      head: store.head.bind(store),
      delete: store.delete.bind(store),
      // Ignores the abort signal on purpose: the write lands after release.
      put: async (k: string, body: Parameters<typeof store.put>[1]) => {
        if (slow) await sleep(200);
        return store.put(k, body);
      },
    };
    const lock = await acquireLock(slowPuts, key, { exclusive: false, operation: 'backup', autoRefresh: false });
    slow = true;
    const refreshing = lock.refresh();
    await lock.release();
    await expect(refreshing).rejects.toThrow(/released during a refresh/);
    expect((await listLocks(store, key)).locks).toEqual([]);
  });
});
