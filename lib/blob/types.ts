/**
 * BlobStore: the smallest storage interface Lifeboat needs (modelled on kopia's repo/blob).
 *
 * Contract every implementation and decorator keeps:
 * - Keys follow keys.ts (relative, '/'-separated); a bad key rejects with InvalidBlobKeyError.
 * - put is atomic: readers see the old blob or the complete new one, never a partial one; concurrent puts
 *   of the same key end with one of them winning whole. The body is a FACTORY returning a fresh stream (or
 *   Buffer) on every call, so a retry can resend it; a store calls it once per attempt and destroys the
 *   stream it got if the attempt fails. Errors thrown by the body stream itself propagate unchanged.
 *   When contentLength is given and the body yields a different number of bytes, put rejects with
 *   PermanentBlobError and stores nothing.
 * - get resolves once the blob is found and returns a stream the caller MUST consume or destroy. A range
 *   must lie inside the blob (offset + length <= size) or get rejects with InvalidRangeError; length 0 is
 *   allowed for any offset <= size. Errors during streaming surface as stream errors (BlobErrors).
 * - head/get of a missing key reject with BlobNotFoundError; delete of a missing key succeeds (S3 semantics).
 * - list yields every key starting with prefix, in S3 order (UTF-8 byte order), with startAfter resuming
 *   after a key (exclusive). Keys put or deleted while listing may or may not appear.
 * - All failures are BlobErrors (errors.ts) except aborts, which reject with signal.reason.
 * - All methods are safe to call concurrently.
 */
import type { Readable } from 'node:stream';

/** Returns the bytes to upload; called again for every attempt, so it must yield a fresh stream each time. */
export type BlobBody = () => Readable | Buffer;

export interface PutOptions {
  /** Expected size in bytes; a body of another size is rejected before anything is stored. */
  contentLength?: number;
  signal?: AbortSignal;
  /** Storage class for S3 (e.g. STANDARD, GLACIER); ignored by stores without storage classes. */
  storageClass?: string;
}

export interface PutResult {
  size: number;
  etag?: string;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface GetOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface HeadOptions {
  signal?: AbortSignal;
}

export interface BlobMetadata {
  size: number;
  lastModified: Date;
  etag?: string;
  storageClass?: string;
}

export interface BlobListEntry {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ListOptions {
  /** Resume after this key (exclusive); used by the retrying decorator to continue a failed listing. */
  startAfter?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  signal?: AbortSignal;
}

export interface BlobStore {
  put(key: string, body: BlobBody, opts?: PutOptions): Promise<PutResult>;
  get(key: string, opts?: GetOptions): Promise<Readable>;
  head(key: string, opts?: HeadOptions): Promise<BlobMetadata>;
  list(prefix: string, opts?: ListOptions): AsyncIterable<BlobListEntry>;
  delete(key: string, opts?: DeleteOptions): Promise<void>;
  /** A human description naming the backend and location (e.g. "s3://bucket/prefix at http://host:port"); never secrets. */
  describe(): string;
}

/** A BlobStore decorator: wraps a store and returns one with the same contract. */
export type BlobStoreDecorator<O> = (inner: BlobStore, opts: O) => BlobStore;
