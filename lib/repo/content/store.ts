// ContentStore: the content layer (docs/repository-format.md §6-§8, §11). Everything above it stores and
// reads blobs by content id; it packs, compresses, encrypts, deduplicates, uploads and indexes them.
// Guarantees:
// - saveBlob stores each distinct plaintext once: it deduplicates against the master index and against
//   blobs not indexed yet (open pack, packs uploading, packs stored but not indexed). The check and the
//   reservation happen in one synchronous step, so concurrent saves of equal content store it once.
// - Memory is bounded: one open pack (packTargetSize + one blob) plus at most uploadConcurrency packs
//   uploading; saveBlob waits (backpressure) while the open pack is full and no upload slot is free
//   (a deduplicated save never waits).
// - Ordering (§11.1): an index file is written only after every pack it lists is completely stored.
//   flush() indexes every pack holding a blob whose saveBlob resolved before flush was called; when more
//   than indexBatchBlobs blobs wait for an index, one is written early in the background (bounded index
//   files, and an interrupted backup leaves reusable index entries).
// - loadBlob verifies every blob (authenticated decryption + HMAC of the plaintext against its id).
// Errors: a pack upload that fails (after the BlobStore's own retries) makes the store failed: every
// later saveBlob and flush rejects with that same error and no index lists that pack or any pack not yet
// indexed. loadBlob: BlobNotInIndexError for an unknown id, IntegrityError naming blob and pack for
// damage or a missing pack, storage errors otherwise. abort() cancels uploads and fails the store.
// Concurrency: any number of concurrent saveBlob/loadBlob/flush calls from one process; load() and index
// writes are serialised. Not for several processes sharing one instance (each has its own).
import { getBuffer, InvalidRangeError, isNotFound, type BlobStore } from '../../blob';
import { contentId, type MasterKey } from '../crypto/master-key';
import { IntegrityError } from '../crypto/sealed-box';
import { loadMasterIndex, writeIndexForPacks } from '../index/io';
import type { BlobLocation, MasterIndex } from '../index/master';
import type { StoredPack } from '../index/schema';
import { objectKey } from '../layout';
import { openBlobFromPack, sealBlob } from '../pack/blob';
import { isBlobType, type BlobType, type PackEntry } from '../pack/format';
import { PackWriter, type FinishedPack } from '../pack/writer';
import { BlobNotInIndexError } from './errors';
import { newStats, type ContentStats, type ContentStoreConfig, type SaveResult } from './types';
import { PackUploader } from './uploader';

/** A pack from the moment it opens until its index is written. */
interface PackState {
  writer?: PackWriter;
  /** The finished pack while it uploads. */
  bytes?: Buffer;
  id?: string;
  entries: PackEntry[];
  stored: boolean;
}

export class ContentStore {
  private index: MasterIndex | undefined;
  private open!: PackState & { writer: PackWriter };
  /** Blobs not in the master index yet, by content id. */
  private readonly pending = new Map<string, { pack: PackState; slot: number }>();
  private unindexed: StoredPack[] = [];
  private unindexedBlobs = 0;
  private failure: { error: unknown } | undefined;
  private serialChain: Promise<unknown> = Promise.resolve();
  private readonly uploader: PackUploader;
  private readonly counters = newStats();
  private readonly config: Required<ContentStoreConfig>;

  constructor(private readonly store: BlobStore, private readonly key: MasterKey, config: ContentStoreConfig) {
    this.config = { uploadConcurrency: 2, indexBatchBlobs: 50_000, ...config };
    const { packTargetSize, compressionLevel, indexBatchBlobs } = this.config;
    if (!Number.isInteger(compressionLevel)) throw new RangeError(`compression level must be an integer, got ${compressionLevel}`);
    if (!Number.isSafeInteger(indexBatchBlobs) || indexBatchBlobs < 1) throw new RangeError(`indexBatchBlobs must be a positive integer, got ${indexBatchBlobs}`);
    this.uploader = new PackUploader(store, this.config.uploadConcurrency);
    this.openPack(packTargetSize);
  }

