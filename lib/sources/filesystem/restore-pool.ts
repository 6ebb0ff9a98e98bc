// Typed front of the restore worker threads (restore-worker.mjs, which documents the protocol): the
// restorer hands them a pack read (in shared memory, so no bytes are copied or transferred) with where
// each blob goes, and completed files to check and put in place.
import { availableParallelism } from 'node:os';
import type { MasterKey } from '../../repo/crypto/master-key';
import { workerError, WorkerPool, type Reply } from '../../worker-pool';

export class RestoreWorkerError extends Error {
  name = 'RestoreWorkerError';
}

/** One piece of a file: the blob it is, and its length (from the index). */
export interface Piece {
  id: string;
  length: number;
}

/** What a finished file gets: mode, owner (applied when running as root), mtime in seconds (also atime). */
export interface FileMeta {
  mode: number;
  uid?: number;
  gid?: number;
  mtime: number;
}

export interface BlobJob {
  id: string;
  /** The sealed box is bytes [start, start + length) of the read's buffer. */
  start: number;
  length: number;
  rawLength: number;
  /** Positioned writes into temp files that already exist. */
  writes: { tmp: string; position: number }[];
  /** Whole files made of this one blob: created, written, checked and renamed over `dest` by the worker. */
  files: { tmp: string; dest: string; meta: FileMeta }[];
}

/** A file's outcome: error = not in place (temp file removed); metadataError = in place, metadata not set. */
export interface Finished {
  error?: string;
  metadataError?: string;
}

export interface BlobOutcome {
  /** The blob did not open or verify (integrity: another copy may help); nothing was written for it. */
  error?: string;
  integrity?: boolean;
  /** Per write: null when written, else why not. */
  writes: (string | null)[];
  files: Finished[];
}

interface FatalReply extends Reply {
  fatal?: { name: string; message: string; stack?: string };
}

/** The SharedArrayBuffer under `bytes`: the workers read the blobs in place. */
function sharedBuffer(bytes: Buffer, op: string): SharedArrayBuffer {
  if (!(bytes.buffer instanceof SharedArrayBuffer)) throw new TypeError(`RestorePool.${op}: the read must be in a SharedArrayBuffer`);
  return bytes.buffer;
}

/** `blobs` with their starts relative to the whole shared buffer instead of `bytes`. */
function inBuffer<B extends { start: number }>(bytes: Buffer, blobs: B[]): B[] {
  const base = bytes.byteOffset;
  return base === 0 ? blobs : blobs.map((b) => ({ ...b, start: b.start + base }));
}

