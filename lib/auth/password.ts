// Password hashing with node:crypto scrypt. Stored format: `scrypt$N$r$p$saltB64$hashB64`
// (N = 32768, r = 8, p = 1, 16-byte random salt, 64-byte key). Passwords are NFC-normalised first, so the same
// password typed on different keyboards/OSes verifies. verifyPassword never throws on a malformed or foreign
// hash (it returns false) and compares in constant time; cost parameters read from a stored hash are bounded.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 2 ** 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 64;

function derive(password: string, salt: Buffer, keylen: number, n: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs ~128 * N * r bytes; Node's default maxmem (32 MiB) is exactly that for N=2^15, r=8: allow 2x.
  const options: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(pw: string): Promise<string> {
  if (typeof pw !== 'string' || pw.length === 0) throw new Error('password must be a non-empty string');
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(pw, salt, KEY_BYTES, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  if (typeof pw !== 'string' || typeof stored !== 'string') return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,9}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
  const [saltB64, hashB64] = [parts[4]!, parts[5]!];
  // Bounds keep a tampered row from turning a login into a memory/CPU bomb.
  if (!(n >= 2 ** 10 && n <= 2 ** 20 && (n & (n - 1)) === 0)) return false;
  if (!(r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  if (!B64.test(saltB64) || !B64.test(hashB64)) return false;
  const salt = Buffer.from(saltB64, 'base64');
  const expected = Buffer.from(hashB64, 'base64');
  // Exact key length: scrypt output is prefix-stable, so a truncated stored hash would otherwise still verify.
  if (salt.length < SALT_BYTES || salt.length > 64 || expected.length !== KEY_BYTES) return false;
  let actual: Buffer;
  try {
    actual = await derive(pw, salt, expected.length, n, r, p);
  } catch {
    return false;
  }
  return timingSafeEqual(actual, expected);
}
