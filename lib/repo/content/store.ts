// ContentStore: the content layer (docs/repository-format.md §6-§8, §11). Everything above it stores and
// reads blobs by content id; it packs, compresses, encrypts, deduplicates, uploads and indexes them.
// Pipeline: saveBlob computes the content id (HMAC-SHA-256 of the plaintext) on the calling thread, checks
// and reserves it, and hands compression + encryption to a pool of worker threads (seal-pool.ts; config
// sealWorkers, default cores - 1); a blob enters the open pack when its sealed bytes come back, in whatever
// order they come. Blobs under 4 KiB (tree blobs, small files), and every blob with sealWorkers: 0, are
// sealed on the calling thread straight into the pack buffer.
// Guarantees:
// - saveBlob stores each distinct plaintext once: it deduplicates against the master index and against
//   blobs not indexed yet (being sealed, open pack, packs uploading, packs stored but not indexed). The check
//   and the reservation happen in one synchronous step, so concurrent saves of equal content store it once.
// - saveBlob resolves once the blob is reserved and queued (or sealed, inline): id, stored and rawLength are
//   final, the caller may reuse `plaintext`. The stored (sealed) size is known only after sealing:
//   SaveResult.storedLength is a promise of it, and stats().bytesStored counts it from then. A caller that
//   awaits each save in turn therefore still keeps the seal workers busy.
// - Memory is bounded: one open pack (packTargetSize + one blob), at most uploadConcurrency packs
//   uploading, the buffer of the last pack stored (kept to build a later pack in, so packs make no garbage;
//   this relies on BlobStore.put not keeping a Buffer body once it resolved, true of every lib/blob store),
//   and at most sealQueueBytes of plaintext handed to the seal workers and not yet in a pack (about twice
//   that in memory: the plaintext copies and the sealed results). saveBlob waits
//   (backpressure) while the open pack is full and no upload slot is free, or while the seal queue is full
//   (a deduplicated save never waits).
// - Ordering (§11.1): an index file is written only after every pack it lists is completely stored.
//   flush() waits for every blob whose saveBlob resolved before flush was called to be sealed and packed,
//   then indexes every pack holding one; when more than indexBatchBlobs blobs wait for an index, one is
//   written early in the background (bounded index files, and an interrupted backup leaves reusable
//   index entries).
// - loadBlob verifies every blob (authenticated decryption + HMAC of the plaintext against its id); a blob
//   still being sealed is read once it is in its pack.
// Errors: a pack upload that fails (after the BlobStore's own retries), or a seal that fails in its worker
// (or a worker that crashes), makes the store failed: every later saveBlob and flush rejects with that same
// error, storedLength of every blob not yet in a pack rejects with it, and no index lists a pack that was
// not stored or any pack not yet indexed. loadBlob: BlobNotInIndexError for an unknown id, IntegrityError
// naming blob and pack for damage or a missing pack, storage errors otherwise. abort() terminates the seal
// workers, cancels uploads and fails the store.
// Concurrency: any number of concurrent saveBlob/loadBlob/flush calls from one process; load() and index
// writes are serialised. Not for several processes sharing one instance (each has its own). Seal workers
// are started on the first blob to seal and stopped after a few idle seconds.
import { getBuffer, InvalidRangeError, isNotFound, type BlobStore } from '../../blob';
import { contentId, type MasterKey } from '../crypto/master-key';
import { IntegrityError } from '../crypto/sealed-box';
import { loadMasterIndex, writeIndexForPacks } from '../index/io';
import type { BlobLocation, MasterIndex } from '../index/master';
import { INDEX_FILE_TARGET_BLOBS, type StoredPack } from '../index/schema';
import { objectKey } from '../layout';
import { openBlobFromPack } from '../pack/blob';
import { isBlobType, MAX_UINT32, type BlobType, type PackEntry } from '../pack/format';
import { PackWriter, type FinishedPack } from '../pack/writer';
import { BlobNotInIndexError } from './errors';
import { BlobSealer, maxSealedLength } from './seal-core.mjs';
import { defaultSealWorkers, SealPool, type SealedResult } from './seal-pool';
import { newStats, type ContentStats, type ContentStoreConfig, type SaveHints, type SaveResult } from './types';
import { PackUploader, raceAbort } from './uploader';

/** Blobs below this size are sealed on the calling thread: a worker round trip would cost more. */
const INLINE_SEAL_BELOW = 4096;
/**
 * Trees go into packs of their own (as restic's do): a re-backup or restore reads every tree and no data
 * blob of a tree pack, so the local cache keeps tree packs whole, one file each instead of one per tree,
 * and a cold cache fetches them with one GET each. Smaller than data packs: all the trees of a 1 GiB,
 * 16k-file source take ~5 MiB.
 */
