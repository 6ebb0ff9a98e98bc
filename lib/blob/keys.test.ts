import { describe, expect, it } from 'vitest';
import { InvalidBlobKeyError } from './errors';
import { compareKeys, validateKey, validatePrefix } from './keys';

describe('validateKey', () => {
  it.each(['a', 'a/b/c', 'packs/ab/abcdef.pack', '.hidden', 'a/.b', 'a/..b', 'é/ü', 'sp ace', 'x'.repeat(1024)])(
    'accepts %j', (key) => {
      expect(validateKey(key)).toBe(key);
    });

  it.each([
    ['', 'non-empty'],
    ['/a', 'relative'],
    ['a/', 'empty path segments'],
    ['a//b', 'empty path segments'],
    ['.', "'.' segments"],
    ['a/./b', "'.' segments"],
    ['..', "'..' segments"],
    ['a/../b', "'..' segments"],
    ['a\\b', 'backslashes'],
    ['a\nb', 'control characters'],
    ['a\u0000', 'control characters'],
    ['é'.repeat(513), 'at most 1024 bytes'],
  ])('rejects %j (%s)', (key, reason) => {
    const err = (() => {
      try {
        validateKey(key);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidBlobKeyError);
    expect((err as Error).message).toContain(reason);
    expect((err as Error).message).toContain(JSON.stringify(key));
  });
});

describe('validatePrefix', () => {
  it.each(['', 'a', 'a/', 'a/b', 'a/.', 'a/..', 'a/.x'])('accepts %j', (p) => {
    expect(validatePrefix(p)).toBe(p);
  });
  it.each(['/', '/a', 'a//', '../a', 'a/../b', 'a\\', 'a/./'])('rejects %j', (p) => {
    expect(() => validatePrefix(p)).toThrow(InvalidBlobKeyError);
  });
});

describe('compareKeys', () => {
  it('orders by UTF-8 bytes like S3', () => {
    const keys = ['a/z', 'a/é', 'a-b', 'a/b', 'a', '\u{1F600}', '\uFFFD'];
    expect([...keys].sort(compareKeys)).toEqual(['a', 'a-b', 'a/b', 'a/z', 'a/é', '\uFFFD', '\u{1F600}']);
  });
});
