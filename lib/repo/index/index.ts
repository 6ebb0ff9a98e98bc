/**
 * lib/repo/index: index files and the master index (docs/repository-format.md §8).
 */
export { MasterIndex, type BlobLocation, type PackInfo } from './master';
export {
  INDEX_FILE_TARGET_BLOBS, INDEX_VERSION, IndexFormatError, indexFileFor, indexFileSchema, parseIndexFile,
  type IndexBlob, type IndexFile, type IndexPack, type StoredPack,
} from './schema';
export { loadMasterIndex, readIndexFile, writeIndexFile, writeIndexForPacks, type LoadIndexOptions } from './io';
export { compactIndex, type CompactIndexOptions, type CompactIndexResult } from './compact';
