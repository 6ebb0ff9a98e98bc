/**
 * Blob key rules, shared by every BlobStore so a key valid for one is valid for all.
 *
 * A key is a '/'-separated relative path: non-empty, at most 1024 bytes of UTF-8 (S3's limit), no leading
 * or trailing '/', no empty, '.' or '..' segments, no backslashes, no control characters. A list prefix
 * follows the same rules except that it may be empty, may end with '/', and its last segment may be a
 * partial name (so "a/.x" and "a/.." are fine as prefixes: they only narrow the listing).
 * Violations throw InvalidBlobKeyError (a PermanentBlobError) naming the key and the rule broken.
 * Pure functions; safe under any concurrency.
 */
import { InvalidBlobKeyError } from './errors';

export const MAX_KEY_BYTES = 1024;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkChars(key: string, what: string): void {
  if (key.includes('\\')) throw new InvalidBlobKeyError(key, `backslashes are not allowed in a ${what}; use '/'`);
  if (CONTROL.test(key)) throw new InvalidBlobKeyError(key, `control characters are not allowed in a ${what}`);
  if (key.startsWith('/')) throw new InvalidBlobKeyError(key, `a ${what} must be relative (no leading '/')`);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidBlobKeyError(key, `a ${what} may be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  }
}

function checkSegment(key: string, segment: string, what: string): void {
  if (segment === '') throw new InvalidBlobKeyError(key, `empty path segments ('//' or a trailing '/') are not allowed in a ${what}`);
  if (segment === '.' || segment === '..') {
    throw new InvalidBlobKeyError(key, `'${segment}' segments are not allowed in a ${what}`);
  }
}

/** Validates a blob key and returns it unchanged. */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key === '') throw new InvalidBlobKeyError(String(key), 'a key must be a non-empty string');
  checkChars(key, 'key');
  for (const segment of key.split('/')) checkSegment(key, segment, 'key');
  return key;
}

/** Validates a list prefix ('' lists everything) and returns it unchanged. */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidBlobKeyError(String(prefix), 'a prefix must be a string');
  if (prefix === '') return prefix;
  checkChars(prefix, 'prefix');
  const segments = prefix.split('/');
  // All complete segments must be valid; the last one may be partial (or empty after a trailing '/').
  for (const segment of segments.slice(0, -1)) checkSegment(prefix, segment, 'prefix');
  return prefix;
}

/** Compares two keys the way S3 orders listings: by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
