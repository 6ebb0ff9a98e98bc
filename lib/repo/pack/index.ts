/**
 * lib/repo/pack: pack files (docs/repository-format.md §7). Write with PackWriter (+ sealBlob), read a
 * header with readPackHeader, open one blob with openBlobFromPack.
 */
export { HEADER_ENTRY_SIZE, HEADER_LENGTH_SIZE, isBlobType, type BlobType, type PackEntry } from './format';
export { openBlobFromPack, sealBlob, type OpenBlobOptions, type SealedBlob } from './blob';
export { DEFAULT_PACK_TARGET_SIZE, PackWriter, type FinishedPack, type PackWriterOptions } from './writer';
export { readPackHeader, storePackReader, TAIL_READ, type PackRangeReader } from './reader';
