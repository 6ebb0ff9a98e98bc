// SealPool: compresses and seals blobs (seal-core.mjs) on worker threads running seal-worker.mjs, so the
// content store's thread keeps only hashing, packing and I/O. The pool knows nothing about packs or
// deduplication; the content store decides what to seal and bounds how much is in flight (store.ts).
// Guarantees: seal() copies the plaintext before it returns (the caller may reuse it at once); plaintext and
// sealed bytes travel as transferred ArrayBuffers, never structured-cloned; those buffers are recycled (a
// result's buffer comes back through release()), with at most `spareBytes` kept idle. Workers start on the
// first job, at most `workers` of them; each job goes to the worker with the fewest bytes outstanding; a
// worker keeps the process alive only while it has jobs; all workers are terminated after `idleMs` without
// jobs and restarted on demand.
// Errors: a job that throws in its worker rejects that job with the worker's error. A worker that crashes
// (uncaught error, unexpected exit, unreadable message) breaks the pool: every outstanding and later seal()
// rejects with a SealWorkerError. close(reason) terminates the workers and rejects everything outstanding
// and later with `reason`.
// Concurrency: one event loop; seal() may be called any number of times without awaiting.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { maxSealedLength } from './seal-core.mjs';

export interface SealPoolOptions {
  /** Worker threads (at least 1). */
  workers: number;
  /** Idle buffers kept for reuse, in bytes (default 8 MiB per worker). */
  spareBytes?: number;
  /** Workers are terminated after this long without jobs (default 5 s). */
  idleMs?: number;
  /** The worker script (tests substitute failing ones); default seal-worker.mjs. */
  workerUrl?: URL;
  /** Extra workerData for a substitute worker script. */
  workerData?: Record<string, unknown>;
}

export interface SealedResult {
  /** The sealed box; valid until release(). */
  sealed: Buffer;
  /** Hands the result's buffer back to the pool; call once the sealed bytes have been copied. */
  release(): void;
}

export class SealWorkerError extends Error {
  name = 'SealWorkerError';
}

/** Default pool size: every core but the one the content store's thread runs on, at least one. */
export function defaultSealWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

interface Job {
  bytes: number;
  resolve(r: SealedResult): void;
  reject(err: unknown): void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Plaintext bytes of the jobs outstanding on this worker. */
  bytes: number;
  /** Set when the pool terminates the worker itself: its exit is no failure. */
  stopping: boolean;
}

interface Reply {
  seq: number;
  input: ArrayBuffer;
  out: ArrayBuffer;
  sealedLength?: number;
  error?: { name: string; message: string; stack?: string };
}

const KiB = 1024;
const MiB = 1024 * KiB;

export class SealPool {
  readonly workers: number;
  private readonly slots: Slot[] = [];
  private readonly spare: ArrayBuffer[] = [];
  private spareTotal = 0;
  private readonly spareBytes: number;
  private readonly idleMs: number;
  private readonly workerUrl: URL;
  private readonly workerData: Record<string, unknown>;
  private readonly encKey: Uint8Array;
  private seq = 0;
  private jobCount = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private broken: { error: unknown } | undefined;

  constructor(encKey: Uint8Array, private readonly level: number, opts: SealPoolOptions) {
    if (!Number.isSafeInteger(opts.workers) || opts.workers < 1) throw new RangeError(`seal workers must be a positive integer, got ${opts.workers}`);
    if (!Number.isInteger(level)) throw new RangeError(`compression level must be an integer, got ${level}`);
    this.workers = opts.workers;
    this.encKey = new Uint8Array(encKey);
    this.spareBytes = opts.spareBytes ?? 8 * MiB * opts.workers;
    this.idleMs = opts.idleMs ?? 5000;
    this.workerUrl = opts.workerUrl ?? new URL('./seal-worker.mjs', import.meta.url);
    this.workerData = opts.workerData ?? {};
  }

  /** Jobs sent and not answered yet. */
  get outstanding(): number {
    return this.jobCount;
  }

  /** Worker threads running now. */
  get running(): number {
    return this.slots.length;
  }

