import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AAD, BOX_OVERHEAD, IntegrityError, open, seal } from './sealed-box';

const key = randomBytes(32);

describe('sealed box', () => {
  it.each([0, 1, 128 * 1024 - 1, 128 * 1024, 3 * 128 * 1024 + 17])('round-trips %i bytes with %i bytes overhead', (n) => {
    const data = randomBytes(n);
    const box = seal(key, data, AAD.index);
    expect(box.length).toBe(n + BOX_OVERHEAD);
    expect(open(key, box, AAD.index, 'index x').equals(data)).toBe(true);
  });

  it('uses a fresh nonce every time', () => {
    const data = Buffer.from('same');
    expect(seal(key, data, AAD.config).equals(seal(key, data, AAD.config))).toBe(false);
  });

  it('refuses a wrong key, wrong AAD, a flipped bit or truncation, naming the object', () => {
    const box = seal(key, Buffer.from('secret data'), AAD.snapshot);
    expect(() => open(randomBytes(32), box, AAD.snapshot, 'snapshot abc')).toThrow(/snapshot abc: authentication failed/);
    expect(() => open(key, box, AAD.index, 'snapshot abc')).toThrow(IntegrityError);
    const flipped = Buffer.from(box);
    flipped[20]! ^= 0x40;
    expect(() => open(key, flipped, AAD.snapshot, 'snapshot abc')).toThrow(IntegrityError);
    expect(() => open(key, box.subarray(0, 20), AAD.snapshot, 'snapshot abc')).toThrow(/truncated/);
    const badFormat = Buffer.from(box);
    badFormat[0] = 9;
    expect(() => open(key, badFormat, AAD.snapshot, 'snapshot abc')).toThrow(/unknown box format/);
  });
});
