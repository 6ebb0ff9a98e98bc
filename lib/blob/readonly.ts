/**
 * withReadOnly: a BlobStore decorator that refuses every write. put and delete reject with
 * PermanentBlobError ("read-only") without touching the inner store; get, head, list and describe pass
 * through unchanged. Used for restores and verification against a repository nobody may modify.
 * Stateless; safe under any concurrency.
 */
import { PermanentBlobError } from './errors';
import type { BlobStore } from './types';

export function withReadOnly(inner: BlobStore): BlobStore {
  const refuse = (op: 'put' | 'delete', key: string) =>
    Promise.reject(new PermanentBlobError(
      `${op} "${key}" refused: ${inner.describe()} is opened read-only`,
      { key, op, store: inner.describe() },
    ));
  return {
    put: (key) => refuse('put', key),
    delete: (key) => refuse('delete', key),
    get: (key, o) => inner.get(key, o),
    head: (key, o) => inner.head(key, o),
    list: (prefix, o) => inner.list(prefix, o),
    describe: () => `${inner.describe()} (read-only)`,
  };
}
