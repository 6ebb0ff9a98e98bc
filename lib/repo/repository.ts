// An open repository: the one object the sources, the worker and the CLI use. It ties together the key
// (lib/repo/keys, init), the content layer (packs + index), the chunker configured for this repository,
// snapshots and locks. Not a god object: consumers declare the small interface they need (ArchiveRepo,
// RestoreRepo...) and this class happens to satisfy them. One instance per process and repository.
import { createHash } from 'node:crypto';
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
  /**
   * Called once the key is unlocked, before the index loads: a command that will restore starts its worker
   * threads here, so they boot (~0.1 s of a core each) while the index and the listings load.
   */
  onUnlocked?: (key: MasterKey, config: RepositoryConfig) => void;
};

/** Tree packs larger than this are not fetched whole into the cache (only a huge single tree makes one). */
const MAX_FETCHED_TREE_PACK = 64 * 1024 * 1024;

export class Repository {
  private readonly gear: GearTable;
  private chunkPool: ChunkPool | undefined;
  /** Tree packs being fetched whole into the cache, by pack id (true once cached). */
  private readonly fetching = new Map<string, Promise<boolean>>();

  private constructor(
    readonly store: BlobStore,
    readonly id: string,
    readonly config: RepositoryConfig,
    private readonly key: MasterKey,
    readonly slotId: string,
    readonly content: ContentStore,
    private readonly treeCache: TreeCache | undefined,
    /** Tree cache writes not finished yet (they never reject); flush() waits for them. */
    private readonly cacheWrites: Set<Promise<unknown>>,
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
    opts.onUnlocked?.(opened.masterKey, opened.config);
    return Repository.fromOpened(listed, opened, opts);
  }

  private static async fromOpened(store: BlobStore, o: Awaited<ReturnType<typeof openRepository>>, opts: OpenOptions = {}): Promise<Repository> {
    const cached = opts.cacheRoot ? withObjectCache(store, join(opts.cacheRoot, o.id)) : store;
    const treeCache = opts.cacheRoot ? new TreeCache(opts.cacheRoot, o.id, o.masterKey, o.config.compression.level) : undefined;
    const cacheWrites = new Set<Promise<unknown>>();
    // Each tree pack goes into the cache whole once stored: one file instead of one per tree.
    const onPackStored = treeCache && ((pack: { id: string; bytes: Buffer; entries: readonly { type: string }[] }) => {
      if (pack.entries.length > 0 && pack.entries.every((e) => e.type === 'tree')) track(cacheWrites, treeCache.putPack(pack.id, pack.bytes));
    });
    const content = await ContentStore.create(cached, o.masterKey, { packTargetSize: o.config.packTargetSize, compressionLevel: o.config.compression.level, onPackStored }, opts.signal);
    return new Repository(cached, o.id, o.config, o.masterKey, o.slotId, content, treeCache, cacheWrites);
  }

  get masterKey(): MasterKey {
    return this.key;
  }

  /** Content-defined chunks of a stream, each with its raw content id, cut and hashed on worker threads. */
  hashedChunks(source: PieceReader | { path: string }, signal?: AbortSignal): AsyncIterable<HashedChunk> {
    return this.chunker().chunks(source, signal);
  }

  /** A file of at most `limit` bytes read whole and hashed as one chunk (on the reader thread once startWorkers booted it). */
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

  saveBlob(type: BlobType, data: Buffer, signal?: AbortSignal, hints?: SaveHints) {
    return this.content.saveBlob(type, data, signal, hints);
  }

  /** Reads and verifies a blob; trees come from the local cache when it has them. */
  async loadBlob(id: string, signal?: AbortSignal): Promise<Buffer> {
    const loc = this.treeCache ? this.content.masterIndex.lookup(id) : undefined;
    if (loc?.type !== 'tree') return this.content.loadBlob(id, signal);
    const cache = this.treeCache!;
    const cached = cache.get(id, loc);
    if (cached) return cached;
    const pack = this.content.masterIndex.pack(loc.packId);
    if (pack?.treesOnly && pack.size <= MAX_FETCHED_TREE_PACK && (await this.fetchTreePack(pack.id, signal))) {
      const fetched = cache.get(id, loc);
      if (fetched) return fetched;
    }
    const data = await this.content.loadBlob(id, signal);
    await cache.put(id, data);
    return data;
  }

  /**
   * Fetches tree pack `packId` whole into the cache (one GET for every tree in it, as restic does), once
   * for all the loads waiting on it. False when it could not (the caller reads the one blob instead, and
   * reports what is wrong with it).
   */
  private fetchTreePack(packId: string, signal?: AbortSignal): Promise<boolean> {
    let fetching = this.fetching.get(packId);
    if (!fetching) {
      fetching = (async () => {
        try {
          const bytes = await getBuffer(this.store, objectKey('data', packId), { signal });
          if (createHash('sha256').update(bytes).digest('hex') !== packId) return false;
          return await this.treeCache!.putPack(packId, bytes);
        } catch {
          return false;
        }
      })();
      this.fetching.set(packId, fetching);
      void fetching.then(() => this.fetching.delete(packId)); // later loads read the cache
    }
    return fetching;
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

/** Adds `write` to `writes` until it settles. */
function track(writes: Set<Promise<unknown>>, write: Promise<unknown>): void {
  writes.add(write);
  void write.finally(() => writes.delete(write));
}
