// Reads many blobs' packs (plan: pack-reads.ts), a few reads in flight, into reused buffers in shared
// memory, and hands each read to the caller, who opens the blobs (the restorer does it on its worker
// threads). A blob that does not verify, or whose pack is missing or shorter than the index says, is read
// again with loadAlone (loadBlob tries every copy the index lists); when that fails too, the caller
// reports that blob and the other blobs go on.
import { InvalidRangeError, isAbortError, isNotFound } from '../../blob';
import { IntegrityError } from '../../repo/crypto/sealed-box';
import type { BlobLocation } from '../../repo/index';
import { runLimited, type Slots } from '../../concurrency';
import { MAX_READ, planPackReads, type PackRead } from './pack-reads';

/** What fetching needs from a repository (lib/repo/repository.ts's Repository has it). */
export interface BlobSource {
  /** One stored location of a blob, or undefined when the index does not list it. */
  locateBlob(id: string): BlobLocation | undefined;
  /** Bytes [offset, offset + length) of a pack, in one request (into `into` when it is large enough). */
  readPackRange(packId: string, offset: number, length: number, signal?: AbortSignal, into?: Buffer): Promise<Buffer>;
  /** Reads and verifies one blob on its own, trying every copy (the fallback). */
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
}

export type FetchedBlob = { id: string; data: Buffer; error?: undefined } | { id: string; data?: undefined; error: Error };

/** A pack read's outcome: its bytes (in a buffer reused once the handler returns), or why it failed. */
export type PackReadResult = { read: PackRead; bytes: Buffer; error?: undefined } | { read: PackRead; bytes?: undefined; error: unknown };

/**
 * Pack reads in flight: one per restore worker on a 2-core machine, each into its own MAX_READ buffer.
 * Before the workers, 2 and 4 restored the 1 GiB bench corpus in the same time (16.1 vs 16.3 s) while 4
 * peaked at 329 MB RSS against 291 MB for 2.
 */
export const READS_IN_FLIGHT = 2;

export interface FetchOptions {
  signal?: AbortSignal;
  readsInFlight?: number;
  /**
   * Buffers to read into, for a caller that reads packs in several calls (a batched restore): each call's
   * own would leave its shared buffers to the workers' rare collections (see ReadBuffers). By default, the
   * call's own, sized to its largest read.
   */
  buffers?: ReadBuffers;
  /** Limits reads in flight across calls that overlap (the batches of one restore); then readsInFlight is per call. */
  readSlots?: Slots;
}

export interface ReadHandlers {
  /** One pack read, done or failed; its buffer is reused once this settles. Calls overlap (one per read in flight). */
  onRead(result: PackReadResult): Promise<void>;
  /** A blob the index does not list (read it on its own: loadAlone). */
  onUnlocated(id: string): Promise<void>;
}

/**
 * Reads the packs holding `ids` (planned by pack-reads.ts), a few reads in flight, into buffers in shared
 * memory (worker threads can open the blobs in place) that are reused from one read to the next. Rejects
 * only on abort or when a handler throws, after the reads in flight have settled.
 */
export async function readPacks(source: Pick<BlobSource, 'locateBlob' | 'readPackRange'>, ids: Iterable<string>, handlers: ReadHandlers, opts: FetchOptions = {}): Promise<void> {
  const { signal } = opts;
  const readPack = (read: PackRead): Promise<void> => (opts.readSlots ? opts.readSlots.run(() => readOnePack(read)) : readOnePack(read));
  const readOnePack = async (read: PackRead): Promise<void> => {
    const buffer = buffers.take(read.length);
    try {
      let bytes: Buffer;
      try {
        bytes = await readShared(source, read, buffer, signal);
      } catch (error) {
        if (signal?.aborted || isAbortError(error)) throw error;
        return await handlers.onRead({ read, error });
      }
      await handlers.onRead({ read, bytes });
    } finally {
      buffers.give(buffer);
    }
  };
  const inFlight = opts.readsInFlight ?? READS_IN_FLIGHT;
  const { reads, unlocated } = planPackReads(ids, (id) => source.locateBlob(id));
  const buffers = opts.buffers ?? new ReadBuffers(reads.reduce((n, r) => Math.max(n, r.length), 0));
  const tasks = [...reads.map((read) => () => readPack(read)), ...unlocated.map((id) => () => handlers.onUnlocated(id))];
  await runLimited(tasks, inFlight);
}

/** Reads and verifies one blob on its own with loadBlob (every copy the index lists); rejects only on abort. */
export async function loadAlone(source: Pick<BlobSource, 'loadBlob'>, id: string, signal?: AbortSignal): Promise<FetchedBlob> {
  try {
    return { id, data: await source.loadBlob(id, signal) };
  } catch (err) {
    if (signal?.aborted || isAbortError(err)) throw err;
    return { id, error: asError(err) };
  }
}

/**
 * Read buffers handed from one pack read to the next. A fresh buffer costs a page fault per 4 KiB on first
 * touch, which made copying the response into it 10-30x slower than into a reused one (~0.5 s of a
 * 200 MiB restore). They all have one size, the largest planned read (at most MAX_READ, which most
 * restores reach), so one fits any read and none is ever replaced:
 * a dropped shared buffer stays alive until every worker that saw it collects garbage, which their tiny
 * heaps rarely do (replacing them by size took the restore's peak from ~300 to ~420 MB). A larger read
 * (one huge blob) gets a buffer of its own, not kept. Holds one buffer per read in flight.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly size: number;

  constructor(largestRead = MAX_READ) {
    this.size = Math.max(1, Math.min(largestRead, MAX_READ));
  }

  take(length: number): Buffer {
    if (length > this.size) return Buffer.from(new SharedArrayBuffer(length));
    return this.free.pop() ?? Buffer.from(new SharedArrayBuffer(this.size));
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.size) this.free.push(buffer);
  }
}

/**
 * Bytes [offset, offset + length) of a pack, in shared memory (the workers open blobs in place): read into
 * `buffer` (from ReadBuffers), or copied there when the store returned a buffer of its own.
 */
export async function readShared(
  source: Pick<BlobSource, 'readPackRange'>,
  range: { packId: string; offset: number; length: number },
  buffer: Buffer,
  signal?: AbortSignal,
): Promise<Buffer> {
  const bytes = await source.readPackRange(range.packId, range.offset, range.length, signal, buffer);
  return bytes.buffer instanceof SharedArrayBuffer ? bytes : inSharedMemory(bytes, buffer);
}

/** `bytes` copied into `spare` when it fits, else into new shared memory. */
function inSharedMemory(bytes: Buffer, spare: Buffer): Buffer {
  const into = bytes.length <= spare.length ? spare : Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(into);
  return into.subarray(0, bytes.length);
}

/** Damage or a missing/short pack: another copy may be fine. Other storage errors were already retried by the store. */
export function otherCopyMayHelp(err: unknown): boolean {
  return err instanceof IntegrityError || err instanceof InvalidRangeError || isNotFound(err);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
