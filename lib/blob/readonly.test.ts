import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll } from './contract';
import { BlobNotFoundError, PermanentBlobError } from './errors';
import { getBuffer } from './io';
import { LocalBlobStore } from './local';
import { withReadOnly } from './readonly';

describe('withReadOnly', () => {
  let dir: string;
  let local: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-ro-'));
    local = new LocalBlobStore(dir, { fsync: false });
    await local.put('ro/a', () => Buffer.from('abc'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses put and delete with PermanentBlobError without touching the store or the body', async () => {
    const store = withReadOnly(local);
    let bodies = 0;
    const err = await store.put('ro/b', () => {
      bodies++;
      return Buffer.from('x');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentBlobError);
    expect((err as Error).message).toBe(`put "ro/b" refused: ${local.describe()} is opened read-only`);
    expect(bodies).toBe(0);
    await expect(store.delete('ro/a')).rejects.toThrow('read-only');
    await expect(local.head('ro/b')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect((await local.head('ro/a')).size).toBe(3);
  });

  it('passes reads through', async () => {
    const store = withReadOnly(local);
    expect((await getBuffer(store, 'ro/a')).toString()).toBe('abc');
    expect((await store.head('ro/a')).size).toBe(3);
    expect((await listAll(store, 'ro/')).map((e) => e.key)).toEqual(['ro/a']);
    expect(store.describe()).toBe(`${local.describe()} (read-only)`);
  });
});
