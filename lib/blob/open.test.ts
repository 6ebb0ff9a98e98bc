import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentBlobError } from './errors';
import { getBuffer } from './io';
import { blobStoreConfigSchema, openBlobStore, parseBlobStoreConfig } from './open';
import { checkBlobStore } from './probe';

describe('blob store configuration', () => {
  it('parses both kinds and applies defaults', () => {
    expect(parseBlobStoreConfig({ kind: 'local', path: '/srv/backups' })).toEqual({ kind: 'local', path: '/srv/backups' });
    expect(parseBlobStoreConfig({
      kind: 's3', endpoint: 'http://127.0.0.1:7480', bucket: 'lifeboat', accessKeyId: 'AK', secretAccessKey: 'SK',
    })).toEqual({
      kind: 's3', endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', bucket: 'lifeboat', prefix: '',
      accessKeyId: 'AK', secretAccessKey: 'SK',
    });
  });

  it('names every bad field and never echoes the secret', () => {
    const secret = 'super-secret-value-123';
    let err: unknown;
    try {
      parseBlobStoreConfig({ kind: 's3', endpoint: 'ftp://x', bucket: 'Bad_Bucket', prefix: '/abs', accessKeyId: '', secretAccessKey: secret, region: 7 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PermanentBlobError);
    const msg = (err as Error).message;
    for (const field of ['endpoint', 'bucket', 'prefix', 'accessKeyId', 'region']) expect(msg).toContain(field);
    expect(msg).not.toContain(secret);
    expect(() => parseBlobStoreConfig({ kind: 'gcs' })).toThrow(PermanentBlobError);
    expect(blobStoreConfigSchema.safeParse({ kind: 'local', path: '' }).success).toBe(false);
  });
});

describe('openBlobStore', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-blob-open-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('builds a local store with metrics and retries, and creates its directory', async () => {
    const root = join(dir, 'repo');
    const opened = openBlobStore({ kind: 'local', path: root });
    await opened.ensureExists();
    expect((await stat(root)).isDirectory()).toBe(true);
    await opened.store.put('x/y', () => Buffer.from('hello'));
    expect((await getBuffer(opened.store, 'x/y')).toString()).toBe('hello');
    expect((await checkBlobStore(opened.store)).ok).toBe(true);
    expect(opened.metrics.ops.put).toMatchObject({ calls: 2, bytes: 5 + 256 * 1024 });
    expect(opened.store.describe()).toBe(`local:${root}`);
    opened.close();
  });

  it('opens read-only when asked', async () => {
    const opened = openBlobStore({ kind: 'local', path: join(dir, 'repo') }, { readOnly: true });
    await expect(opened.store.put('x/z', () => Buffer.from('no'))).rejects.toThrow('read-only');
    expect((await getBuffer(opened.store, 'x/y')).toString()).toBe('hello');
  });

  it('builds an S3 store without contacting it and describes it without secrets', () => {
    const opened = openBlobStore({
      kind: 's3', endpoint: 'http://127.0.0.1:1', bucket: 'lifeboat', prefix: 'prod', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'SECRETEXAMPLE',
    });
    expect(opened.store.describe()).toBe('s3://lifeboat/prod/ at http://127.0.0.1:1');
    opened.close();
  });

  it('rejects an invalid configuration with PermanentBlobError', () => {
    expect(() => openBlobStore({ kind: 'local', path: '' })).toThrow(PermanentBlobError);
  });
});