/** Workers: every core. The main thread only plans, reads packs and keeps count while they run. */
export function defaultRestoreWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Owners are restored only by root (by the restorer, and by the workers' `finish` and `restore`). */
export const IS_ROOT = process.getuid?.() === 0;

export type RestorePoolOptions = { workers?: number; isRoot?: boolean; largestBlob: number };

/** Workers booted ahead of the restore that will use them (prestartRestorePool), until it takes them. */
let prestarted: { key: MasterKey; largestBlob: number; pool: RestorePool } | undefined;

/**
 * Boots restore workers for `key` now, for a restore the command is about to run: they boot (~0.1 s of a
 * core each, ~0.25 s under load) while the repository's index and listings load, instead of after. The
 * next RestorePool.take with the same key gets them; if none does, they stop after the idle time.
 */
export function prestartRestorePool(key: MasterKey, largestBlob: number): void {
  void prestarted?.pool.close();
  const pool = new RestorePool(key, { largestBlob });
  pool.boot();
  prestarted = { key, largestBlob, pool };
}

export class RestorePool {
  private readonly pool: WorkerPool;

  /** The prestarted pool when it fits (same key, default size and owner handling, room for largestBlob), else a new one. */
  static take(key: MasterKey, opts: RestorePoolOptions): RestorePool {
    const p = prestarted;
    if (p && p.key === key && opts.workers === undefined && (opts.isRoot ?? IS_ROOT) === IS_ROOT && opts.largestBlob <= p.largestBlob) {
      prestarted = undefined;
      return p.pool;
    }
    return new RestorePool(key, opts);
  }

  /** isRoot (default: running as root) restores owners; largestBlob sizes the workers' scratch memory. */
  constructor(key: MasterKey, opts: RestorePoolOptions) {
    this.pool = new WorkerPool({
      workers: opts.workers ?? defaultRestoreWorkers(),
      workerUrl: new URL('./restore-worker.mjs', import.meta.url),
      workerData: { encKey: new Uint8Array(key.encKey), idKey: new Uint8Array(key.idKey), isRoot: opts.isRoot ?? IS_ROOT, largestBlob: opts.largestBlob },
      name: 'restore worker',
      errorClass: RestoreWorkerError,
      idleMs: 1000,
    });
  }

  /** Opens the blobs of one pack read held in `bytes` (shared memory) and writes them where they go. */
  async restore(bytes: Buffer, pack: string, blobs: BlobJob[]): Promise<BlobOutcome[]> {
    const weight = blobs.reduce((n, b) => n + b.rawLength, 0);
    const reply = await this.pool.run<FatalReply & { blobs?: BlobOutcome[] }>({ op: 'restore', buf: sharedBuffer(bytes, 'restore'), pack, blobs: inBuffer(bytes, blobs) }, [], weight);
    if (reply.fatal || !reply.blobs) throw workerError(RestoreWorkerError, 'restore worker', reply.fatal);
    return reply.blobs;
  }

  /** Checks a completed temp file against `pieces`, applies `meta` and renames it over `dest` (`create`: it does not exist yet, the file is empty). */
  async finish(job: { tmp: string; dest: string; create: boolean; pieces: Piece[]; meta: FileMeta }): Promise<Finished> {
    const weight = job.pieces.reduce((n, p) => n + p.length, 0);
    const reply = await this.pool.run<FatalReply & Finished>({ op: 'finish', ...job }, [], weight);
    if (reply.fatal) throw workerError(RestoreWorkerError, 'restore worker', reply.fatal);
    return { error: reply.error, metadataError: reply.metadataError };
  }

  /**
   * Opens the blobs of a pack read held in `bytes` (shared memory) into one buffer, back to back in order:
   * `into` when given (at least their raw length; reusing one spares the page faults of fresh memory,
   * ~10 us a page on these machines), else a new one. `out` is that buffer, handed back; each result is
   * its plaintext (a view of `out`) or why it did not open. `checkIds` false: the caller verifies the
   * plaintext end to end, so it is not hashed against its id here (GCM still authenticates each blob).
   * A SharedArrayBuffer `into` is shared with the worker, not transferred: an ArrayBuffer that arrives from
   * another thread counts as new external memory, and V8 scavenged the main thread every ~16 MB of them
   * (81 scavenges, ~155 ms, in a 926 MiB base backup restore).
   */
  async open<B extends ArrayBuffer | SharedArrayBuffer = ArrayBuffer>(
    bytes: Buffer,
    pack: string,
    blobs: { id: string; start: number; length: number; rawLength: number }[],
    into?: B,
    checkIds = true,
  ): Promise<{ out: B; results: ({ data: Buffer; error?: undefined; integrity?: undefined } | { data?: undefined; error: string; integrity?: boolean })[] }> {
    const buf = sharedBuffer(bytes, 'open');
    const rawTotal = blobs.reduce((n, b) => n + b.rawLength, 0);
    const given = into && into.byteLength >= rawTotal ? into : undefined;
    const shared = given instanceof SharedArrayBuffer;
    const sent = given ?? new ArrayBuffer(rawTotal);
    type OpenReply = FatalReply & { out?: ArrayBuffer; blobs?: { error?: string; integrity?: boolean; length: number }[] };
    const reply = await this.pool.run<OpenReply>({ op: 'open', buf, pack, blobs: inBuffer(bytes, blobs), out: sent, checkIds }, shared ? [] : [sent as ArrayBuffer], rawTotal);
    const out = (shared ? sent : reply.out) as B | undefined;
    if (reply.fatal || !reply.blobs || !out) throw workerError(RestoreWorkerError, 'restore worker', reply.fatal);
    let at = 0;
    const opened = Buffer.from(out);
    const results = reply.blobs.map((b) => {
      if (b.error !== undefined) return { error: b.error, integrity: b.integrity };
      const data = opened.subarray(at, at + b.length);
      at += b.length;
      return { data };
    });
    return { out, results };
  }

  /** Worker threads running now. */
  get running(): number {
    return this.pool.running;
  }

  /**
   * Boots every worker now (each takes ~0.25 s of a core), and keeps them until close(): a restore starts
   * them before it reads the trees, which may take longer than their idle time.
   */
  start(): void {
    this.boot();
    this.pool.hold();
  }

  /** Boots every worker now, not held: unused, they stop after the idle time. */
  boot(): void {
    this.pool.start(this.pool.workers);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
