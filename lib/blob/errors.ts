/**
 * Typed storage errors. Every BlobStore implementation translates its own failures into one of these,
 * so callers (retrying, the repository layer, job processors) decide by class, never by SDK details.
 *
 * - BlobNotFoundError   the key does not exist (get/head). Not retried.
 * - InvalidRangeError   a ranged get asked for bytes outside the blob. Not retried.
 * - PermanentBlobError  retrying cannot help: credentials refused, bucket missing, bad configuration,
 *                       invalid key (InvalidBlobKeyError), read-only store. Not retried; jobs fail for good.
 * - TransientBlobError  may succeed if tried again: timeouts, 5xx, throttling, connection reset/refused.
 *
 * Messages are written for humans (they name the operation, the key and the store) and never contain
 * secrets. The original error, when any, is kept as `cause`. Aborted operations are NOT BlobErrors: they
 * reject with the AbortSignal's reason (an AbortError by default) and are never retried.
 */

export type BlobOp = 'put' | 'get' | 'head' | 'list' | 'delete' | 'ensureBucket';

export type BlobErrorCode =
  | 'BLOB_NOT_FOUND'
  | 'BLOB_INVALID_RANGE'
  | 'BLOB_PERMANENT'
  | 'BLOB_INVALID_KEY'
  | 'BLOB_TRANSIENT';

export interface BlobErrorDetails {
  /** The blob key concerned, when the failure concerns one key. */
  key?: string;
  /** The operation that failed. */
  op?: BlobOp;
  /** BlobStore.describe() of the store that failed (never contains secrets). */
  store?: string;
  cause?: unknown;
}

export abstract class BlobError extends Error {
  abstract readonly code: BlobErrorCode;
  readonly key: string | undefined;
  readonly op: BlobOp | undefined;
  readonly store: string | undefined;

  constructor(message: string, details: BlobErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.key = details.key;
    this.op = details.op;
    this.store = details.store;
  }
}

export class BlobNotFoundError extends BlobError {
  readonly code = 'BLOB_NOT_FOUND' as const;
  constructor(key: string, details: Omit<BlobErrorDetails, 'key'> & { message?: string } = {}) {
    super(details.message ?? `blob "${key}" not found${where(details.store)}`, { ...details, key });
  }
}

export class InvalidRangeError extends BlobError {
  readonly code = 'BLOB_INVALID_RANGE' as const;
  constructor(message: string, details: BlobErrorDetails = {}) {
    super(message, details);
  }
}

export class PermanentBlobError extends BlobError {
  readonly code: 'BLOB_PERMANENT' | 'BLOB_INVALID_KEY' = 'BLOB_PERMANENT';
  constructor(message: string, details: BlobErrorDetails = {}) {
    super(message, details);
  }
}

/** A key (or list prefix) that breaks the key rules in keys.ts. A PermanentBlobError: a caller bug. */
export class InvalidBlobKeyError extends PermanentBlobError {
  override readonly code = 'BLOB_INVALID_KEY' as const;
  constructor(key: string, reason: string) {
    super(`invalid blob key ${JSON.stringify(key)}: ${reason}`, { key });
  }
}

export class TransientBlobError extends BlobError {
  readonly code = 'BLOB_TRANSIENT' as const;
  constructor(message: string, details: BlobErrorDetails = {}) {
    super(message, details);
  }
}

/** True only for TransientBlobError: the single rule deciding what the retrying decorator retries. */
export function isTransient(err: unknown): err is TransientBlobError {
  return err instanceof TransientBlobError;
}

export function isNotFound(err: unknown): err is BlobNotFoundError {
  return err instanceof BlobNotFoundError;
}

export function isPermanent(err: unknown): err is PermanentBlobError {
  return err instanceof PermanentBlobError;
}

/** True for the rejection of an aborted operation (AbortSignal reason or an SDK/stream AbortError). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

function where(store: string | undefined): string {
  return store ? ` in ${store}` : '';
}
