/**
 * Test-only helpers (shared cases in suite.ts, the benchmark): blob stores for the content layer's tests and benchmark. A local directory, or the
 * RADOS Gateway named by LIFEBOAT_TEST_S3_ENDPOINT / _ACCESS_KEY_ID / _SECRET_ACCESS_KEY (/ _REGION,
 * default us-east-1). Without those variables s3TestEnv throws: the S3 tests fail, never skip. Each
 * harness owns one bucket (or directory) and removes it in cleanup(); makeStore(prefix) gives stores
 * under separate prefixes of it.
 */
import { s3TestEnv as sharedS3TestEnv } from '../../blob/testing';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore, type BlobStore, type S3BlobStoreConfig } from '../../blob';
import { S3BlobStore } from '../../blob/s3';
import { generateMasterKey } from '../crypto/master-key';
import type { ContentStore } from './store';
import type { ContentStoreConfig } from './types';

export interface TestStores {
  makeStore(prefix: string): BlobStore;
  describe: string;
  cleanup(): Promise<void>;
}

export const s3TestEnv = () => sharedS3TestEnv('content store S3 tests');

export async function localTestStores(): Promise<TestStores> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-content-'));
  return {
    makeStore: (prefix) => new LocalBlobStore(join(dir, prefix), { fsync: false }),
    describe: `local:${dir}`,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function s3TestStores(name = 'content'): Promise<TestStores> {
  const env = s3TestEnv();
  const bucket = `lifeboat-${name}-test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const admin = new S3BlobStore({ ...env, bucket });
  const stores: S3BlobStore[] = [admin];
  await admin.ensureBucket();
  return {
    makeStore(prefix) {
      const s = new S3BlobStore({ ...env, bucket, prefix });
      stores.push(s);
      return s;
    },
    describe: admin.describe(),
    async cleanup() {
      const keys: string[] = [];
      for await (const e of admin.list('')) keys.push(e.key);
      for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => admin.delete(k)));
      await admin.client.send(new DeleteBucketCommand({ Bucket: bucket }));
      for (const s of stores) s.destroy();
    },
  };
}

export const SMALL: ContentStoreConfig = { packTargetSize: 256 * 1024, compressionLevel: 3 };

export interface SuiteContext {
  key: ReturnType<typeof generateMasterKey>;
  fresh(): BlobStore;
  /** SMALL, then `overrides`, then the suite's variant (e.g. sealWorkers). */
  config(overrides?: Partial<ContentStoreConfig>): ContentStoreConfig;
}

export const randomBlobs = (n: number, max: number) => Array.from({ length: n }, (_, i) => randomBytes(i % 7 === 0 ? 0 : 1 + ((i * 7919) % max)));

export async function saveAll(cs: ContentStore, blobs: Buffer[]): Promise<string[]> {
  return Promise.all(blobs.map(async (b, i) => (await cs.saveBlob(i % 5 === 0 ? 'tree' : 'data', b)).id));
}

export async function keysUnder(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of store.list(prefix)) keys.push(e.key);
  return keys;
}
