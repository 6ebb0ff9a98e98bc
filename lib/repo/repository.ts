// An open repository: the one object the sources, the worker and the CLI use. It ties together the key
// (lib/repo/keys, init), the content layer (packs + index), the chunker configured for this repository,
// snapshots and locks. Not a god object: consumers declare the small interface they need (ArchiveRepo,
// RestoreRepo...) and this class happens to satisfy them. One instance per process and repository.
import { join } from 'node:path';
import { getBuffer, type BlobStore } from '../blob';
import { withPrefetchedListings } from '../blob/prefetch';
import { deriveGearTable, type GearTable } from './chunker';
import { ChunkPool, type HashedChunk, type PieceReader, type SmallFile } from './chunker/chunk-pool';
import { ContentStore, type BlobType } from './content';
import type { SaveHints } from './content/types';
import type { MasterKey } from './crypto/master-key';
import type { BlobLocation } from './index/master';
import { objectKey } from './layout';
import { initRepository, openRepository, type InitCredentials, type InitOptions, type OpenCredentials } from './init';
import type { RepositoryConfig } from './config';
import { withObjectCache } from './cache/object-cache';
import { TreeCache } from './cache/tree-cache';
import { acquireLock, type Lock } from './lock';
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot, type Snapshot, type SnapshotEntry } from './snapshot';

export type OpenOptions = {
  signal?: AbortSignal;
  /** Root of the local cache of trees, index files and snapshots (see resolveCacheRoot); none when omitted or null. */
  cacheRoot?: string | null;
  /**
   * List index/ and snapshots/ while the key is being opened (lib/blob/prefetch.ts): on S3 each listing is
   * a round trip, and a command that lists snapshots right after opening (backup, restore, snapshots)
   * otherwise waits for them one after the other.
   */
  listEarly?: boolean;
};

export class Repository {
  private readonly gear: GearTable;
  private treeCache: TreeCache | undefined;
  private chunkPool: ChunkPool | undefined;
  /** Tree cache writes not finished yet (TreeCache.put never rejects). */
  private readonly cacheWrites = new Set<Promise<void>>();

  private constructor(
    readonly store: BlobStore,
    readonly id: string,
    readonly config: RepositoryConfig,
    private readonly key: MasterKey,
    readonly slotId: string,
    readonly content: ContentStore,
  ) {
    this.gear = deriveGearTable(key.idKey);
  }

  static async init(store: BlobStore, credentials: InitCredentials, opts?: InitOptions & OpenOptions): Promise<Repository> {
    const opened = await initRepository(store, credentials, opts);
    return Repository.fromOpened(store, opened, opts);
  }

  static async open(store: BlobStore, credentials: OpenCredentials, opts: OpenOptions = {}): Promise<Repository> {
    const listed = opts.listEarly ? withPrefetchedListings(store, ['index/', 'snapshots/'], opts.signal) : store;
    const opened = await openRepository(listed, credentials);
    return Repository.fromOpened(listed, opened, opts);
  }

  private static async fromOpened(store: BlobStore, o: Awaited<ReturnType<typeof openRepository>>, opts: OpenOptions = {}): Promise<Repository> {
    const cached = opts.cacheRoot ? withObjectCache(store, join(opts.cacheRoot, o.id)) : store;
    const content = await ContentStore.create(cached, o.masterKey, { packTargetSize: o.config.packTargetSize, compressionLevel: o.config.compression.level }, opts.signal);
    const repo = new Repository(cached, o.id, o.config, o.masterKey, o.slotId, content);
    if (opts.cacheRoot) repo.treeCache = new TreeCache(opts.cacheRoot, o.id, o.masterKey, o.config.compression.level);
    return repo;
  }

  get masterKey(): MasterKey {
    return this.key;
  }

  /** Content-defined chunks of a stream, each with its raw content id, cut and hashed on worker threads. */
  hashedChunks(source: PieceReader | { path: string }, signal?: AbortSignal): AsyncIterable<HashedChunk> {
    return this.chunker().chunks(source, signal);
  }

  /** A file of at most `limit` bytes read whole and hashed as one chunk on a worker thread. */
  smallFile(path: string, limit: number): Promise<SmallFile> {
    return this.chunker().smallFile(path, limit);
  }