const TREE_PACK_TARGET = 4 * 1024 * 1024;
const MiB = 1024 * 1024;
const NOTHING_STORED = Promise.resolve(0);

/** A pack from the moment it opens until its index is written. */
interface PackState {
  writer?: PackWriter;
  /** The finished pack while it uploads. */
  bytes?: Buffer;
  id?: string;
  entries: PackEntry[];
  stored: boolean;
}

/** A blob handed to the seal workers and not yet in a pack. */
interface SealJob {
  seq: number;
  id: string;
  type: BlobType;
  rawLength: number;
  /** Resolves with the stored length once the blob is in a pack. */
  placed: Promise<number>;
  resolve(storedLength: number): void;
  reject(err: unknown): void;
}

type Pending = { pack: PackState; slot: number } | { job: SealJob };

type StoreConfig = Required<Omit<ContentStoreConfig, 'sealWorker' | 'onPackStored'>> & Pick<ContentStoreConfig, 'sealWorker' | 'onPackStored'>;
type OpenPack = PackState & { writer: PackWriter };

export class ContentStore {
  private index: MasterIndex | undefined;
  /** The pack being filled, one per blob type. */
  private readonly open = {} as Record<BlobType, OpenPack>;
  /** Blobs not in the master index yet, by content id. */
  private readonly pending = new Map<string, Pending>();
  private unindexed: StoredPack[] = [];
  private unindexedBlobs = 0;
  private failure: { error: unknown } | undefined;
  private serialChain: Promise<unknown> = Promise.resolve();
  private readonly uploader: PackUploader;
  private readonly counters = newStats();
  private readonly config: StoreConfig;
  private sealer: BlobSealer | undefined;
  private readonly pool: SealPool | undefined;
  private poolClosed: Promise<void> | undefined;
  /** Jobs with the seal workers or sealed and waiting for room in a pack, by id, oldest first. */
  private readonly jobs = new Map<string, SealJob>();
  private jobSeq = 0;
  /** Plaintext bytes of `jobs`. */
  private jobBytes = 0;
  /** Sealed blobs waiting for the open pack to have room (it is full and every upload slot is busy). */
  private ready: { job: SealJob; result: SealedResult }[] = [];
  private waiters: (() => void)[] = [];
  /** The buffer of the last pack stored, for the next pack to be built in (no 17 MiB of garbage per pack). */
  private spareBuffer: Buffer | undefined;

