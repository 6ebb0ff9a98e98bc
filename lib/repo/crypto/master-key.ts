// The repository master key (docs/repository-format.md §2.1): 32 bytes for AES-256-GCM, 32 bytes for the
// keyed content-id HMAC. Lives in memory only; storage holds it wrapped in key slots.
import { createHmac, randomBytes } from 'node:crypto';

export type MasterKey = { encKey: Buffer; idKey: Buffer };

export const MASTER_KEY_BYTES = 64;

export function generateMasterKey(): MasterKey {
  return masterKeyFromBytes(randomBytes(MASTER_KEY_BYTES));
}

export function masterKeyFromBytes(bytes: Buffer): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) throw new Error(`master key must be ${MASTER_KEY_BYTES} bytes, got ${bytes.length}`);
  return { encKey: Buffer.from(bytes.subarray(0, 32)), idKey: Buffer.from(bytes.subarray(32, 64)) };
}

export function masterKeyBytes(key: MasterKey): Buffer {
  return Buffer.concat([key.encKey, key.idKey]);
}

/** Keyed content id: HMAC-SHA-256(idKey, plaintext), 32 raw bytes. */
export function contentId(key: MasterKey, plaintext: Buffer): Buffer {
  return createHmac('sha256', key.idKey).update(plaintext).digest();
}
