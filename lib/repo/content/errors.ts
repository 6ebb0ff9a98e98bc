// Errors of the content layer. Integrity problems (corrupted or missing packs, blobs that do not match
// their id) are IntegrityError from lib/repo/crypto/sealed-box, re-exported here for callers.
export { IntegrityError } from '../crypto/sealed-box';

/** loadBlob of a content id that no index (nor any pending pack) lists. */
export class BlobNotInIndexError extends Error {
  readonly code = 'BLOB_NOT_IN_INDEX' as const;
  constructor(readonly blobId: string) {
    super(`blob ${blobId} is not in the index`);
    this.name = 'BlobNotInIndexError';
  }
}
