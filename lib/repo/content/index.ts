/**
 * lib/repo/content: the content layer. Store and read blobs by content id through ContentStore; it packs
 * (lib/repo/pack), indexes (lib/repo/index), deduplicates, compresses and encrypts.
 */
export { ContentStore } from './store';
export type { ContentStats, ContentStoreConfig, SaveResult } from './types';
export { BlobNotInIndexError, IntegrityError } from './errors';
export type { BlobType } from '../pack/format';
