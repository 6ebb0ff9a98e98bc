import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll } from './contract';
import { withFaults } from './faulty';
import { LocalBlobStore } from './local';
import { PROBE_PREFIX, checkBlobStore } from './probe';
import { withReadOnly } from './readonly';
import type { BlobStore } from './types';

describe('checkBlobStore', () => {
  let dir: string;
  let local: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-probe-'));
    local = new LocalBlobStore(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('succeeds on a healthy store, reports latencies and leaves nothing behind', async () => {
    const res = await checkBlobStore(local, { size: 300 * 1024 });
    expect(res).toMatchObject({ ok: true, bytes: 300 * 1024 });
    expect(res.key.startsWith(PROBE_PREFIX)).toBe(true);
    expect(res.latencyMs.total).toBeGreaterThanOrEqual(res.latencyMs.put! + res.latencyMs.get!);
    expect(await listAll(local, PROBE_PREFIX)).toEqual([]);
  });

  it('reports a refused write as a failed put step, without throwing', async () => {
    const res = await checkBlobStore(withReadOnly(local));
    expect(res.ok).toBe(false);
    expect(res.step).toBe('put');
    expect(res.error).toMatch(/^put failed on local:.* \(read-only\): put "lifeboat-probe\/.*" refused: .* is opened read-only$/);
    expect(res.latencyMs.put).toBeUndefined();
  });

  it('catches corrupted reads in the verify step and cleans up the probe object', async () => {
    const res = await checkBlobStore(withFaults(local, { rules: [{ op: 'get', every: 1, afterBytes: 1000, truncate: true }] }));
    expect(res).toMatchObject({ ok: false, step: 'verify' });
    expect(res.error).toContain('read back 1000 bytes');
    expect(await listAll(local, PROBE_PREFIX)).toEqual([]);
  });

  it('catches a listing that misses the object', async () => {
    const hiding: BlobStore = { ...local, put: local.put.bind(local), get: local.get.bind(local),
      head: local.head.bind(local), delete: local.delete.bind(local), describe: () => 'hiding',
      list: async function* () {} };
    const res = await checkBlobStore(hiding);
    expect(res).toMatchObject({ ok: false, step: 'list' });
    expect(res.error).toContain('did not return the object just written');
    expect(await listAll(local, PROBE_PREFIX)).toEqual([]);
  });

  it('catches a delete that does not delete', async () => {
    const sticky: BlobStore = { put: local.put.bind(local), get: local.get.bind(local), head: local.head.bind(local),
      list: local.list.bind(local), describe: () => 'sticky', delete: async () => {} };
    const res = await checkBlobStore(sticky);
    expect(res).toMatchObject({ ok: false, step: 'verify-delete' });
    expect(res.error).toBe('verify-delete failed on sticky: the object is still there after delete');
    await rm(join(dir, 'lifeboat-probe'), { recursive: true, force: true });
  });

  it('reports storage errors with the step and the store', async () => {
    const res = await checkBlobStore(withFaults(local, { rules: [{ op: 'head', every: 1 }] }));
    expect(res).toMatchObject({ ok: false, step: 'verify-delete' });
    expect(res.error).toContain('injected fault: head');
  });

  it('rejects when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(checkBlobStore(local, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
