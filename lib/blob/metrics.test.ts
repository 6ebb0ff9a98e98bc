import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll } from './contract';
import { withFaults } from './faulty';
import { getBuffer, readAll } from './io';
import { LocalBlobStore } from './local';
import { createBlobMetrics, snapshotMetrics, withMetrics } from './metrics';

describe('withMetrics', () => {
  let dir: string;
  let local: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-metrics-'));
    local = new LocalBlobStore(dir, { fsync: false });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('counts calls, bytes, items, errors and latency per operation', async () => {
    const metrics = createBlobMetrics();
    let clock = 0;
    const faulty = withFaults(local, { rules: [{ op: 'head', calls: [2] }] });
    const store = withMetrics(faulty, { metrics, now: () => (clock += 10) });
    await store.put('m/a', () => Buffer.alloc(1000));
    await store.put('m/b', () => Buffer.alloc(24));
    expect((await getBuffer(store, 'm/a')).length).toBe(1000);
    expect((await getBuffer(store, 'm/a', { range: { offset: 10, length: 90 } })).length).toBe(90);
    await store.head('m/a');
    await expect(store.head('m/a')).rejects.toThrow('injected');
    await expect(store.head('m/none')).rejects.toThrow('not found');
    expect((await listAll(store, 'm/')).length).toBe(2);
    await store.delete('m/b');
    const snap = snapshotMetrics(metrics);
    expect(snap.ops.put).toMatchObject({ calls: 2, errors: 0, bytes: 1024 });
    expect(snap.ops.get).toMatchObject({ calls: 2, errors: 0, bytes: 1090 });
    expect(snap.ops.head).toMatchObject({ calls: 3, errors: 2 });
    expect(snap.ops.list).toMatchObject({ calls: 1, items: 2 });
    expect(snap.ops.delete).toMatchObject({ calls: 1, errors: 0 });
    expect(snap.errorsByCode).toEqual({ BLOB_TRANSIENT: 1, BLOB_NOT_FOUND: 1 });
    expect(snap.ops.put.latencyMsTotal).toBe(20);
    expect(snap.ops.put.latencyMsMax).toBe(10);
    expect(store.describe()).toBe(faulty.describe());
  });

  it('counts only the bytes actually read, and stream errors as get errors', async () => {
    const metrics = createBlobMetrics();
    await local.put('m/big', () => Buffer.alloc(200_000));
    const faulty = withFaults(local, { rules: [{ op: 'get', calls: [2], afterBytes: 5000 }] });
    const store = withMetrics(faulty, { metrics });
    const s = await store.get('m/big');
    s.destroy();
    await expect(readAll(await store.get('m/big'))).rejects.toThrow('injected');
    expect(metrics.ops.get.errors).toBe(1);
    expect(metrics.ops.get.bytes).toBeLessThanOrEqual(5000 + 65536);
  });
});
