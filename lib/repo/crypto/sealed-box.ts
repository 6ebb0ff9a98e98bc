// Sealed boxes (docs/repository-format.md §2.2): 0x01 | nonce(12) | AES-256-GCM ciphertext | tag(16), with
// additional authenticated data binding each box to its role. Opening fails with IntegrityError naming the
// object on any mismatch: wrong key, wrong AAD, truncation or a flipped bit. Stateless and thread-safe.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const BOX_FORMAT = 0x01;
export const BOX_OVERHEAD = 1 + 12 + 16;
// The cipher is fed pieces of this size; each piece's output is a new buffer. Below glibc's 128 KiB mmap
// threshold those come from the recycled heap; at 128 KiB each one was a fresh mmap (page faults, munmap),
// which measured 2-4x slower for 1 MiB blobs on the project's host (see content/seal-core.mjs, same choice).
const PIECE = 32 * 1024;

export class IntegrityError extends Error {
  name = 'IntegrityError';
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const parts: Buffer[] = [Buffer.of(BOX_FORMAT), nonce];
  for (let off = 0; off < plaintext.length; off += PIECE) parts.push(cipher.update(plaintext.subarray(off, off + PIECE)));
  parts.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(parts);
}

export function open(key: Buffer, box: Buffer, aad: Buffer, what: string): Buffer {
  if (box.length < BOX_OVERHEAD) throw new IntegrityError(`${what}: truncated (${box.length} bytes, a sealed box has at least ${BOX_OVERHEAD})`);
  if (box[0] !== BOX_FORMAT) throw new IntegrityError(`${what}: unknown box format 0x${box[0]!.toString(16)}`);
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(1, 13));
  decipher.setAAD(aad);
  decipher.setAuthTag(box.subarray(box.length - 16));
  const ct = box.subarray(13, box.length - 16);
  const parts: Buffer[] = [];
  for (let off = 0; off < ct.length; off += PIECE) parts.push(decipher.update(ct.subarray(off, off + PIECE)));
  try {
    parts.push(decipher.final());
  } catch {
    throw new IntegrityError(`${what}: authentication failed (wrong key, or the data was altered or corrupted)`);
  }
  return Buffer.concat(parts);
}

/** AAD constants for whole-object boxes (§2.2). Blob boxes use their raw content id instead. */
export const AAD = {
  config: Buffer.from('lifeboat/v1/config'),
  index: Buffer.from('lifeboat/v1/index'),
  snapshot: Buffer.from('lifeboat/v1/snapshot'),
  lock: Buffer.from('lifeboat/v1/lock'),
  packHeader: Buffer.from('lifeboat/v1/pack-header'),
  keySlot: Buffer.from('lifeboat/v1/key-slot'),
} as const;