  constructor(private readonly store: BlobStore, private readonly key: MasterKey, config: ContentStoreConfig) {
    const sealWorkers = config.sealWorkers ?? defaultSealWorkers();
    this.config = {
      ...config,
      uploadConcurrency: config.uploadConcurrency ?? 2,
      indexBatchBlobs: config.indexBatchBlobs ?? INDEX_FILE_TARGET_BLOBS,
      sealWorkers,
      sealQueueBytes: config.sealQueueBytes ?? 4 * MiB * Math.max(1, sealWorkers),
    };
    const { packTargetSize, compressionLevel, indexBatchBlobs, sealQueueBytes } = this.config;
    if (!Number.isInteger(compressionLevel)) throw new RangeError(`compression level must be an integer, got ${compressionLevel}`);
    if (!Number.isSafeInteger(indexBatchBlobs) || indexBatchBlobs < 1) throw new RangeError(`indexBatchBlobs must be a positive integer, got ${indexBatchBlobs}`);
    if (!Number.isSafeInteger(sealWorkers) || sealWorkers < 0) throw new RangeError(`sealWorkers must be a non-negative integer, got ${sealWorkers}`);
    if (!Number.isSafeInteger(sealQueueBytes) || sealQueueBytes < 1) throw new RangeError(`sealQueueBytes must be a positive integer, got ${sealQueueBytes}`);
    this.uploader = new PackUploader(store, this.config.uploadConcurrency);
    if (sealWorkers > 0) this.pool = new SealPool(key.encKey, compressionLevel, { workers: sealWorkers, workerUrl: this.config.sealWorker?.url, workerData: this.config.sealWorker?.data });
    this.openPack('data');
    this.openPack('tree');
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

  /** Starts a seal worker ahead of the first blob (a worker takes ~0.1 s to boot). */
  startSealWorkers(): void {
    this.pool?.start();
  }

  /** Blobs handed to the seal workers and not yet in a pack, and their plaintext bytes (bounded by sealQueueBytes). */
  get sealBacklog(): { blobs: number; bytes: number } {
    return { blobs: this.jobs.size, bytes: this.jobBytes };
  }

  /** True when the repository (or a pending pack) holds the blob. */
  hasBlob(id: string): boolean {
    return this.requireIndex().has(id) || this.pending.has(id);
  }

  /**
   * Stores a blob unless the repository already has it. Resolves once the blob is reserved and queued for
   * sealing (or sealed into the open pack); it is durable only after a later flush() resolves. The caller
   * may reuse `plaintext` then. `signal` cancels waiting for room, nothing else.
   */
  async saveBlob(type: BlobType, plaintext: Buffer, signal?: AbortSignal, hints: SaveHints = {}): Promise<SaveResult> {
    if (!isBlobType(type)) throw new TypeError(`saveBlob: unknown blob type ${JSON.stringify(type)}`);
    const rawLength = plaintext.length;
    const maxLength = maxSealedLength(rawLength);
    if (maxLength > MAX_UINT32) throw new RangeError(`saveBlob: a ${rawLength}-byte blob does not fit a pack entry (max ${MAX_UINT32} bytes sealed)`);
    if (hints.rawId && hints.rawId.length !== 32) throw new RangeError(`saveBlob: a raw content id is 32 bytes, got ${hints.rawId.length}`);
    const rawId = hints.rawId ?? contentId(this.key, plaintext);
    const id = rawId.toString('hex');
    const pooled = this.pool !== undefined && rawLength >= INLINE_SEAL_BELOW;
    // Each pass is synchronous up to its await, so the dedup check and the reservation below cannot
    // interleave with another save of the same content.
    for (;;) {
      const index = this.requireUsable();
      if (index.has(id) || this.pending.has(id)) {
        this.counters.blobsDeduplicated++;
        this.counters.bytesDeduplicated += rawLength;
        return { id, stored: false, rawLength, storedLength: NOTHING_STORED };
      }
      if (this.open[type].writer.isFull) {
        if (this.uploader.hasRoom()) this.place();
        else await this.uploader.waitForAny(signal);
      } else if (pooled && this.jobBytes > 0 && this.jobBytes + rawLength > this.config.sealQueueBytes) {
        await this.nextChange(signal);
      } else break;
    }
    // From here to the return nothing awaits: the reservation completes the dedup check above. Sealing (or
    // handing the blob to a worker) comes first, so an exception from it leaves nothing reserved.
    if (!pooled) {
      // The open pack has room, so nothing waits in `ready` (place() drains it whenever the pack has room).
      this.sealer ??= new BlobSealer(this.key.encKey, this.config.compressionLevel);
      const sealer = this.sealer;
      const open = this.open[type];
      const slot = open.writer.addWith(type, id, rawLength, maxLength, (dest) => sealer.seal(plaintext, rawId, dest).length);
      const storedLength = open.entries[slot]!.length;
      this.pending.set(id, { pack: open, slot });
      this.counters.blobsStored++;
      this.counters.bytesRaw += rawLength;
      this.counters.bytesStored += storedLength;
      if (open.writer.isFull) this.place();
      return { id, stored: true, rawLength, storedLength: Promise.resolve(storedLength) };
    }
    const sealing = this.pool!.seal(plaintext, rawId, hints.handOver, hints.lent); // copies (or takes, or reads lent) plaintext
    const job = this.newJob(id, type, rawLength);
    this.jobs.set(id, job);
    this.jobBytes += rawLength;
    this.pending.set(id, { job });
    this.counters.blobsStored++;
    this.counters.bytesRaw += rawLength;
    sealing.then(
      (result) => this.sealed(job, result),
      (err: unknown) => this.fail(err),
    );
    return { id, stored: true, rawLength, storedLength: job.placed };
  }

  /**
   * Waits until every blob saved before this call is sealed and packed, uploads the open pack, waits for
   * uploads, then writes one index file for every pack stored since the last index. Returns that index
   * file's id, or null when there was nothing left to index.
   */
  async flush(signal?: AbortSignal): Promise<string | null> {
    this.requireUsable();
    const upTo = this.jobSeq;
    for (let oldest = this.oldestJob(); oldest && oldest.seq < upTo; oldest = this.oldestJob()) {
      await this.nextChange(signal);
      this.requireUsable();
    }
    for (const type of ['data', 'tree'] as const) {
      while (this.open[type].writer.count > 0 && !this.uploader.hasRoom()) {
        await this.uploader.waitForAny(signal);
        this.requireUsable();
      }
      if (this.open[type].writer.count > 0) {
        this.rotate(type);
        this.place();
      }
    }
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
    if (pending && 'job' in pending) {
      await raceAbort(pending.job.placed, signal); // rejects when the store failed first
      return this.loadBlob(id, signal);
    }
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

  /** Stops the seal workers, cancels uploads, discards everything not indexed yet, and fails the store for further writes. */
  async abort(reason: unknown = new DOMException('the content store was aborted', 'AbortError')): Promise<void> {
    this.fail(reason);
    await this.poolClosed;
    await this.uploader.abort(reason);
    await this.serial(async () => {});
    this.openPack('data');
    this.openPack('tree');
    this.pending.clear();
    this.takeUnindexed();
  }

  private openPack(type: BlobType): void {
    const targetSize = type === 'tree' ? Math.min(TREE_PACK_TARGET, this.config.packTargetSize) : this.config.packTargetSize;
    const writer = new PackWriter(this.key, { targetSize, buffer: type === 'data' ? this.spareBuffer : undefined });
    if (type === 'data') this.spareBuffer = undefined;
    this.open[type] = { writer, entries: writer.entries, stored: false };
  }

  /** Finishes the open pack of `type` and starts its upload (the caller checked for a free upload slot). */
  private rotate(type: BlobType): void {
    const state: PackState = this.open[type];
    const finished = this.open[type].writer.finish();
    this.openPack(type);
    state.writer = undefined;
    state.bytes = finished.bytes;
    state.id = finished.id;
    this.uploader.start(finished, (err) => this.uploaded(state, finished, err));
  }

  /**
   * Moves sealed blobs from `ready` into the open pack, rotating full packs while an upload slot is free;
   * stops when the open pack is full and every slot is busy (the next upload to finish calls it again).
   */
  private place(): void {
    while (!this.failure) {
      for (const type of ['data', 'tree'] as const) {
        if (this.open[type].writer.isFull && this.uploader.hasRoom()) this.rotate(type);
      }
      const next = this.ready[0];
      if (!next || this.open[next.job.type].writer.isFull) break; // every upload slot is busy
      this.ready.shift();
      const { job, result } = next;
      const open = this.open[job.type];
      let slot: number;
      try {
        slot = open.writer.add(job.type, job.id, result.sealed, job.rawLength);
      } catch (err) {
        this.fail(err);
        break;
      } finally {
        result.release();
      }
      const storedLength = open.entries[slot]!.length;
      this.jobs.delete(job.id);
      this.jobBytes -= job.rawLength;
      this.pending.set(job.id, { pack: open, slot });
      this.counters.bytesStored += storedLength;
      job.resolve(storedLength);
    }
    this.notify();
  }

  /** A seal worker returned `job`'s sealed bytes. */
  private sealed(job: SealJob, result: SealedResult): void {
    if (this.jobs.get(job.id) !== job) {
      result.release(); // the store failed meanwhile
      return;
    }
    this.ready.push({ job, result });
    this.place();
  }

  private uploaded(state: PackState, pack: FinishedPack, err: unknown): void {
    state.bytes = undefined;
    if (err !== undefined) {
      this.fail(err);
      return;
    }
    state.stored = true;
    try {
      this.config.onPackStored?.({ id: pack.id, bytes: pack.bytes, entries: pack.entries });
    } catch {
      // an observer's problem (the tree cache swallows its own) is not the backup's
    }
    // Stored, so nothing reads these bytes any more (the BlobStore is done with the body once put resolved).
    if (pack.buffer.length >= this.config.packTargetSize) this.spareBuffer ??= pack.buffer; // a data pack's
    this.counters.packsUploaded++;
    this.counters.bytesUploaded += pack.bytes.length;
    this.unindexed.push({ id: pack.id, size: pack.bytes.length, entries: pack.entries });
    this.unindexedBlobs += pack.entries.length;
    if (this.unindexedBlobs >= this.config.indexBatchBlobs && !this.failure) {
      this.writeIndex(this.takeUnindexed()).catch(() => {}); // packs go back to unindexed; flush retries
    }
    this.place(); // an upload slot is free: a full open pack can go, and sealed blobs waiting can follow
  }

  /** Fails the store (the first error wins): blobs not yet in a pack are dropped and their saves' storedLength rejects. */
  private fail(err: unknown): void {
    this.failure ??= { error: err };
    const { error } = this.failure;
    for (const job of this.jobs.values()) job.reject(error);
    this.jobs.clear();
    this.jobBytes = 0;
    for (const { result } of this.ready.splice(0)) result.release();
    this.poolClosed ??= this.pool?.close(error);
    this.notify();
  }

  private newJob(id: string, type: BlobType, rawLength: number): SealJob {
    let resolve!: (n: number) => void;
    let reject!: (err: unknown) => void;
    const placed = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    placed.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    return { seq: this.jobSeq++, id, type, rawLength, placed, resolve, reject };
  }

  private oldestJob(): SealJob | undefined {
    return this.jobs.values().next().value;
  }

  /** Resolves at the next change that may let a waiting save or flush go on (a blob packed, a failure). */
  private nextChange(signal?: AbortSignal): Promise<void> {
    return raceAbort(new Promise<void>((resolve) => this.waiters.push(resolve)), signal);
  }

  private notify(): void {
    if (this.waiters.length > 0) for (const wake of this.waiters.splice(0)) wake();
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
