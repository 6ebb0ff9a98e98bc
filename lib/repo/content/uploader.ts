// PackUploader: runs pack uploads in the background with bounded concurrency for the content store.
// Guarantees: at most `concurrency` puts in flight; each pack is put once (the BlobStore's retrying
// decorator owns retries) with its exact contentLength, so a failed put stores nothing (BlobStore
// contract). The first failure is remembered and reported to `done`; nothing else is thrown from the
// background. abort() cancels puts in flight through their AbortSignal and waits for them to settle.
// Concurrency: single event loop; the in-flight set changes only when a put settles.
import type { BlobStore } from '../../blob';
import { objectKey } from '../layout';
import type { FinishedPack } from '../pack/writer';

export class PackUploader {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controller = new AbortController();

  constructor(private readonly store: BlobStore, readonly concurrency: number) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`upload concurrency must be a positive integer, got ${concurrency}`);
  }

  get active(): number {
    return this.inFlight.size;
  }

  hasRoom(): boolean {
    return this.inFlight.size < this.concurrency;
  }

  /** Starts uploading `pack`; `done` is called once with undefined (stored) or the error, its slot already free. */
  start(pack: FinishedPack, done: (err: unknown) => void): void {
    const { bytes } = pack;
    // The slot is free before `done` runs, so `done` may start the next upload.
    const upload: Promise<void> = this.store
      .put(objectKey('data', pack.id), () => bytes, { contentLength: bytes.length, signal: this.controller.signal })
      .then(() => undefined, (err: unknown) => err ?? new Error(`upload of pack ${pack.id} failed`))
      .then((err) => {
        this.inFlight.delete(upload);
        done(err);
      });
    this.inFlight.add(upload);
  }

  /** Resolves when any upload in flight settles (at once when none is); rejects with signal.reason on abort. */
  async waitForAny(signal?: AbortSignal): Promise<void> {
    if (this.inFlight.size === 0) return;
    await raceAbort(Promise.race(this.inFlight), signal);
  }

  /** Resolves when every upload in flight now has settled. */
  async waitForAll(signal?: AbortSignal): Promise<void> {
    await raceAbort(Promise.all([...this.inFlight]), signal);
  }

  /** Cancels the uploads in flight and waits for them to settle. */
  async abort(reason: unknown): Promise<void> {
    this.controller.abort(reason);
    await Promise.all([...this.inFlight]);
  }
}

/** `promise`, or a rejection with signal.reason as soon as the signal aborts. */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
