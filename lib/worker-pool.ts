// WorkerPool: a few worker threads running one script, each job a message answered by exactly one reply
// with the same `seq`. The seal pool (lib/repo/content/seal-pool.ts) and the restore workers
// (lib/sources/filesystem/restore-pool.ts) are built on it; it knows nothing about what the jobs do.
// Scheduling: workers start on the first job, at most `workers` of them; each job goes to the worker with
// the least outstanding weight (bytes, usually), a new worker is started while every running one is busy.
// Batching: light jobs (under BATCH_WEIGHT) sent to one worker during one turn of the event loop (the
// replies it handled and everything they led to) go to it as one message, { batch: [...] }, when the turn
// is done (setImmediate; worker-jobs.mjs takes it apart); replies come back one by one. Jobs to one worker
// are delivered in the order sent. Posting to a worker thread that sleeps costs the sender ~30 us on these
// VMs (the wake-up), ~100 us with both cores busy: a re-backup's main thread spent ~0.2 s in postMessage,
// one per small file read, blob sealed and directory listed. Flushing at the end of each tick instead
// (process.nextTick) still sent about a message per blob (the walk runs a tick per reply it gets): 2 GiB
// bench, 230 ms of postMessage against 130 ms.
// A worker keeps the process alive only while it has jobs; all workers are terminated after `idleMs`
// without jobs and restarted on demand, unless the pool is held: a caller whose workers keep state between
// jobs (the chunk worker's unfinished chunk) holds it for as long as that state matters, since a stream can
// pause far longer than idleMs (pg_basebackup waits for WAL archiving before its last bytes).
// Errors: a reply resolves its job whatever it says (the caller reads its error field and recycles its
// buffers). A worker that crashes (uncaught error, unexpected exit, unreadable message) breaks the pool:
// every outstanding and later job rejects with the pool's error class naming what happened. close(reason)
// terminates the workers and rejects everything outstanding and later with `reason`.
import { Worker, type Transferable } from 'node:worker_threads';

/** Jobs at least this heavy are posted at once (after the worker's batch): their work dwarfs a message's cost. */
const BATCH_WEIGHT = 256 * 1024;

export interface WorkerPoolOptions {
  /** Worker threads (at least 1). */
  workers: number;
  /** The worker script. */
  workerUrl: URL;
  workerData?: Record<string, unknown>;
  /** Workers are terminated after this long without jobs (default 5 s). */
  idleMs?: number;
  /** Names the workers in errors, e.g. "seal worker". */
  name: string;
  /** Error class for crashes (default Error). */
  errorClass?: new (message: string, options?: ErrorOptions) => Error;
}

/** Every reply carries the job's sequence number. */
export interface Reply {
  seq: number;
}

interface Job {
  weight: number;
  resolve(r: Reply): void;
  reject(err: unknown): void;
}

/** A job's message, not posted yet. */
interface Outgoing {
  message: Record<string, unknown> & { seq: number };
  transfer: readonly Transferable[];
}

interface Slot {
  worker: Worker;
  /** Light jobs sent during this turn of the event loop, posted together when it is done. */
  outbox: Outgoing[];
  jobs: Map<number, Job>;
  /** Weight of the jobs outstanding on this worker. */
  weight: number;
  /** Set when the pool terminates the worker itself: its exit is no failure. */
  stopping: boolean;
  /** It has answered a job: it has booted. */
  answered: boolean;
}

export class WorkerPool {
  readonly workers: number;
  private readonly slots: Slot[] = [];
  private readonly idleMs: number;
  private readonly ErrorClass: new (message: string, options?: ErrorOptions) => Error;
  private seq = 0;
  private jobCount = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private broken: { error: unknown } | undefined;
  private holds = 0;
  private flushQueued = false;

  constructor(private readonly opts: WorkerPoolOptions) {
    if (!Number.isSafeInteger(opts.workers) || opts.workers < 1) throw new RangeError(`${opts.name}s: the pool size must be a positive integer, got ${opts.workers}`);
    this.workers = opts.workers;
    this.idleMs = opts.idleMs ?? 5000;
    this.ErrorClass = opts.errorClass ?? Error;
  }

  /** Jobs sent and not answered yet. */
  get outstanding(): number {
    return this.jobCount;
  }

  /** Worker threads running now. */
  get running(): number {
    return this.slots.length;
  }

  /** A running worker has answered a job (booting one takes ~0.25 s of a core here; callers may do the work themselves meanwhile). */
  get warm(): boolean {
    return this.slots.some((s) => s.answered);
  }

  /** The pool's error once it is broken or closed. */
  get failure(): unknown {
    return this.broken?.error;
  }