  /** Boots the chunk and seal worker threads now, so a backup's first files do not wait for them. */
  startWorkers(): void {
    this.chunker().start();
    this.content.startSealWorkers();
  }

  private chunker(): ChunkPool {
    const { minSize, avgSize, maxSize } = this.config.chunker;
    return (this.chunkPool ??= new ChunkPool(this.gear, { minSize, avgSize, maxSize }, this.key.idKey));
  }

  async saveBlob(type: BlobType, data: Buffer, signal?: AbortSignal, hints?: SaveHints) {
    const saved = await this.content.saveBlob(type, data, signal, hints);
    if (type === 'tree' && saved.stored && this.treeCache) this.cacheNewTree(saved.id, saved.storedLength);
    return saved;
  }

  /**
   * Writes a new tree to the local cache with the sealed bytes its pack holds, once it is placed there
   * (small trees are sealed on this thread and placed before saveBlob returns; larger ones come back from
   * a seal worker), so it is not compressed and encrypted a second time. flush() waits for the writes.
   */
  private cacheNewTree(id: string, placed: Promise<number>): void {
    const cache = this.treeCache!;
    const sealed = this.content.sealedCopy(id);
    const put = sealed
      ? cache.putSealed(id, sealed)
      : placed.then(
          () => {
            const later = this.content.sealedCopy(id); // its pack is not uploaded yet: that waits for this turn
            return later && cache.putSealed(id, later);
          },
          () => {}, // the store failed: the backup fails with it, nothing to cache
        );
    this.cacheWrites.add(put);
    void put.finally(() => this.cacheWrites.delete(put));
  }

  /** Reads and verifies a blob; trees come from the local cache when it has them. */
  async loadBlob(id: string, signal?: AbortSignal): Promise<Buffer> {
    const loc = this.treeCache ? this.content.masterIndex.lookup(id) : undefined;
    if (loc?.type !== 'tree') return this.content.loadBlob(id, signal);
    const cached = this.treeCache!.get(id, loc.rawLength);
    if (cached) return cached;
    const data = await this.content.loadBlob(id, signal);
    await this.treeCache!.put(id, data);
    return data;
  }

  /** One stored location of a blob from the master index; undefined when unknown or not indexed yet. */
  locateBlob(id: string): BlobLocation | undefined {
    return this.content.masterIndex.lookup(id);
  }

  /** Every stored location of a blob (the index may list several copies). */
  locateBlobAll(id: string): BlobLocation[] {
    return this.content.masterIndex.lookupAll(id);
  }

  /** Bytes [offset, offset + length) of a pack: one ranged GET (used to read many blobs of a pack at once), into `into` when given and large enough. */
  readPackRange(packId: string, offset: number, length: number, signal?: AbortSignal, into?: Buffer): Promise<Buffer> {
    return getBuffer(this.store, objectKey('data', packId), { range: { offset, length }, signal }, into);
  }

  hasBlob(id: string): boolean {
    return this.content.hasBlob(id);
  }

  /** content.flush(), then the tree cache's writes still running. */
  async flush(signal?: AbortSignal): Promise<string | null> {
    const index = await this.content.flush(signal);
    await Promise.all(this.cacheWrites);
    return index;
  }

  listSnapshots(signal?: AbortSignal): Promise<SnapshotEntry[]> {
    return listSnapshots(this.store, this.key, { signal });
  }

  loadSnapshot(id: string, signal?: AbortSignal): Promise<Snapshot> {
    return loadSnapshot(this.store, this.key, id, signal);
  }

  saveSnapshot(snapshot: Snapshot, signal?: AbortSignal): Promise<string> {
    return saveSnapshot(this.store, this.key, snapshot, signal);
  }

  deleteSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    return deleteSnapshot(this.store, id, signal);
  }

  lock(operation: string, opts: { exclusive?: boolean; waitMs?: number; signal?: AbortSignal } = {}): Promise<Lock> {
    return acquireLock(this.store, this.key, { exclusive: opts.exclusive ?? false, operation, waitMs: opts.waitMs ?? 30_000, signal: opts.signal });
  }
}
