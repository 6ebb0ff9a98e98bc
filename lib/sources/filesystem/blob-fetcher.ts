// Fetches many blobs by reading their packs (plan: pack-reads.ts), a few reads in flight, and hands each
// blob to the caller verified: the repository's openBlob does the authenticated decryption and checks the
// plaintext's HMAC against the blob's id. A blob that does not verify, or whose pack is missing or
// shorter than the index says, is read again with loadBlob, which tries every copy the index lists; when
// that fails too, the caller gets the error for that blob and the other blobs go on.
import { InvalidRangeError, isAbortError, isNotFound } from '../../blob';
import { IntegrityError } from '../../repo/crypto/sealed-box';
import type { BlobLocation } from '../../repo/index';
import { runLimited } from '../../concurrency';
import { planPackReads, type PackRead } from './pack-reads';

/** What fetching needs from a repository (lib/repo/repository.ts's Repository has it). */
export interface BlobSource {
  /** One stored location of a blob, or undefined when the index does not list it. */
  locateBlob(id: string): BlobLocation | undefined;
  /** Bytes [offset, offset + length) of a pack, in one request (into `into` when it is large enough). */
  readPackRange(packId: string, offset: number, length: number, signal?: AbortSignal, into?: Buffer): Promise<Buffer>;
  /** Decrypts, decompresses and verifies one sealed blob (throws IntegrityError). */
  openBlob(id: string, sealed: Buffer, loc: BlobLocation): Buffer;
  /** Reads and verifies one blob on its own, trying every copy (the fallback). */
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
}

export type FetchedBlob = { id: string; data: Buffer; error?: undefined } | { id: string; data?: undefined; error: Error };

/**
 * Pack reads in flight. Restores are CPU-bound here (decrypt, decompress, re-hash, file syscalls), so two
 * reads keep the link busy: on the 1 GiB bench corpus 2 and 4 restore in the same time (16.1 vs 16.3 s)
 * while 4 peaks at 329 MB RSS against 291 MB for 2.
 */
export const READS_IN_FLIGHT = 2;

export interface FetchOptions {
  signal?: AbortSignal;
  readsInFlight?: number;
}

/**
 * Calls `onBlob` once per distinct id, with its verified plaintext or with the error that made it
 * unreadable. Calls overlap (one per read in flight); blobs of one read come in offset order. Rejects
 * only on abort or when `onBlob` throws, after the reads in flight have settled.
 */
export async function fetchBlobs(
  source: BlobSource,
  ids: Iterable<string>,
  onBlob: (blob: FetchedBlob) => Promise<void> | void,
  opts: FetchOptions = {},
): Promise<void> {
  const { signal } = opts;
  const aborted = (err: unknown) => signal?.aborted || isAbortError(err);

  const loadAlone = async (id: string): Promise<FetchedBlob> => {
    try {
      return { id, data: await source.loadBlob(id, signal) };
    } catch (err) {
      if (aborted(err)) throw err;
      return { id, error: asError(err) };
    }
  };

  const readPack = async (read: PackRead): Promise<void> => {
    let bytes: Buffer | undefined;
    let readError: unknown;
    const buffer = buffers.take(read.length);
    try {
      bytes = await source.readPackRange(read.packId, read.offset, read.length, signal, buffer);
    } catch (err) {
      buffers.give(buffer);
      if (aborted(err)) throw err;
      readError = err;
    }
    try {
      await openEach(read, bytes, readError);
    } finally {
      if (bytes) buffers.give(buffer);
    }
  };

  const openEach = async (read: PackRead, bytes: Buffer | undefined, readError: unknown): Promise<void> => {
    for (const { id, loc } of read.blobs) {
      signal?.throwIfAborted();
      if (!bytes && !otherCopyMayHelp(readError)) {
        await onBlob({ id, error: asError(readError) });
        continue;
      }
      let data: Buffer | undefined;
      if (bytes) {
        const start = loc.offset - read.offset;
        try {
          data = source.openBlob(id, bytes.subarray(start, start + loc.length), loc);
        } catch (err) {
          if (!(err instanceof IntegrityError)) throw err;
        }
      }
      await onBlob(data ? { id, data } : await loadAlone(id));
    }
  };

  const inFlight = opts.readsInFlight ?? READS_IN_FLIGHT;
  const buffers = new ReadBuffers(inFlight);
  const { reads, unlocated } = planPackReads(ids, (id) => source.locateBlob(id));
  const tasks = [...reads.map((read) => () => readPack(read)), ...unlocated.map((id) => async () => onBlob(await loadAlone(id)))];
  await runLimited(tasks, inFlight);
}

/**
 * Read buffers handed from one pack read to the next. A fresh 16 MiB buffer costs a page fault per 4 KiB on
 * first touch, which made copying the response into it 10-30x slower than into a reused one (~0.5 s of
 * a 200 MiB restore). Blobs are decrypted into their own buffers, so a read's buffer is free again once
 * its blobs are opened. Holds at most one buffer per read in flight.
 */
class ReadBuffers {
  /** A default pack (16 MiB target plus one chunk's overshoot) fits, so one buffer serves any later read. */
  private static readonly MIN = 17 * 1024 * 1024;
  private readonly free: Buffer[] = [];

  constructor(private readonly keep: number) {}

  take(length: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= length);
    return i >= 0 ? this.free.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(Math.max(length, ReadBuffers.MIN));
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
    if (this.free.length > this.keep) this.free.sort((a, b) => b.length - a.length).pop();
  }
}

/** Damage or a missing/short pack: another copy may be fine. Other storage errors were already retried by the store. */
function otherCopyMayHelp(err: unknown): boolean {
  return err instanceof IntegrityError || err instanceof InvalidRangeError || isNotFound(err);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
