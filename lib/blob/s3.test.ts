/**
 * S3BlobStore against a real S3 implementation (Ceph RADOS Gateway in this project's test runs).
 * Needs LIFEBOAT_TEST_S3_ENDPOINT, LIFEBOAT_TEST_S3_ACCESS_KEY_ID, LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY
 * (LIFEBOAT_TEST_S3_REGION defaults to us-east-1). Without them this file FAILS on purpose: a storage
 * layer whose S3 tests silently skip is untested. Creates its own bucket and removes it afterwards.
 */
import { deleteTestBucket, s3TestEnv } from './testing';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, runBlobStoreContract, streamOf } from './contract';
import { BlobNotFoundError, PermanentBlobError, TransientBlobError } from './errors';
import { getBuffer } from './io';
import { openBlobStore } from './open';
import { S3BlobStore, type S3BlobStoreConfig } from './s3';
import { LazyS3BlobStore } from './s3-lazy';

const s3Env = () => s3TestEnv('S3 blob store tests');

const bucket = `lifeboat-blob-test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
let admin: S3BlobStore;
const stores: S3BlobStore[] = [];
function makeS3(extra: Partial<S3BlobStoreConfig> = {}): S3BlobStore {
  const s = new S3BlobStore({ ...s3Env(), bucket, ...extra });
  stores.push(s);
  return s;
}

async function incompleteUploads(): Promise<{ Key?: string; UploadId?: string }[]> {
  const res = await admin.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return res.Uploads ?? [];
}


beforeAll(async () => {
  admin = makeS3();
  await admin.ensureBucket();
  await admin.ensureBucket(); // idempotent
});

afterAll(async () => {
  if (admin) await deleteTestBucket(admin.client, bucket);
  for (const s of stores) s.destroy();
});

// (c) The shared contract against the real thing, under a prefix inside the test bucket.
runBlobStoreContract('S3 (RADOS Gateway)', () => ({ store: makeS3({ prefix: 'contract' }) }));

// openBlobStore's S3 store: the same contract through the lazily loaded module.
const lazyStores: LazyS3BlobStore[] = [];
afterAll(() => lazyStores.forEach((s) => s.destroy()));
runBlobStoreContract('S3 loaded on first use (LazyS3BlobStore)', () => {
  const store = new LazyS3BlobStore({ ...s3Env(), bucket, prefix: 'contract-lazy' });
  lazyStores.push(store);
  return { store };
});

describe('LazyS3BlobStore', () => {
  it('describes itself as S3BlobStore does before anything loads, and creates its bucket', async () => {
    const cfg = { ...s3Env(), bucket: `${bucket}-lazy`, prefix: 'a/b' };
    const lazy = new LazyS3BlobStore(cfg);
    lazyStores.push(lazy);
    expect(lazy.describe()).toBe(makeS3({ prefix: 'a/b' }).describe().replace(bucket, `${bucket}-lazy`));
    await lazy.ensureBucket();
    await lazy.put('k', () => Buffer.from('lazy'));
    expect((await getBuffer(lazy, 'k')).toString()).toBe('lazy');
    const real = await lazy.load();
    expect(real).toBeInstanceOf(S3BlobStore);
    expect(await lazy.load()).toBe(real); // one client for the store's life
    await deleteTestBucket(real.client, `${bucket}-lazy`);
  });

  it('destroyed before its first request: no client is made; destroyed while loading: the client is closed', async () => {
    const idle = new LazyS3BlobStore({ ...s3Env(), bucket });
    idle.destroy();
    expect((idle as unknown as { loading?: unknown }).loading).toBeUndefined();
    const busy = new LazyS3BlobStore({ ...s3Env(), bucket, prefix: 'destroyed' });
    const loading = busy.load();
    busy.destroy();
    await expect((await loading).head('k')).rejects.toThrow(); // the SDK client was destroyed
  });
});

describe('S3BlobStore specifics', () => {
  it('keeps keys under its prefix and strips it when listing', async () => {
    const a = makeS3({ prefix: 'tenant-a/' });
    const b = makeS3({ prefix: 'tenant-b' });
    await a.put('x/1', () => Buffer.from('a'));
    await b.put('x/1', () => Buffer.from('b'));
    expect((await listAll(a, '')).map((e) => e.key)).toEqual(['x/1']);
    expect((await getBuffer(b, 'x/1')).toString()).toBe('b');
    expect((await listAll(admin, 'tenant-')).map((e) => e.key)).toEqual(['tenant-a/x/1', 'tenant-b/x/1']);
    expect(a.describe()).toBe(`s3://${bucket}/tenant-a/ at ${s3Env().endpoint}`);
  });

  it('reports a wrong secret key as PermanentBlobError naming the endpoint', async () => {
    const bad = makeS3({ secretAccessKey: 'definitely-wrong', prefix: 'bad' });
    const err = await bad.put('k', () => Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentBlobError);
    expect((err as Error).message).toContain(s3Env().endpoint);
    expect((err as Error).message).toContain('check the secret access key');
    await expect(bad.head('k')).rejects.toBeInstanceOf(PermanentBlobError);
    await expect(listAll(bad, '')).rejects.toBeInstanceOf(PermanentBlobError);
    expect((err as Error).message).not.toContain('definitely-wrong');
  });

  it('reports a missing bucket as PermanentBlobError saying so', async () => {
    const missing = new S3BlobStore({ ...s3Env(), bucket: `${bucket}-missing` });
    stores.push(missing);
    const err = await missing.put('k', () => Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentBlobError);
    expect((err as Error).message).toContain(`bucket "${bucket}-missing" does not exist`);
  });

  it('reports an unreachable endpoint as TransientBlobError after retries', async () => {
    const port = await closedPort();
    const retries: number[] = [];
    const opened = openBlobStore(
      { kind: 's3', ...s3Env(), endpoint: `http://127.0.0.1:${port}`, bucket },
      { retry: { maxAttempts: 3, baseDelayMs: 10, onRetry: (i) => retries.push(i.attempt) } },
    );
    try {
      const err = await opened.store.head('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientBlobError);
      expect((err as Error).message).toContain(`http://127.0.0.1:${port}`);
      expect((err as Error).message).toContain('ECONNREFUSED');
      expect(retries).toEqual([1, 2]);
      expect(opened.metrics.ops.head).toMatchObject({ calls: 3, errors: 3 });
      const put = await opened.store.put('k', () => streamOf(randomBytes(1000))).catch((e: unknown) => e);
      expect(put).toBeInstanceOf(TransientBlobError);
      retries.length = 0;
      await expect(opened.ensureExists()).rejects.toBeInstanceOf(TransientBlobError);
      expect(retries).toEqual([1, 2]);
    } finally {
      opened.close();
    }
  });

  it('leaves no incomplete multipart upload when a streamed put is aborted midway', async () => {
    const store = makeS3({ prefix: 'abort' });
    const ac = new AbortController();
    const sent: string[] = [];
    // Abort the moment the first part goes out, so parts are in flight when the abort lands.
    store.client.middlewareStack.add((next, context) => async (args) => {
      const name = (context as { commandName?: string }).commandName ?? '?';
      sent.push(name);
      if (name === 'UploadPartCommand') ac.abort();
      return next(args);
    }, { step: 'initialize', name: 'lifeboatTestAbortOnFirstPart' });
    const body = () => Readable.from((async function* () {
      for (let i = 0; i < 64; i++) yield randomBytes(1024 * 1024);
    })(), { objectMode: false });
    await expect(store.put('big', body, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    // Checked right after put rejected: no waiting for a background cleanup.
    expect(await incompleteUploads()).toEqual([]);
    expect(sent).toContain('CreateMultipartUploadCommand');
    expect(sent).toContain('UploadPartCommand');
    expect(sent).toContain('AbortMultipartUploadCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    await expect(store.head('big')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('leaves no incomplete multipart upload when the body fails midway', async () => {
    const store = makeS3({ prefix: 'bodyfail' });
    const boom = new Error('source read failed');
    const body = () => Readable.from((async function* () {
      for (let i = 0; i < 30; i++) yield randomBytes(1024 * 1024);
      throw boom;
    })(), { objectMode: false });
    await expect(store.put('big', body)).rejects.toBe(boom);
    expect(await incompleteUploads()).toEqual([]);
    await expect(store.head('big')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('stores a large Buffer through multipart and a wrong contentLength stream through nothing', async () => {
    const store = makeS3({ prefix: 'buf' });
    const data = randomBytes(9 * 1024 * 1024 + 5);
    expect((await store.put('big', () => data)).size).toBe(data.length);
    expect((await getBuffer(store, 'big')).equals(data)).toBe(true);
    await expect(store.put('short', () => streamOf(randomBytes(17 * 1024 * 1024), 1 << 20), { contentLength: 17 * 1024 * 1024 + 1 }))
      .rejects.toBeInstanceOf(PermanentBlobError);
    expect(await incompleteUploads()).toEqual([]);
    await expect(store.head('short')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('rejects an unknown storage class as PermanentBlobError and accepts STANDARD', async () => {
    const store = makeS3({ prefix: 'sc' });
    await store.put('std', () => Buffer.from('x'), { storageClass: 'STANDARD' });
    const meta = await store.head('std');
    expect(meta.storageClass === undefined || meta.storageClass === 'STANDARD').toBe(true);
    await expect(store.put('nope', () => Buffer.from('x'), { storageClass: 'NO_SUCH_CLASS' })).rejects.toBeInstanceOf(PermanentBlobError);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