  /** new ContentStore + load(). */
  static async create(store: BlobStore, key: MasterKey, config: ContentStoreConfig, signal?: AbortSignal): Promise<ContentStore> {
    const cs = new ContentStore(store, key, config);
    await cs.load(signal);
    return cs;
  }

  /** (Re)reads the master index from storage. Required before saveBlob/loadBlob. */
  async load(signal?: AbortSignal): Promise<void> {
    await this.serial(async () => {
      this.index = await loadMasterIndex(this.store, this.key, { signal });
    });
  }

  /** The master index as loaded and extended by this store's flushes. */
  get masterIndex(): MasterIndex {
    return this.requireIndex();
  }

  stats(): ContentStats {
    return { ...this.counters };
  }

  /** True when the repository (or a pending pack) holds the blob. */
  hasBlob(id: string): boolean {
    return this.requireIndex().has(id) || this.pending.has(id);
  }

  /**
   * Stores a blob unless the repository already has it. Resolves once the blob is in the open pack (it is
   * durable only after a later flush() resolves); the caller may reuse `plaintext` then. `signal` cancels
   * waiting for room, nothing else.
   */
  async saveBlob(type: BlobType, plaintext: Buffer, signal?: AbortSignal): Promise<SaveResult> {
    if (!isBlobType(type)) throw new TypeError(`saveBlob: unknown blob type ${JSON.stringify(type)}`);
    const rawId = contentId(this.key, plaintext);
    const id = rawId.toString('hex');
    const rawLength = plaintext.length;
    // Each pass is synchronous up to its await, so the dedup check and the reservation below cannot
    // interleave with another save of the same content.
    for (;;) {
      const index = this.requireUsable();
      if (index.has(id) || this.pending.has(id)) {
        this.counters.blobsDeduplicated++;
        this.counters.bytesDeduplicated += rawLength;
        return { id, stored: false, rawLength, storedLength: 0 };
      }
      if (!this.open.writer.isFull) break;
      if (this.uploader.hasRoom()) this.rotate();
      else await this.uploader.waitForAny(signal);
    }
    const { sealed } = sealBlob(this.key, plaintext, this.config.compressionLevel, rawId);
    const slot = this.open.writer.add(type, id, sealed, rawLength);
    this.pending.set(id, { pack: this.open, slot });
    this.counters.blobsStored++;
    this.counters.bytesRaw += rawLength;
    this.counters.bytesStored += sealed.length;
    if (this.open.writer.isFull && this.uploader.hasRoom()) this.rotate();
    return { id, stored: true, rawLength, storedLength: sealed.length };
  }

  /**
   * Uploads the open pack, waits for uploads, then writes one index file for every pack stored since the
   * last index. Returns that index file's id, or null when there was nothing left to index.
   */
  async flush(signal?: AbortSignal): Promise<string | null> {
    this.requireUsable();
    while (this.open.writer.count > 0 && !this.uploader.hasRoom()) {
      await this.uploader.waitForAny(signal);
      this.requireUsable();
    }
    if (this.open.writer.count > 0) this.rotate();
    await this.uploader.waitForAll(signal);
    this.requireUsable();
    await this.serial(async () => {}); // early index writes settle (a failed one puts its packs back)
    this.requireUsable();
    const packs = this.takeUnindexed();
    return packs.length === 0 ? null : this.writeIndex(packs, signal);
  }

  /** Reads and verifies a blob, from storage or from a pack not yet indexed; tries every copy the index lists. */
  async loadBlob(id: string, signal?: AbortSignal): Promise<Buffer> {
    const index = this.requireIndex();
    const pending = this.pending.get(id);
    if (pending) return this.loadPending(id, pending.pack, pending.slot, signal);
    const locations = index.lookupAll(id);
    if (locations.length === 0) throw new BlobNotInIndexError(id);
    let firstError: unknown;
    for (const loc of locations) {
      try {
        return await this.readBlob(id, loc, signal);
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        firstError ??= err;
      }
    }
    throw firstError;
  }

  /** Cancels uploads, discards everything not indexed yet, and fails the store for further writes. */
  async abort(reason: unknown = new DOMException('the content store was aborted', 'AbortError')): Promise<void> {
    this.failure ??= { error: reason };
    await this.uploader.abort(reason);
    await this.serial(async () => {});
    this.openPack(this.config.packTargetSize);
    this.pending.clear();
    this.takeUnindexed();
  }

