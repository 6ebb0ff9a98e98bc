import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSecret, sealSecret, SecretBoxError } from './secret-box';

const key = randomBytes(32).toString('base64');

describe('secret box', () => {
  it('round-trips and never stores plaintext', () => {
    const sealed = sealSecret('s3-secret-key', key);
    expect(sealed).not.toContain('s3-secret-key');
    expect(sealed).not.toBe(sealSecret('s3-secret-key', key)); // fresh IV each time
    expect(openSecret(sealed, key)).toBe('s3-secret-key');
  });

  it('refuses a wrong key or a tampered value with a clear error', () => {
    const sealed = sealSecret('x', key);
    expect(() => openSecret(sealed, randomBytes(32).toString('base64'))).toThrow(SecretBoxError);
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[raw.length - 1]! ^= 1;
    const tampered = 'v1.' + raw.toString('base64url');
    expect(() => openSecret(tampered, key)).toThrow(/cannot be decrypted/);
    expect(() => openSecret('plain', key)).toThrow(/unknown format/);
  });
});
