// StoredBytesTally: adds up SaveResult.storedLength over many saves (a backup's "bytes added") without
// holding a promise per blob and without ever leaving a rejection unhandled. saveBlob resolves before a
// blob is sealed (store.ts), so the sizes arrive later; settled() waits for the ones still missing.
// Errors: when a save's blob never reaches a pack (the store failed), settled() rejects with that error;
// until then nothing is thrown (the failure also rejects the next saveBlob and flush).
// Concurrency: single event loop; add() and settled() may interleave freely.
import type { SaveResult } from './types';

export class StoredBytesTally {
  /** Sum of the stored lengths known so far. */
  bytes = 0;
  /** Stored (not deduplicated) blobs added. */
  blobs = 0;
  private outstanding = 0;
  private failure: { error: unknown } | undefined;
  private waiters: (() => void)[] = [];

  /** Counts one save; a deduplicated one adds nothing. */
  add(saved: Pick<SaveResult, 'stored' | 'storedLength'>): void {
    if (!saved.stored) return;
    this.blobs++;
    this.outstanding++;
    saved.storedLength.then(
      (n) => {
        this.bytes += n;
        this.done();
      },
      (err: unknown) => {
        this.failure ??= { error: err };
        this.done();
      },
    );
  }

  /** Resolves with the total once every save added so far has its size; rejects with the first failure. */
  async settled(): Promise<number> {
    while (this.outstanding > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure.error;
    return this.bytes;
  }

  private done(): void {
    if (--this.outstanding === 0) for (const wake of this.waiters.splice(0)) wake();
  }
}
