// A lock this process holds (docs/repository-format.md §10). Created by acquireLock, never directly.
// - refresh() writes a new lock object with a later `expires`, checks that the previous one still exists (if
//   another process deleted it as stale, exclusion may already be broken), then deletes the previous one.
//   Refreshes never overlap; a failed refresh leaves the current lock in place.
// - The automatic refresh runs every ttl/3 on an unref'd timer (it never keeps the process alive); after a
//   failure it retries sooner. When the lock can no longer be trusted (it expired before a refresh landed,
//   a watchdog saw it expire while a refresh hung, or another process removed it), the lock is LOST:
//   `isLost` turns true, `lost` resolves with a LockLostError and `signal` aborts with it, so long
//   operations can stop instead of running unprotected. The clock is ctx.now (injectable for tests).
// - release() stops refreshing, aborts a refresh in flight and deletes the lock object. Idempotent; if the
//   delete fails it rejects and a later release() tries again (else the object goes stale after the ttl).
import { isNotFound, type BlobStore } from '../../blob';
import type { MasterKey } from '../crypto/master-key';
import { AAD } from '../crypto/sealed-box';
import { objectKey } from '../layout';
import { deleteObject, sealJson, sha256Hex } from '../objects';
import { LockLostError, type LockInfo } from './schema';

export interface HeldLockContext {
  store: BlobStore;
  key: MasterKey;
  ttlMs: number;
  now: () => number;
  autoRefresh: boolean;
}

export class HeldLock {
  private currentId: string;
  private current: LockInfo;
  private readonly controller = new AbortController();
  /** Aborts refresh I/O on release or loss. */
  private readonly io = new AbortController();
  private resolveLost!: (err: LockLostError) => void;
  /** Resolves (never rejects) with the reason once the lock is lost. */
  readonly lost: Promise<LockLostError> = new Promise((resolve) => (this.resolveLost = resolve));
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private releasing: Promise<void> | undefined;
  private stopped = false;
  /** Old lock objects whose deletion failed; retried on the next refresh and on release. */
  private leftovers: string[] = [];

  constructor(private readonly ctx: HeldLockContext, id: string, info: LockInfo) {
    this.currentId = id;
    this.current = info;
    this.schedule(this.intervalMs);
    this.armWatchdog();
  }

  /** Id of the current lock object (changes on every refresh: ids are content hashes). */
  get id(): string {
    return this.currentId;
  }

  get info(): LockInfo {
    return this.current;
  }

  get isLost(): boolean {
    return this.controller.signal.aborted;
  }

  /** Aborted with a LockLostError when the lock is lost; pass it to the work the lock protects. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private get intervalMs(): number {
    return Math.max(1, Math.floor(this.ctx.ttlMs / 3));
  }

  refresh(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`lock ${this.describe()} was released`));
    if (this.isLost) return Promise.reject(this.controller.signal.reason as Error);
    this.inFlight ??= this.doRefresh().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.io.abort(new Error('lock released'));
    // A refresh in flight is not awaited (its request may hang): it withdraws what it wrote once it sees `stopped`.
    this.releasing ??= (async () => {
      for (const id of [this.currentId, ...this.leftovers.splice(0)]) {
        await deleteObject(this.ctx.store, 'locks', id).catch((err: unknown) => {
          this.leftovers.push(id);
          throw err;
        });
      }
    })().catch((err: unknown) => {
      this.releasing = undefined; // a later release() tries again
      throw err;
    });
    return this.releasing;
  }

  private async doRefresh(): Promise<void> {
    const { store, key, ttlMs, now } = this.ctx;
    this.checkNotExpired('before it could be refreshed');
    const next: LockInfo = { ...this.current, expires: new Date(now() + ttlMs).toISOString() };
    // The id is known before the put, so a put that lands although release() aborted it is withdrawn too.
    const bytes = sealJson(key, AAD.lock, next);
    const nextId = sha256Hex(bytes);
    try {
      await store.put(objectKey('locks', nextId), () => bytes, { contentLength: bytes.length, signal: this.io.signal });
      this.checkNotExpired('while it was being refreshed');
      await this.checkStillThere();
      if (this.stopped) throw new Error('released');
    } catch (err) {
      await deleteObject(store, 'locks', nextId).catch(() => undefined);
      throw this.stopped ? new Error(`lock ${this.describe()} was released during a refresh`) : err;
    }
    const previous = this.currentId;
    this.currentId = nextId;
    this.current = next;
    this.armWatchdog();
    for (const id of [previous, ...this.leftovers.splice(0)]) {
      await deleteObject(store, 'locks', id).catch(() => this.leftovers.push(id));
    }
  }

  private checkNotExpired(when: string): void {
    if (this.ctx.now() > Date.parse(this.current.expires)) {
      throw this.markLost(`lock ${this.describe()} expired at ${this.current.expires} ${when}; another process may have taken the repository`);
    }
  }

  private async checkStillThere(): Promise<void> {
    try {
      await this.ctx.store.head(objectKey('locks', this.currentId), { signal: this.io.signal });
    } catch (err) {
      if (isNotFound(err)) throw this.markLost(`lock ${this.describe()} was removed by another process (it was considered stale)`);
      throw err;
    }
  }

  private markLost(message: string): LockLostError {
    const err = new LockLostError(message);
    if (this.stopped) return err; // released meanwhile: nobody relies on the lock any more
    if (!this.isLost) {
      this.io.abort(err);
      clearTimeout(this.timer);
      clearTimeout(this.watchdog);
      this.controller.abort(err);
      this.resolveLost(err);
    }
    return this.controller.signal.reason as LockLostError;
  }

  private describe(): string {
    return `for ${this.current.operation} (${this.current.exclusive ? 'exclusive' : 'shared'})`;
  }

  private schedule(delayMs: number): void {
    if (!this.ctx.autoRefresh || this.stopped || this.isLost) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  /** With automatic refresh, the lock is lost the moment it expires unrefreshed, even while a refresh hangs. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    if (!this.ctx.autoRefresh || this.stopped || this.isLost) return;
    const expires = this.current.expires;
    this.watchdog = setTimeout(() => {
      if (this.stopped || this.current.expires !== expires) return;
      if (this.ctx.now() > Date.parse(expires)) this.markLost(`lock ${this.describe()} expired at ${expires} without a successful refresh; another process may have taken the repository`);
      else this.armWatchdog();
    }, Math.max(1, Date.parse(expires) - this.ctx.now() + 1));
    this.watchdog.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.refresh();
      this.schedule(this.intervalMs);
    } catch {
      // Transient failure: try again well before expiry (lost locks and released ones stop here).
      const left = Date.parse(this.current.expires) - this.ctx.now();
      this.schedule(Math.min(this.intervalMs, Math.max(200, Math.floor(left / 3))));
    }
  }
}
