// Test helpers (not tests). makeSnapshot: a valid snapshot with overrides. testStoreKinds: the stores repository-object tests run against, a local directory and the RADOS
// Gateway. S3 needs LIFEBOAT_TEST_S3_ENDPOINT, LIFEBOAT_TEST_S3_ACCESS_KEY_ID, LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY
// (LIFEBOAT_TEST_S3_REGION optional); without them every S3 case FAILS with a message saying so, never skips.
// Each fresh() is an empty store (own temp dir or own random prefix in one bucket per test file); everything
// is removed in afterAll.
import { deleteTestBucket } from '../../blob/testing';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LocalBlobStore, type BlobStore, type S3BlobStoreConfig } from '../../blob';
import { S3BlobStore } from '../../blob/s3';
import type { Snapshot } from './schema';

export interface TestStoreKind {
  name: string;
  fresh(): Promise<BlobStore>;
}

const REQUIRED = ['LIFEBOAT_TEST_S3_ENDPOINT', 'LIFEBOAT_TEST_S3_ACCESS_KEY_ID', 'LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY'] as const;

export function s3TestEnv(): Omit<S3BlobStoreConfig, 'bucket'> {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`S3 repository tests need a RADOS Gateway: set ${missing.join(', ')} (and optionally LIFEBOAT_TEST_S3_REGION). ` +
      'The project test runner starts one and sets them; these tests never skip.');
  }
  return {
    endpoint: process.env.LIFEBOAT_TEST_S3_ENDPOINT!,
    region: process.env.LIFEBOAT_TEST_S3_REGION || 'us-east-1',
    accessKeyId: process.env.LIFEBOAT_TEST_S3_ACCESS_KEY_ID!,
    secretAccessKey: process.env.LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY!,
  };
}

/** Registers cleanup hooks; call once at the top level of a test file. */
export function testStoreKinds(label: string): TestStoreKind[] {
  const dirs: string[] = [];
  const s3Stores: S3BlobStore[] = [];
  const bucket = `lifeboat-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  let admin: Promise<S3BlobStore> | undefined;

  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    if (admin) await deleteTestBucket((await admin).client, bucket);
    for (const s of s3Stores) s.destroy();
  });

  const local: TestStoreKind = {
    name: 'local directory',
    async fresh() {
      const dir = await mkdtemp(join(tmpdir(), `lifeboat-${label}-`));
      dirs.push(dir);
      return new LocalBlobStore(dir, { fsync: false });
    },
  };
  const s3: TestStoreKind = {
    name: 'S3 (RADOS Gateway)',
    async fresh() {
      const env = s3TestEnv();
      admin ??= (async () => {
        const a = new S3BlobStore({ ...env, bucket });
        s3Stores.push(a);
        await a.ensureBucket();
        return a;
      })();
      await admin;
      const store = new S3BlobStore({ ...env, bucket, prefix: `t-${randomBytes(6).toString('hex')}` });
      s3Stores.push(store);
      return store;
    },
  };
  return [local, s3];
}


/** A valid snapshot manifest; fields overridden by `over`. */
export function makeSnapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    version: 1, time: '2024-01-15T10:00:00.000Z', startTime: '2024-01-15T09:59:00.000Z', hostname: 'db1', username: 'root',
    source: { kind: 'filesystem', name: 'www' }, paths: ['/var/www'], tags: ['daily'], tree: 'a'.repeat(64), parent: null,
    mode: 'full', status: 'complete',
    summary: { files: 3, dirs: 1, bytes: 10, newFiles: 3, changedFiles: 0, unchangedFiles: 0, newBlobs: 2, addedBytes: 10, errors: [] },
    meta: {},
    ...over,
  };
}