  /**
   * Seals `plaintext` (copied before this returns) with AAD `rawId` on a worker thread. Throws (nothing
   * queued) when the job cannot even be sent: no memory for its buffers, no worker could be created.
   */
  seal(plaintext: Uint8Array, rawId: Uint8Array): Promise<SealedResult> {
    if (this.broken) return Promise.reject(this.broken.error);
    const length = plaintext.length;
    const slot = this.pickSlot();
    const input = this.take(length);
    new Uint8Array(input, 0, length).set(plaintext);
    const out = this.take(maxSealedLength(length));
    const seq = this.seq++;
    // The id is copied into its own 32-byte buffer: a view into a larger (pooled) ArrayBuffer would be
    // cloned whole.
    slot.worker.postMessage({ seq, id: new Uint8Array(rawId), input, length, out }, [input, out]);
    const promise = new Promise<SealedResult>((resolve, reject) => {
      slot.jobs.set(seq, { bytes: length, resolve, reject });
    });
    if (slot.jobs.size === 1) slot.worker.ref();
    slot.bytes += length;
    this.jobCount++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return promise;
  }

  /** Terminates the workers; everything outstanding and every later seal() rejects with `reason`. */
  async close(reason: unknown = new Error('the seal pool was closed')): Promise<void> {
    this.broken ??= { error: reason };
    await this.stopAll(this.broken.error);
  }

  private pickSlot(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.bytes < best.bytes) best = s;
    if (best && (best.bytes === 0 || this.slots.length >= this.workers)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl, { workerData: { ...this.workerData, encKey: this.encKey, level: this.level } });
    const slot: Slot = { worker, jobs: new Map(), bytes: 0, stopping: false };
    worker.unref();
    worker.on('message', (m: Reply) => this.reply(slot, m));
    worker.on('error', (err) => this.fail(slot, new SealWorkerError(`seal worker failed: ${err.message}`, { cause: err })));
    worker.on('messageerror', (err) => this.fail(slot, new SealWorkerError(`seal worker sent an unreadable message: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!slot.stopping) this.fail(slot, new SealWorkerError(`seal worker exited unexpectedly (exit code ${code})`));
    });
    this.slots.push(slot);
    return slot;
  }

  private reply(slot: Slot, m: Reply): void {
    const job = slot.jobs.get(m.seq);
    if (!job) return;
    slot.jobs.delete(m.seq);
    slot.bytes -= job.bytes;
    this.jobCount--;
    if (slot.jobs.size === 0) slot.worker.unref();
    this.give(m.input);
    if (m.error || m.sealedLength === undefined) {
      this.give(m.out);
      const e = m.error ?? { name: 'Error', message: 'no sealed length in the reply' };
      const err = new SealWorkerError(`seal worker: ${e.name}: ${e.message}`);
      if (e.stack) err.stack = `${err.name}: ${err.message}\n  in the seal worker: ${e.stack}`;
      job.reject(err);
    } else {
      const out = m.out;
      let released = false;
      job.resolve({
        sealed: Buffer.from(out, 0, m.sealedLength),
        release: () => {
          if (released) return;
          released = true;
          this.give(out);
        },
      });
    }
    if (this.jobCount === 0 && !this.broken) {
      this.idleTimer = setTimeout(() => void this.stopAll(undefined), this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** A worker crashed: the pool is broken. */
  private fail(slot: Slot, err: SealWorkerError): void {
    if (slot.stopping) return;
    this.broken ??= { error: err };
    void this.stopAll(this.broken.error);
  }

  /** Terminates every worker; rejects their outstanding jobs with `reason` (idle shutdown: none). */
  private async stopAll(reason: unknown): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const slots = this.slots.splice(0);
    const exits: Promise<unknown>[] = [];
    for (const slot of slots) {
      slot.stopping = true;
      for (const job of slot.jobs.values()) job.reject(reason);
      this.jobCount -= slot.jobs.size;
      slot.jobs.clear();
      slot.bytes = 0;
      exits.push(slot.worker.terminate().catch(() => {}));
    }
    await Promise.all(exits);
  }

  /** A buffer of at least `bytes` bytes, from the spares when one fits without much waste. */
  private take(bytes: number): ArrayBuffer {
    let best = -1;
    const most = 2 * bytes + 64 * KiB;
    for (let i = 0; i < this.spare.length; i++) {
      const size = this.spare[i]!.byteLength;
      if (size >= bytes && size <= most && (best < 0 || size < this.spare[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const [buf] = this.spare.splice(best, 1);
      this.spareTotal -= buf!.byteLength;
      return buf!;
    }
    const unit = bytes <= 64 * KiB ? 4 * KiB : 64 * KiB;
    return new ArrayBuffer(Math.max(unit, Math.ceil(bytes / unit) * unit));
  }

  private give(buf: ArrayBuffer | undefined): void {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength === 0) return;
    this.spare.push(buf);
    this.spareTotal += buf.byteLength;
    while (this.spareTotal > this.spareBytes && this.spare.length > 0) this.spareTotal -= this.spare.shift()!.byteLength;
  }
}
