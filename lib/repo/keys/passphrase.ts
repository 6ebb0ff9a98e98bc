/**
 * Passphrase key-encryption keys (docs/repository-format.md §4, kind "passphrase"):
 * KEK = scrypt(NFC(passphrase) as UTF-8, salt, N, r, p, 32 bytes).
 *
 * - Parameters always come from the slot being opened, so raising DEFAULT_SCRYPT for new slots never breaks
 *   old ones. scryptParamsSchema bounds them (N a power of two >= 1024, memory 128·N·r <= 1 GiB, p <= 16)
 *   so a hostile or corrupted slot cannot make a reader allocate without limit.
 * - deriveKek runs crypto.scrypt (libuv thread pool, off the event loop) with maxmem computed from the
 *   parameters. It needs about 128·N·r bytes: 32 MiB with the defaults. Callers bound their concurrency.
 * Stateless; safe to call concurrently.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { z } from 'zod';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 32768, r: 8, p: 1 });
export const SALT_BYTES = 16;
export const KEK_BYTES = 32;
export const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

const isPowerOfTwo = (n: number) => n > 1 && (n & (n - 1)) === 0;

export const scryptParamsSchema = z
  .object({
    N: z.number().int().min(1024, 'N must be at least 1024').max(2 ** 30)
      .refine(isPowerOfTwo, 'N must be a power of two'),
    r: z.number().int().min(1, 'r must be at least 1').max(64, 'r must be at most 64'),
    p: z.number().int().min(1, 'p must be at least 1').max(16, 'p must be at most 16'),
  })
  .refine((k) => scryptMemory(k) <= MAX_SCRYPT_MEMORY, {
    message: `scrypt memory 128*N*r must not exceed ${MAX_SCRYPT_MEMORY} bytes`,
    path: ['N'],
  });

/** Bytes scrypt allocates for these parameters (OpenSSL's own accounting: B + V). */
export function scryptMemory({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + 2) + 128 * r * p;
}

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/** The KEK for a passphrase; rejects with the scrypt error if the parameters are refused. */
export function deriveKek(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  const maxmem = scryptMemory(params) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEK_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => {
      secret.fill(0);
      if (err) reject(err);
      else resolve(key);
    });
  });
}
