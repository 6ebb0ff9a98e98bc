import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, runBlobStoreContract, streamOf } from './contract';
import { BlobNotFoundError, InvalidBlobKeyError, PermanentBlobError } from './errors';
import { getBuffer } from './io';
import { LocalBlobStore } from './local';

runBlobStoreContract('local directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-'));
  return { store: new LocalBlobStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('LocalBlobStore specifics', () => {
  let dir: string;
  let store: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-local-'));
    store = new LocalBlobStore(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('describes itself by its absolute path', () => {
    expect(store.describe()).toBe(`local:${dir}`);
  });

  it('prunes directories left empty by delete, but never the root', async () => {
    await store.put('p/q/r/blob', () => Buffer.from('x'));
    await store.put('p/keep', () => Buffer.from('y'));
    await store.delete('p/q/r/blob');
    expect(await readdir(join(dir, 'p'))).toEqual(['keep']);
    await store.delete('p/keep');
    expect(await readdir(dir)).toEqual([]);
    await stat(dir);
  });

  it('leaves no temp file behind when a put fails, and never lists temp files', async () => {
    const failing = () => Readable.from((async function* () {
      yield randomBytes(100);
      throw new Error('boom');
    })(), { objectMode: false });
    await expect(store.put('t/a', failing)).rejects.toThrow('boom');
    expect((await readdir(join(dir, 't'))).length).toBe(0);
    await writeFile(join(dir, 't', '.lifeboat-tmp-leftover'), 'junk');
    await store.put('t/b', () => Buffer.from('b'));
    expect((await listAll(store, 't/')).map((e) => e.key)).toEqual(['t/b']);
  });

  it('reserves the temp-file prefix in keys', async () => {
    await expect(store.put('x/.lifeboat-tmp-1', () => Buffer.from('x'))).rejects.toBeInstanceOf(InvalidBlobKeyError);
  });

  it('refuses a key whose parent is a blob, and a key that is a directory of blobs', async () => {
    await store.put('c/file', () => Buffer.from('x'));
    await expect(store.put('c/file/child', () => Buffer.from('y'))).rejects.toBeInstanceOf(PermanentBlobError);
    await expect(store.put('c', () => Buffer.from('y'))).rejects.toBeInstanceOf(PermanentBlobError);
    await expect(store.get('c')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.head('c')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.get('c/file/child')).rejects.toBeInstanceOf(BlobNotFoundError);
    await store.delete('c');
    expect((await getBuffer(store, 'c/file')).toString()).toBe('x');
  });

  it('reports an unusable root as PermanentBlobError naming the store', async () => {
    const ro = new LocalBlobStore('/etc/hostname/lifeboat');
    const err = await ro.put('a', () => Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentBlobError);
    expect((err as Error).message).toContain("local:/etc/hostname/lifeboat failed: the store's root is not a directory");
  });

  it('aborts a streaming put midway and stores nothing', async () => {
    const ac = new AbortController();
    const body = () => Readable.from((async function* () {
      yield randomBytes(1000);
      ac.abort();
      await new Promise((r) => setTimeout(r, 10));
      yield randomBytes(1000);
    })(), { objectMode: false });
    await expect(store.put('ab/x', body, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(store.head('ab/x')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('put with fsync disabled still round-trips', async () => {
    const fast = new LocalBlobStore(dir, { fsync: false });
    const data = randomBytes(70_000);
    await fast.put('nofsync/x', () => streamOf(data));
    expect((await getBuffer(fast, 'nofsync/x')).equals(data)).toBe(true);
  });
});
