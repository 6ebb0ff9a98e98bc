// Encrypts secrets at rest in the catalog (S3 secret keys, database passwords) with AES-256-GCM under
// LIFEBOAT_SECRET_KEY. Format: "v1." + base64url(iv[12] | tag[16] | ciphertext). Tampering or a wrong key
// fails loudly with SecretBoxError; plaintext never leaves this module except to the caller that asked.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export class SecretBoxError extends Error {
  name = 'SecretBoxError';
}

function keyFrom(base64Key: string): Buffer {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new SecretBoxError('LIFEBOAT_SECRET_KEY must be 32 bytes, base64-encoded');
  return key;
}

export function sealSecret(plaintext: string, base64Key: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(base64Key), iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return 'v1.' + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url');
}

export function openSecret(sealed: string, base64Key: string): string {
  if (!sealed.startsWith('v1.')) throw new SecretBoxError('stored secret has an unknown format');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  if (raw.length < 28) throw new SecretBoxError('stored secret is truncated');
  const decipher = createDecipheriv('aes-256-gcm', keyFrom(base64Key), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError('stored secret cannot be decrypted: LIFEBOAT_SECRET_KEY differs from the one it was sealed with, or the value was altered');
  }
}