  /**
   * Sends `message` (given a fresh `seq`) with `transfer` to the least loaded worker; resolves with its
   * reply, rejects when it cannot be posted (a value that cannot be cloned). Throws (nothing sent) when
   * the pool is broken or no worker could be created.
   */
  run<R extends Reply>(message: Record<string, unknown>, transfer: readonly Transferable[], weight: number): Promise<R> {
    if (this.broken) return Promise.reject(this.broken.error);
    const slot = this.pickSlot();
    const seq = this.seq++;
    const promise = new Promise<Reply>((resolve, reject) => {
      slot.jobs.set(seq, { weight, resolve, reject });
    });
    if (slot.jobs.size === 1) slot.worker.ref();
    slot.weight += weight;
    this.jobCount++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const job = { message: { ...message, seq }, transfer };
    if (weight < BATCH_WEIGHT) {
      slot.outbox.push(job);
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => this.flush());
      }
    } else {
      this.post(slot, slot.outbox.splice(0));
      this.post(slot, [job]);
    }
    return promise as Promise<R>;
  }

  /** Starts workers now until `count` run (they boot while the caller does other work); idle-stop as usual. */
  start(count = 1): void {
    const wanted = Math.min(count, this.workers);
    if (this.broken || this.slots.length >= wanted) return;
    while (this.slots.length < wanted) this.spawn();
    this.armIdleTimer();
  }

  /** Keeps the workers (and what they hold) from being idle-stopped until the returned release is called. */
  hold(): () => void {
    this.holds++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.jobCount === 0 && this.slots.length > 0) this.armIdleTimer();
    };
  }

  /** Terminates the workers; everything outstanding and every later job rejects with `reason`. */
  async close(reason: unknown = new this.ErrorClass(`the ${this.opts.name} pool was closed`)): Promise<void> {
    this.broken ??= { error: reason };
    await this.stopAll(this.broken.error);
  }

  private pickSlot(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.weight < best.weight) best = s;
    if (best && (best.jobs.size === 0 || this.slots.length >= this.workers)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    const { name } = this.opts;
    const worker = new Worker(this.opts.workerUrl, { workerData: this.opts.workerData ?? {} });
    const slot: Slot = { worker, outbox: [], jobs: new Map(), weight: 0, stopping: false, answered: false };
    worker.on('message', (m: Reply) => this.reply(slot, m));
    worker.on('error', (err) => this.fail(slot, new this.ErrorClass(`${name} failed: ${err.message}`, { cause: err })));
    worker.on('messageerror', (err) => this.fail(slot, new this.ErrorClass(`${name} sent an unreadable message: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!slot.stopping) this.fail(slot, new this.ErrorClass(`${name} exited unexpectedly (exit code ${code})`));
    });
    worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
    this.slots.push(slot);
    return slot;
  }

  private flush(): void {
    this.flushQueued = false;
    for (const slot of this.slots) this.post(slot, slot.outbox.splice(0));
  }

  /** Posts `jobs` as one message (or one each when that fails, so only a job that cannot be posted fails). */
  private post(slot: Slot, jobs: Outgoing[]): void {
    if (slot.stopping || jobs.length === 0) return; // a stopped worker's jobs were rejected already
    if (jobs.length > 1) {
      try {
        slot.worker.postMessage({ batch: jobs.map((j) => j.message) }, jobs.flatMap((j) => j.transfer) as Transferable[]);
        return;
      } catch {
        // nothing was transferred: find the culprit below
      }
    }
    for (const { message, transfer } of jobs) {
      try {
        slot.worker.postMessage(message, transfer as Transferable[]);
      } catch (err) {
        this.settle(slot, message.seq)?.reject(err);
      }
    }
  }

  private reply(slot: Slot, m: Reply): void {
    slot.answered = true;
    this.settle(slot, m.seq)?.resolve(m);
  }

  /** Takes job `seq` off the worker's books; the caller resolves or rejects it. */
  private settle(slot: Slot, seq: number): Job | undefined {
    const job = slot.jobs.get(seq);
    if (!job) return undefined;
    slot.jobs.delete(seq);
    slot.weight -= job.weight;
    this.jobCount--;
    if (slot.jobs.size === 0) slot.worker.unref();
    if (this.jobCount === 0) this.armIdleTimer();
    return job;
  }

  private armIdleTimer(): void {
    if (this.broken || this.holds > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.jobCount === 0 && this.holds === 0) void this.stopAll(undefined);
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** A worker crashed: the pool is broken. */
  private fail(slot: Slot, err: Error): void {
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
      slot.outbox = [];
      slot.weight = 0;
      exits.push(slot.worker.terminate().catch(() => {}));
    }
    await Promise.all(exits);
  }
}

/** Rebuilds an error a worker reported as { name, message, stack }. */
export function workerError(
  ErrorClass: new (message: string) => Error,
  prefix: string,
  e: { name: string; message: string; stack?: string } | undefined,
): Error {
  const info = e ?? { name: 'Error', message: 'the reply carried no result' };
  const err = new ErrorClass(`${prefix}: ${info.name}: ${info.message}`);
  if (info.stack) err.stack = `${err.name}: ${err.message}\n  in the worker: ${info.stack}`;
  return err;
}

/** A node-like error (message and code, e.g. ENOENT) rebuilt from what a worker reported of a system call. */
export function systemError(e: { message: string; code?: string }): NodeJS.ErrnoException {
  return Object.assign(new Error(e.message), { code: e.code });
}