  private openPack(targetSize: number): void {
    const writer = new PackWriter(this.key, { targetSize });
    this.open = { writer, entries: writer.entries, stored: false };
  }

  /** Finishes the open pack and starts its upload (the caller checked for a free upload slot). */
  private rotate(): void {
    const state: PackState = this.open;
    const finished = this.open.writer.finish();
    this.openPack(this.config.packTargetSize);
    state.writer = undefined;
    state.bytes = finished.bytes;
    state.id = finished.id;
    this.uploader.start(finished, (err) => this.uploaded(state, finished, err));
  }

  private uploaded(state: PackState, pack: FinishedPack, err: unknown): void {
    state.bytes = undefined;
    if (err !== undefined) {
      this.failure ??= { error: err };
      return;
    }
    state.stored = true;
    this.counters.packsUploaded++;
    this.counters.bytesUploaded += pack.bytes.length;
    this.unindexed.push({ id: pack.id, size: pack.bytes.length, entries: pack.entries });
    this.unindexedBlobs += pack.entries.length;
    if (this.unindexedBlobs >= this.config.indexBatchBlobs && !this.failure) {
      this.writeIndex(this.takeUnindexed()).catch(() => {}); // packs go back to unindexed; flush retries
    }
  }

  private takeUnindexed(): StoredPack[] {
    this.unindexedBlobs = 0;
    return this.unindexed.splice(0);
  }

  /** Writes the index for stored `packs` (after earlier index writes) and merges it. */
  private writeIndex(packs: StoredPack[], signal?: AbortSignal): Promise<string> {
    return this.serial(async () => {
      try {
        const { id, file } = await writeIndexForPacks(this.store, this.key, packs, { signal });
        this.requireIndex().add(id, file);
        for (const p of packs) for (const e of p.entries) this.pending.delete(e.id);
        this.counters.indexesWritten++;
        return id;
      } catch (err) {
        if (!this.failure) {
          this.unindexed.unshift(...packs);
          this.unindexedBlobs += packs.reduce((n, p) => n + p.entries.length, 0);
        }
        throw err;
      }
    });
  }

  private async loadPending(id: string, pack: PackState, slot: number, signal?: AbortSignal): Promise<Buffer> {
    const e = pack.entries[slot]!;
    if (pack.stored) return this.readBlob(id, { ...e, packId: pack.id! }, signal);
    let sealed: Buffer;
    if (pack.writer) sealed = pack.writer.sealedAt(slot);
    else if (pack.bytes) sealed = pack.bytes.subarray(e.offset, e.offset + e.length);
    else throw this.failure?.error ?? new Error(`blob ${id}: its pack was discarded`);
    return openBlobFromPack(this.key, sealed, id, { pack: pack.id ?? '(open, not yet stored)', rawLength: e.rawLength });
  }

  private async readBlob(id: string, loc: BlobLocation, signal?: AbortSignal): Promise<Buffer> {
    const packKey = objectKey('data', loc.packId);
    let sealed: Buffer;
    try {
      sealed = await getBuffer(this.store, packKey, { range: { offset: loc.offset, length: loc.length }, signal });
    } catch (err) {
      if (isNotFound(err)) throw new IntegrityError(`blob ${id}: pack ${packKey} listed in the index is missing from storage`, { cause: err });
      if (err instanceof InvalidRangeError) {
        throw new IntegrityError(`blob ${id}: pack ${packKey} is shorter than the index says (offset ${loc.offset}, length ${loc.length})`, { cause: err });
      }
      throw err;
    }
    return openBlobFromPack(this.key, sealed, id, { pack: loc.packId, rawLength: loc.rawLength });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serialChain.then(fn);
    this.serialChain = run.catch(() => {});
    return run;
  }

  private requireIndex(): MasterIndex {
    if (!this.index) throw new Error('ContentStore: call load() first (the master index is not loaded)');
    return this.index;
  }

  private requireUsable(): MasterIndex {
    if (this.failure) throw this.failure.error;
    return this.requireIndex();
  }
}
