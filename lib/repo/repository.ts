// An open repository: the one object the sources, the worker and the CLI use. It ties together the key
// (lib/repo/keys, init), the content layer (packs + index), the chunker configured for this repository,
// snapshots and locks. Not a god object: consumers declare the small interface they need (ArchiveRepo,
// RestoreRepo...) and this class happens to satisfy them. One instance per process and repository.
import type { Readable } from 'node:stream';
import type { BlobStore } from '../blob';
import { chunkStream, deriveGearTable, type GearTable } from './chunker';
import { ContentStore, type BlobType } from './content';
import { contentId, type MasterKey } from './crypto/master-key';
import { initRepository, openRepository, type InitCredentials, type InitOptions, type OpenCredentials } from './init';
import type { RepositoryConfig } from './config';
import { acquireLock, type Lock } from './lock';
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot, type Snapshot, type SnapshotEntry } from './snapshot';

export class Repository {
  private readonly gear: GearTable;

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

  static async init(store: BlobStore, credentials: InitCredentials, opts?: InitOptions): Promise<Repository> {
    const opened = await initRepository(store, credentials, opts);
    return Repository.fromOpened(store, opened);
  }

  static async open(store: BlobStore, credentials: OpenCredentials, signal?: AbortSignal): Promise<Repository> {
    const opened = await openRepository(store, credentials);
    return Repository.fromOpened(store, opened, signal);
  }

  private static async fromOpened(store: BlobStore, o: Awaited<ReturnType<typeof openRepository>>, signal?: AbortSignal): Promise<Repository> {
    const content = await ContentStore.create(store, o.masterKey, { packTargetSize: o.config.packTargetSize, compressionLevel: o.config.compression.level }, signal);
    return new Repository(store, o.id, o.config, o.masterKey, o.slotId, content);
  }

  get masterKey(): MasterKey {
    return this.key;
  }

  chunks(readable: Readable | AsyncIterable<Uint8Array>): AsyncIterable<Buffer> {
    const { minSize, avgSize, maxSize } = this.config.chunker;
    return chunkStream(readable, this.gear, { minSize, avgSize, maxSize });
  }

  contentIdOf(data: Buffer): string {
    return contentId(this.key, data).toString('hex');
  }

  saveBlob(type: BlobType, data: Buffer, signal?: AbortSignal) {
    return this.content.saveBlob(type, data, signal);
  }

  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer> {
    return this.content.loadBlob(id, signal);
  }

  hasBlob(id: string): boolean {
    return this.content.hasBlob(id);
  }

  flush(signal?: AbortSignal): Promise<string | null> {
    return this.content.flush(signal);
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
