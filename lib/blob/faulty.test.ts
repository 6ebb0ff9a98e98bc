import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, streamOf } from './contract';
import { BlobNotFoundError, PermanentBlobError, TransientBlobError } from './errors';
import { withFaults } from './faulty';
import { getBuffer, readAll } from './io';
import { LocalBlobStore } from './local';

describe('withFaults', () => {
  let dir: string;
  let local: LocalBlobStore;
  const data = randomBytes(10_000);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-faults-'));
    local = new LocalBlobStore(dir, { fsync: false });
    await local.put('f/data', () => data);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('fails exactly the listed calls of an operation, before touching the inner store', async () => {
    const store = withFaults(local, { rules: [{ op: 'head', calls: [2] }] });
    await expect(store.head('f/data')).resolves.toMatchObject({ size: 10_000 });
    await expect(store.head('f/data')).rejects.toBeInstanceOf(TransientBlobError);
    await expect(store.head('f/data')).resolves.toMatchObject({ size: 10_000 });
    expect(store.faults.injected).toEqual([{ op: 'head', key: 'f/data', call: 2 }]);
    expect(store.faults.calls.head).toBe(3);
  });

  it('fails a fraction of calls using the given random source', async () => {
    let i = 0;
    const seq = [0.1, 0.9, 0.2, 0.8];
    const store = withFaults(local, { rules: [{ op: 'delete', probability: 0.5 }], random: () => seq[i++ % seq.length]! });
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => store.delete('f/none')));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
  });

  it('throws the configured error', async () => {
    const store = withFaults(local, { rules: [{ op: 'get', every: 1, error: (c) => new PermanentBlobError(`denied ${c.key}`) }] });
    await expect(store.get('f/data')).rejects.toThrow('denied f/data');
  });

  it('truncates a read silently, or fails it after some bytes', async () => {
    const store = withFaults(local, {
      rules: [{ op: 'get', calls: [1], afterBytes: 1234, truncate: true }, { op: 'get', calls: [2], afterBytes: 4321 }],
    });
    const short = await getBuffer(store, 'f/data');
    expect(short.equals(data.subarray(0, 1234))).toBe(true);
    const stream = await store.get('f/data');
    let got = 0;
    const err = await (async () => {
      for await (const c of stream) got += (c as Buffer).length;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientBlobError);
    expect(got).toBe(4321);
    expect((await readAll(await store.get('f/data'))).equals(data)).toBe(true);
  });

  it('fails a put inside the body stream so nothing is stored', async () => {
    const store = withFaults(local, { rules: [{ op: 'put', calls: [1, 2], afterBytes: 100 }] });
    await expect(store.put('f/p', () => streamOf(randomBytes(5000), 64))).rejects.toBeInstanceOf(TransientBlobError);
    await expect(store.put('f/p', () => Buffer.alloc(10))).rejects.toBeInstanceOf(TransientBlobError); // shorter body fails at its end
    await expect(local.head('f/p')).rejects.toBeInstanceOf(BlobNotFoundError);
    await store.put('f/p', () => Buffer.from('ok'));
    expect((await getBuffer(local, 'f/p')).toString()).toBe('ok');
  });

  it('fails a listing after some entries', async () => {
    for (const k of ['a', 'b', 'c', 'd']) await local.put(`fl/${k}`, () => Buffer.from(k));
    const store = withFaults(local, { rules: [{ op: 'list', calls: [1], afterItems: 2 }] });
    const seen: string[] = [];
    await expect((async () => {
      for await (const e of store.list('fl/')) seen.push(e.key);
    })()).rejects.toBeInstanceOf(TransientBlobError);
    expect(seen).toEqual(['fl/a', 'fl/b']);
    expect((await listAll(store, 'fl/')).length).toBe(4);
  });
});
