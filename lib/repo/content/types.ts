// Public types of the content layer (see store.ts for the contract).
export interface ContentStoreConfig {
  /** A pack is uploaded once its blobs reach this many bytes (repository config, §5). */
  packTargetSize: number;
  /** zstd level (repository config, §5). */
  compressionLevel: number;
  /** Packs uploading at once (default 2). */
  uploadConcurrency?: number;
  /** Write an index early once this many stored blobs wait for one (default 50,000). */
  indexBatchBlobs?: number;
}

export interface SaveResult {
  /** Content id, hex. */
  id: string;
  /** false when the blob was already in the repository (or pending) and nothing was added. */
  stored: boolean;
  rawLength: number;
  /** Bytes this call added to the repository: the sealed blob size, 0 when deduplicated. */
  storedLength: number;
}

export interface ContentStats {
  blobsStored: number;
  blobsDeduplicated: number;
  /** Plaintext bytes of stored blobs. */
  bytesRaw: number;
  /** Plaintext bytes of deduplicated blobs. */
  bytesDeduplicated: number;
  /** Sealed bytes of stored blobs. */
  bytesStored: number;
  packsUploaded: number;
  /** Pack bytes uploaded (blobs + headers). */
  bytesUploaded: number;
  indexesWritten: number;
}

export const newStats = (): ContentStats => ({
  blobsStored: 0, blobsDeduplicated: 0, bytesRaw: 0, bytesDeduplicated: 0, bytesStored: 0, packsUploaded: 0, bytesUploaded: 0, indexesWritten: 0,
});
