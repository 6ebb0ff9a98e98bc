/**
 * Test support for lib/repo (imported by *.test.ts only; registers vitest suites).
 *
 * - forEachBackend(fn): registers `fn` once against a LocalBlobStore (a fresh temp dir per store) and once
 *   against the RADOS Gateway (a fresh prefix per store in a bucket made for the suite and removed after).
 *   The S3 suite needs LIFEBOAT_TEST_S3_ENDPOINT, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY (_REGION optional);
 *   without them its tests FAIL with a message saying so, they never skip (same rule as lib/blob/s3.test.ts).
 * - FakeKms: an in-memory KmsClientLike that really encrypts (AES-256-GCM under a per-key fake KMS master
 *   key), because AWS KMS cannot run here. Ciphertext blobs are bound to their key id, as in KMS.
 */
import { deleteTestBucket, s3TestEnv as sharedS3TestEnv } from '../../blob/testing';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { LocalBlobStore, type BlobStore } from '../../blob';
import { S3BlobStore } from '../../blob/s3';
import type { KmsClientLike, KmsDataKey } from './kms';

export const s3TestEnv = () => sharedS3TestEnv('repository tests against S3');

export type FreshStore = () => Promise<BlobStore>;

export function forEachBackend(fn: (backend: 'local' | 's3', fresh: FreshStore) => void): void {
  describe('local directory', () => {
    const dirs: string[] = [];
    afterAll(async () => {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });
    fn('local', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lifeboat-repo-test-'));
      dirs.push(dir);
      return new LocalBlobStore(dir, { fsync: false });
    });
  });

  describe('S3 (RADOS Gateway)', () => {
    const bucket = `lifeboat-repo-test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const stores: S3BlobStore[] = [];
    let admin: S3BlobStore | undefined;
    beforeAll(async () => {
      admin = new S3BlobStore({ ...s3TestEnv(), bucket });
      await admin.ensureBucket();
    });
    afterAll(async () => {
      if (admin) {
        await deleteTestBucket(admin.client, bucket);
        admin.destroy();
      }
      for (const s of stores) s.destroy();
    });
    fn('s3', async () => {
      const store = new S3BlobStore({ ...s3TestEnv(), bucket, prefix: `t-${randomBytes(6).toString('hex')}` });
      stores.push(store);
      return store;
    });
  });
}

/** In-memory stand-in for AWS KMS: real AES-256-GCM under a fake KMS master key per key id. */
export class FakeKms implements KmsClientLike {
  private readonly keys = new Map<string, Buffer>();
  calls = { generateDataKey: 0, decrypt: 0 };

  constructor(keyIds: string[] = ['alias/lifeboat-test']) {
    for (const id of keyIds) this.keys.set(id, randomBytes(32));
  }

  async generateDataKey(keyId: string): Promise<KmsDataKey> {
    this.calls.generateDataKey++;
    const plaintext = randomBytes(32);
    return { plaintext: Buffer.from(plaintext), ciphertextBlob: this.encrypt(keyId, plaintext) };
  }

  async decrypt(blob: Buffer, keyId: string): Promise<Buffer> {
    this.calls.decrypt++;
    const key = this.master(keyId);
    const idLen = blob[0] ?? 0;
    if (blob.subarray(1, 1 + idLen).toString() !== keyId) throw Object.assign(new Error('ciphertext was made under another key'), { name: 'IncorrectKeyException' });
    const body = blob.subarray(1 + idLen);
    const d = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12));
    d.setAuthTag(body.subarray(body.length - 16));
    try {
      return Buffer.concat([d.update(body.subarray(12, body.length - 16)), d.final()]);
    } catch {
      throw Object.assign(new Error('the ciphertext is invalid'), { name: 'InvalidCiphertextException' });
    }
  }

  encrypt(keyId: string, plaintext: Buffer): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.master(keyId), nonce);
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    const id = Buffer.from(keyId);
    return Buffer.concat([Buffer.of(id.length), id, nonce, ct, c.getAuthTag()]);
  }

  private master(keyId: string): Buffer {
    const key = this.keys.get(keyId);
    if (!key) throw Object.assign(new Error(`key ${keyId} does not exist`), { name: 'NotFoundException' });
    return key;
  }
}
