import type { PackEntry } from '../pack';
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
  /**
   * Worker threads that compress and seal blobs (default: available cores - 1, at least 1). 0 seals on the
   * calling thread, inside saveBlob.
   */
  sealWorkers?: number;
  /**
   * Backpressure for the seal workers: saveBlob waits while this many plaintext bytes are handed to the
   * workers and not yet in a pack (default 4 MiB per worker; one blob is always let through). The memory
   * held is about twice this: each blob's plaintext copy and its sealed bytes.
   */
  sealQueueBytes?: number;
  /** Tests only: a substitute seal worker script and extra workerData for it. */
  sealWorker?: { url: URL; data?: Record<string, unknown> };
  /**
   * Called once each pack is stored, before its index is written, with its bytes (valid only during the
   * call: copy what you keep). The local tree cache keeps tree packs whole this way.
   */
  onPackStored?: (pack: { id: string; bytes: Buffer; entries: readonly PackEntry[] }) => void;
}

/** What a caller that chunked on a worker thread already knows about a blob (lib/repo/chunker/chunk-pool.ts). */
export interface SaveHints {
  /** The raw content id, HMAC-SHA-256(idKey, plaintext), computed by the caller: not computed again. */
  rawId?: Buffer;
  /**
   * The caller gives the plaintext away: when it owns its whole ArrayBuffer, the seal worker gets that
   * buffer (transferred, not copied) and the caller's Buffer is left empty. Read its length before.
   */
  handOver?: boolean;
  /**
   * The plaintext lies in shared memory that the caller keeps unchanged until the blob is sealed (until
   * storedLength settles, when stored): a seal worker then reads it in place instead of a copy. The chunker's
   * ring chunks: copying each into a buffer of its own cost a base backup's storing thread ~0.9 s per GB,
   * most of it page faults and freeing the buffers again.
   */
  lent?: boolean;
}

export interface SaveResult {
  /** Content id, hex. */
  id: string;
  /** false when the blob was already in the repository (or pending) and nothing was added. */
  stored: boolean;
  rawLength: number;
  /**
   * Bytes this call added to the repository: the sealed blob size, known once the blob is sealed and in a
   * pack (saveBlob resolves before that); resolves with 0 at once when deduplicated. Rejects only when the
   * store fails before the blob reached a pack, with the error later saves and flush report; leaving it
   * unobserved is safe (it never causes an unhandled rejection).
   */
  storedLength: Promise<number>;
}

export interface ContentStats {
  blobsStored: number;
  blobsDeduplicated: number;
  /** Plaintext bytes of stored blobs. */
  bytesRaw: number;
  /** Plaintext bytes of deduplicated blobs. */
  bytesDeduplicated: number;
  /** Sealed bytes of stored blobs (counted once a blob is sealed and in a pack). */
  bytesStored: number;
  packsUploaded: number;
  /** Pack bytes uploaded (blobs + headers). */
  bytesUploaded: number;
  indexesWritten: number;
}

export const newStats = (): ContentStats => ({
  blobsStored: 0, blobsDeduplicated: 0, bytesRaw: 0, bytesDeduplicated: 0, bytesStored: 0, packsUploaded: 0, bytesUploaded: 0, indexesWritten: 0,
});
