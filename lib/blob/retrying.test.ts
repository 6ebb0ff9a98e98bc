import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, runBlobStoreContract, streamOf } from './contract';
import { BlobNotFoundError, InvalidRangeError, PermanentBlobError, TransientBlobError } from './errors';
import { withFaults, type FaultyBlobStore } from './faulty';
import { getBuffer } from './io';
import { LocalBlobStore } from './local';
import { withRetries } from './retrying';

const quick = { baseDelayMs: 1, maxDelayMs: 5 };

// (b) The whole contract over a store that keeps failing: retries must hide every injected fault,
// and puts failing in the middle of the body must be resent from a fresh stream.
let contractFaults: FaultyBlobStore | undefined;
runBlobStoreContract('retrying over fault-injecting local directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-faulty-'));
  contractFaults = withFaults(new LocalBlobStore(dir, { fsync: false }), {
    rules: [
      { op: 'put', every: 7, afterBytes: 100 }, // fails mid-body: the retry must resend a fresh body
      { op: 'put', every: 11 }, // fails before anything is sent
      { op: 'get', every: 5 },
      { op: 'head', every: 4 },
      { op: 'delete', every: 4 },
      { op: 'list', every: 2, afterItems: 2 }, // fails mid-listing: the retry resumes after the last key
    ],
  });
  // Concurrent calls share the per-op counters, so a retry may land on another failing call number:
  // allow enough attempts that this never exhausts them.
  const store = withRetries(contractFaults, { ...quick, maxAttempts: 12 });
  return {
    store,
    cleanup: async () => {
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('withRetries', () => {
  let dir: string;
  let local: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-retry-'));
    local = new LocalBlobStore(dir, { fsync: false });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('injected faults really happened during the contract run', () => {
    expect(contractFaults?.faults.injected.length ?? 0).toBeGreaterThan(100);
    expect(new Set(contractFaults?.faults.injected.map((f) => f.op))).toEqual(new Set(['put', 'get', 'head', 'delete', 'list']));
  });

  it('re-calls the body factory on every attempt and stores the fresh body whole', async () => {
    const faulty = withFaults(local, { rules: [{ op: 'put', calls: [1, 2], afterBytes: 5000 }] });
    const data = randomBytes(50_000);
    let calls = 0;
    const store = withRetries(faulty, quick);
    const res = await store.put('r/a', () => {
      calls++;
      return streamOf(data, 1000);
    });
    expect(calls).toBe(3);
    expect(res.size).toBe(data.length);
    expect((await getBuffer(local, 'r/a')).equals(data)).toBe(true);
  });

  it('does not retry not-found, invalid range, permanent errors or foreign body errors', async () => {
    const faulty = withFaults(local, { rules: [] });
    const store = withRetries(faulty, quick);
    await expect(store.get('r/none')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.head('r/none')).rejects.toBeInstanceOf(BlobNotFoundError);
    await local.put('r/small', () => Buffer.from('abc'));
    await expect(store.get('r/small', { range: { offset: 2, length: 2 } })).rejects.toBeInstanceOf(InvalidRangeError);
    expect(faulty.faults.calls).toMatchObject({ get: 2, head: 1 });

    const perm = withFaults(local, { rules: [{ op: 'put', calls: [1], error: () => new PermanentBlobError('nope') }] });
    await expect(withRetries(perm, quick).put('r/p', () => Buffer.from('x'))).rejects.toThrow('nope');
    expect(perm.faults.calls.put).toBe(1);

    let bodies = 0;
    const boom = new Error('disk read failed');
    await expect(store.put('r/q', () => {
      bodies++;
      return Readable.from((async function* () {
        yield Buffer.alloc(10);
        throw boom;
      })(), { objectMode: false });
    })).rejects.toBe(boom);
    expect(bodies).toBe(1);
  });

  it('gives up after maxAttempts with the last transient error, backing off with jitter', async () => {
    const faulty = withFaults(local, { rules: [{ op: 'head', every: 1 }] });
    const delays: number[] = [];
    const store = withRetries(faulty, {
      maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 25, random: () => 0.5,
      onRetry: (i) => delays.push(i.delayMs),
    });
    const err = await store.head('r/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientBlobError);
    expect((err as Error).message).toContain('call 4');
    expect(faulty.faults.calls.head).toBe(4);
    expect(delays).toEqual([5, 10, 13]); // 0.5 * min(25, 10 * 2^(n-1))
  });

  it('stops backing off as soon as the signal is aborted', async () => {
    const faulty = withFaults(local, { rules: [{ op: 'head', every: 1 }] });
    const store = withRetries(faulty, { maxAttempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const started = Date.now();
    await expect(store.head('r/x', { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(faulty.faults.calls.head).toBe(1);
  });

  it('resumes a failed listing after the last key, never repeating one', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `l/${String(i).padStart(2, '0')}`);
    for (const k of keys) await local.put(k, () => Buffer.from(k));
    const faulty = withFaults(local, { rules: [{ op: 'list', calls: [1, 2, 3], afterItems: 7 }] });
    const listed = await listAll(withRetries(faulty, quick), 'l/');
    expect(listed.map((e) => e.key)).toEqual(keys);
    expect(faulty.faults.calls.list).toBe(4);
  });
});
