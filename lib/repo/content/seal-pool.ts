// SealPool: compresses and seals blobs (seal-core.mjs) on worker threads running seal-worker.mjs, so the
// content store's thread keeps only hashing, packing and I/O. The pool knows nothing about packs or
// deduplication; the content store decides what to seal and bounds how much is in flight (store.ts).
// Guarantees: seal() copies the plaintext before it returns (the caller may reuse it at once), takes its
// buffer when handed over, or reads it in place when lent (shared memory the caller keeps unchanged until
// the seal settles); plaintext and sealed bytes travel as transferred ArrayBuffers (or shared), never
// structured-cloned; copy buffers and results are recycled (a result's buffer comes back through release()),
// with at most `spareBytes` kept idle. Workers start on the
// first job, at most `workers` of them; each job goes to the worker with the fewest bytes outstanding; a
// worker keeps the process alive only while it has jobs; all workers are terminated after `idleMs` without
// jobs and restarted on demand.
// Errors: a job that throws in its worker rejects that job with the worker's error. A worker that crashes
// (uncaught error, unexpected exit, unreadable message) breaks the pool: every outstanding and later seal()
// rejects with a SealWorkerError. close(reason) terminates the workers and rejects everything outstanding
// and later with `reason`.
// Concurrency: one event loop; seal() may be called any number of times without awaiting.
import { availableParallelism } from 'node:os';
import { workerError, WorkerPool, type Reply } from '../../worker-pool';
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

interface SealReply extends Reply {
  input?: ArrayBuffer;
  out?: ArrayBuffer;
  sealedLength?: number;
  error?: { name: string; message: string; stack?: string };
}

const KiB = 1024;
const MiB = 1024 * KiB;

export class SealPool {
  readonly workers: number;
  private readonly pool: WorkerPool;
  private readonly spare: ArrayBuffer[] = [];
  private spareTotal = 0;
  private readonly spareBytes: number;

  constructor(encKey: Uint8Array, level: number, opts: SealPoolOptions) {
    if (!Number.isInteger(level)) throw new RangeError(`compression level must be an integer, got ${level}`);
    this.pool = new WorkerPool({
      workers: opts.workers,
      workerUrl: opts.workerUrl ?? new URL('./seal-worker.mjs', import.meta.url),
      workerData: { ...opts.workerData, encKey: new Uint8Array(encKey), level },
      idleMs: opts.idleMs,
      name: 'seal worker',
      errorClass: SealWorkerError,
    });
    this.workers = this.pool.workers;
    this.spareBytes = opts.spareBytes ?? 8 * MiB * opts.workers;
  }

  /** Jobs sent and not answered yet. */
  get outstanding(): number {
    return this.pool.outstanding;
  }

  /** Worker threads running now. */
  get running(): number {
    return this.pool.running;
  }

  /**
   * Seals `plaintext` (copied before this returns) with AAD `rawId` on a worker thread. With `handOver`, a
   * plaintext that owns its whole ArrayBuffer is transferred instead (the caller's view is left empty) and
   * recycled like the pool's own buffers. `lent`: a plaintext in a SharedArrayBuffer is read there by the
   * worker, not copied; the caller must leave it unchanged until the returned promise settles. Throws
   * (nothing queued) when the job cannot even be sent: no memory for its buffers, no worker could be created.
   */
  seal(plaintext: Uint8Array, rawId: Uint8Array, handOver = false, lent = false): Promise<SealedResult> {
    if (this.pool.failure) return Promise.reject(this.pool.failure);
    const length = plaintext.length;
    if (lent && plaintext.buffer instanceof SharedArrayBuffer) {
      const out = this.spareFor(maxSealedLength(length));
      const job = { id: new Uint8Array(rawId), input: plaintext.buffer, offset: plaintext.byteOffset, length, out };
      return this.pool.run<SealReply>(job, out ? [out] : [], length).then((m) => this.result(m));
    }
    const whole = handOver && plaintext.byteOffset === 0 && plaintext.buffer instanceof ArrayBuffer && plaintext.buffer.byteLength === length;
    const input = whole ? (plaintext.buffer as ArrayBuffer) : this.take(length);
    if (!whole) new Uint8Array(input, 0, length).set(plaintext);
    // The id is copied into its own 32-byte buffer: a view into a larger (pooled) ArrayBuffer would be
    // cloned whole.
    // A released result's buffer is reused for the box when one is big enough; otherwise the worker makes
    // one of the box's exact size (no buffer of the plaintext's size crosses for a well-compressed blob).
    const out = this.spareFor(maxSealedLength(length));
    const job = { id: new Uint8Array(rawId), input, length, out, ...(whole ? { keep: true } : {}) };
    return this.pool.run<SealReply>(job, out ? [input, out] : [input], length).then((m) => this.result(m));
  }

  private result(m: SealReply): SealedResult {
    if (m.input) this.give(m.input);
    if (m.error || m.sealedLength === undefined || !m.out) {
      this.give(m.out);
      throw workerError(SealWorkerError, 'seal worker', m.error);
    }
    const out = m.out;
    let released = false;
    return {
      sealed: Buffer.from(out, 0, m.sealedLength),
      release: () => {
        if (released) return;
        released = true;
        this.give(out);
      },
    };
  }

  /** Starts a worker ahead of the first seal. */
  start(): void {
    this.pool.start();
  }

  /** Terminates the workers; everything outstanding and every later seal() rejects with `reason`. */
  close(reason: unknown = new Error('the seal pool was closed')): Promise<void> {
    return this.pool.close(reason);
  }

  /** A buffer of at least `bytes` bytes, from the spares when one fits without much waste. */
  private take(bytes: number): ArrayBuffer {
    const spare = this.spareFor(bytes);
    if (spare) return spare;
    const unit = bytes <= 64 * KiB ? 4 * KiB : 64 * KiB;
    return new ArrayBuffer(Math.max(unit, Math.ceil(bytes / unit) * unit));
  }

  /** An idle buffer of at least `bytes` bytes that does not waste much, if there is one. */
  private spareFor(bytes: number): ArrayBuffer | undefined {
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
    return undefined;
  }

  private give(buf: ArrayBuffer | undefined): void {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength === 0) return;
    this.spare.push(buf);
    this.spareTotal += buf.byteLength;
    while (this.spareTotal > this.spareBytes && this.spare.length > 0) this.spareTotal -= this.spare.shift()!.byteLength;
  }
}
