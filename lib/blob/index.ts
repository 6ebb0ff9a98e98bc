/**
 * lib/blob: layer 1, the storage interface. Import from here ('@/lib/blob'); inner modules may change.
 * See types.ts for the BlobStore contract, errors.ts for the error classes, open.ts for the one place
 * where stores are built and decorated.
 */
export type {
  BlobBody, BlobListEntry, BlobMetadata, BlobStore, BlobStoreDecorator, ByteRange, DeleteOptions, GetOptions,
  HeadOptions, ListOptions, PutOptions, PutResult,
} from './types';
export {
  BlobError, BlobNotFoundError, InvalidBlobKeyError, InvalidRangeError, PermanentBlobError, TransientBlobError,
  isAbortError, isNotFound, isPermanent, isTransient, type BlobErrorCode, type BlobOp,
} from './errors';
export { MAX_KEY_BYTES, compareKeys, validateKey, validatePrefix } from './keys';
export { getBuffer, readAll } from './io';
export { LocalBlobStore, type LocalBlobStoreOptions } from './local';
// S3BlobStore: import it from './s3' (it loads the AWS SDK); openBlobStore gives a LazyS3BlobStore.
export type { S3BlobStoreConfig } from './s3';
export { LazyS3BlobStore } from './s3-lazy';
export { translateError } from './s3-errors';
export { retryTransient, withRetries, type RetryOptions } from './retrying';
export { createBlobMetrics, snapshotMetrics, withMetrics, type BlobMetrics, type OpMetrics } from './metrics';
export { withReadOnly } from './readonly';
export { withFaults, type FaultRule, type FaultStats, type FaultyBlobStore } from './faulty';
export {
  blobStoreConfigSchema, localBlobStoreConfigSchema, openBlobStore, parseBlobStoreConfig, s3BlobStoreConfigSchema,
  type BlobStoreConfig, type BlobStoreConfigInput, type OpenBlobStoreOptions, type OpenedBlobStore,
} from './open';
export { PROBE_PREFIX, checkBlobStore, type ProbeOptions, type ProbeResult, type ProbeStep } from './probe';
