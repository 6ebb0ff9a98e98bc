// Moving a dump between a child process and the repository, streaming both ways (memory stays flat).
// storeStream: a child's stdout -> chunk workers (cut + content ids) -> data blobs, backpressure all the way (a slow upload
// pauses the pipe, which pauses pg_dump). readContent: a file's data blobs in order, read pack run by pack
// run (one ranged GET for neighbouring blobs) and opened on restore worker threads, a few jobs ahead.
// writeAll: a blob sequence into a child's stdin (or a file), waiting for drain, failing fast when the child
// exits early. The repository interfaces are the small ones these functions need.
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { iterableReader, type HashedChunk, type PieceReader } from '../../repo/chunker/chunk-pool';
import type { SaveHints } from '../../repo/content/types';
import { saveHashedChunk } from '../../repo/save-chunk';
import type { MasterKey } from '../../repo/crypto/master-key';
import type { BlobLocation } from '../../repo/index';
import { otherCopyMayHelp, readShared, ReadBuffers } from '../filesystem/blob-fetcher';
import { MAX_READ } from '../filesystem/pack-reads';
import { RestorePool } from '../filesystem/restore-pool';

export type SavedBlob = { id: string; stored: boolean; storedLength: number | Promise<number> };

/** What a backup needs to store a stream. */
export interface ChunkSink {
  /** Content-defined chunks with their content ids, cut and hashed on worker threads. */
  hashedChunks(source: PieceReader, signal?: AbortSignal): AsyncIterable<HashedChunk>;
  saveBlob(type: 'data' | 'tree', data: Buffer, signal?: AbortSignal, hints?: SaveHints): Promise<SavedBlob>;
}

export type StoredStream = {
  content: string[];
  size: number;
  newBlobs: number;
  /** Sealed bytes added to the repository (known once sealed; informational). */
  added: Promise<number>;
};

export async function storeStream(repo: ChunkSink, stream: Readable, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<StoredStream> {
  const out: StoredStream = { content: [], size: 0, newBlobs: 0, added: Promise.resolve(0) };
  for await (const chunk of repo.hashedChunks(iterableReader(stream), signal)) {
    signal?.throwIfAborted();
    const length = chunk.data.length; // empty once handed over
    const saved = await saveHashedChunk((data, hints) => repo.saveBlob('data', data, signal, hints), chunk);
    out.content.push(saved.id);
    out.size += length;
    if (saved.stored) {
      out.newBlobs++;
      const len = Promise.resolve(saved.storedLength).catch(() => 0);
      out.added = out.added.then((n) => len.then((m) => n + m));
    }
    onBytes(length);
  }
  return out;
}

/** What a restore needs to read a file's content; the pack-level members make it one GET per pack run, opened on worker threads. */
export interface BlobReader {
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
  locateBlob?(id: string): BlobLocation | undefined;
  readPackRange?(packId: string, offset: number, length: number, signal?: AbortSignal, into?: Buffer): Promise<Buffer>;
  readonly masterKey?: MasterKey;
}

/** Consecutive blobs of a file that sit together in one pack: read with one ranged GET. */
type Run = { packId: string; offset: number; length: number; blobs: { id: string; loc: BlobLocation }[] };

const RUN_GAP = 1024 * 1024;

/** Groups `ids`, in order, into runs of neighbouring blobs of one pack; unindexed ids become runs of their own. */
function planRuns(ids: readonly string[], locate: (id: string) => BlobLocation | undefined): (Run | string)[] {
  const out: (Run | string)[] = [];
  let cur: Run | undefined;
  for (const id of ids) {
    const loc = locate(id);
    if (!loc) {
      out.push(id);
      cur = undefined;
      continue;
    }
    const end = loc.offset + loc.length;
    if (cur && cur.packId === loc.packId && loc.offset >= cur.offset + cur.length && loc.offset - (cur.offset + cur.length) < RUN_GAP && end - cur.offset <= MAX_READ) {
      cur.length = end - cur.offset;
      cur.blobs.push({ id, loc });
    } else {
      cur = { packId: loc.packId, offset: loc.offset, length: loc.length, blobs: [{ id, loc }] };
      out.push(cur);
    }
  }
  return out;
}

/** Plaintext bytes a worker opens per job: enough to amortise a message, small enough to bound memory. */
const JOB_BYTES = 8 * 1024 * 1024;
/** Jobs opened ahead of the consumer (with the reads they need: at most two runs in memory). */
const JOBS_AHEAD = 3;

export type ReadContentOptions = {
  /** Loads in flight when blobs are read one by one (default 4). */
  ahead?: number;
  /**
   * Each buffer is let go of when the consumer asks for the next (writeAll with `reused`, which waits for
   * each write to finish): the memory the workers open blobs into is then recycled instead of fresh for
   * every job (a restore of 1 GB otherwise page-faults in 1 GB of new memory, ~3 s of system time here).
   */
  reuse?: boolean;
};

export type HeldContentOptions = {
  ahead?: number;
  /**
   * The consumer checks every byte against an independent record before trusting it (a base backup's
   * files against backup_manifest): blobs opened on the workers are then not hashed against their ids
   * too (the GCM tag, whose AAD is the id, still authenticates each one). ~0.8 s of CPU per GB.
   */
  endToEnd?: boolean;
};

/** A blob's plaintext, lent: release() says the consumer is done with it (its memory may then be reused). */
export type HeldBuffer = { data: Buffer; release(): void };

/** A slice of a run that one worker opens: its blobs' plaintext, or (a string run) one unindexed blob. */
type Job = { run: number; blobs: { id: string; loc: BlobLocation }[]; last: boolean };

const kept = () => {};

/**
 * The blobs of `ids` in order, each verified. With a repository that can read pack ranges, neighbouring
 * blobs of one pack (a dump's chunks are stored in order) come from one ranged GET into shared memory,
 * and restore worker threads open them (decrypt, decompress, check the content id) a few jobs ahead of the
 * consumer; a blob that fails to open there (another copy may be intact), or whose read failed that way,
 * is read again with loadBlob. Otherwise blob by blob, `ahead` loads in flight.
 */
export async function* readContent(repo: BlobReader, ids: readonly string[], signal?: AbortSignal, opts: ReadContentOptions = {}): AsyncGenerator<Buffer> {
  for await (const held of readHeldContent(repo, ids, signal, { ahead: opts.ahead })) {
    yield held.data;
    if (opts.reuse) held.release();
  }
}

/**
 * readContent's blobs, each lent until its release(): the memory of a worker job whose blobs were all
 * released opens a later job. A consumer that writes several blobs at once (the base backup extractor)
 * releases each when its writes are done; one that never releases gets fresh memory for every job.
 */
export async function* readHeldContent(repo: BlobReader, ids: readonly string[], signal?: AbortSignal, opts: HeldContentOptions = {}): AsyncGenerator<HeldBuffer> {
  const { locateBlob, readPackRange, masterKey } = repo;
  if (!locateBlob || !readPackRange || !masterKey) {
    for await (const data of readBlobByBlob(repo, ids, signal, opts.ahead ?? 4)) yield { data, release: kept };
    return;
  }
  const runs = planRuns(ids, (id) => locateBlob.call(repo, id));
  const jobs: Job[] = [];
  let largestBlob = 0;
  for (const [run, r] of runs.entries()) {
    if (typeof r === 'string') {
      jobs.push({ run, blobs: [], last: true });
      continue;
    }
    let cur: Job | undefined;
    let bytes = 0;
    for (const blob of r.blobs) {
      largestBlob = Math.max(largestBlob, blob.loc.rawLength);
      if (!cur || bytes + blob.loc.rawLength > JOB_BYTES) {
        jobs.push((cur = { run, blobs: [], last: false }));
        bytes = 0;
      }
      cur.blobs.push(blob);
      bytes += blob.loc.rawLength;
    }
    cur!.last = true;
  }
  // Only opens blobs (no file is finished there, so owner handling does not matter): the pool the command
  // prestarted fits; else the workers boot now, while the first pack range is read.
  const pool = RestorePool.take(masterKey, { largestBlob });
  pool.boot();
  const buffers = new ReadBuffers(runs.reduce((n, r) => Math.max(n, r.length), 0));
  const reads = new Map<number, { buffer: Buffer; bytes: Promise<Buffer> }>();
  const read = (i: number) => {
    const r = runs[i] as Run;
    let entry = reads.get(i);
    if (!entry) {
      const buffer = buffers.take(r.length);
      const bytes = readShared({ readPackRange: readPackRange.bind(repo) }, r, buffer, signal);
      bytes.catch(() => {});
      reads.set(i, (entry = { buffer, bytes }));
    }
    return entry.bytes;
  };
  // The memory jobs are opened into, back from jobs whose blobs were all released.
  const spare: SharedArrayBuffer[] = [];
  const outBytes = Math.max(0, ...jobs.map((j) => j.blobs.reduce((n, b) => n + b.loc.rawLength, 0)));
  const open = async (job: Job) => {
    const r = runs[job.run] as Run;
    const bytes = await read(job.run);
    const blobs = job.blobs.map(({ id, loc }) => ({ id, start: loc.offset - r.offset, length: loc.length, rawLength: loc.rawLength }));
    return pool.open(bytes, r.packId, blobs, spare.pop() ?? new SharedArrayBuffer(outBytes), opts.endToEnd !== true);
  };
  const opened: Promise<{ out?: SharedArrayBuffer; results: Awaited<ReturnType<typeof open>>['results'] }>[] = [];
  let next = 0;
  const fill = () => {
    while (opened.length < JOBS_AHEAD && next < jobs.length) {
      const job = jobs[next++]!;
      const p = typeof runs[job.run] === 'string' ? Promise.resolve({ out: undefined, results: [] }) : open(job);
      p.catch(() => {}); // observed when its turn comes
      opened.push(p);
    }
  };
  try {
    fill();
    for (const job of jobs) {
      const r = runs[job.run]!;
      let results: Awaited<ReturnType<typeof open>>['results'];
      let out: SharedArrayBuffer | undefined;
      try {
        ({ out, results } = await opened.shift()!);
      } catch (err) {
        if (!otherCopyMayHelp(err)) throw err;
        results = job.blobs.map(() => ({ error: String(err), integrity: true }));
      } finally {
        fill();
      }
      if (typeof r === 'string') yield { data: await repo.loadBlob(r, signal), release: kept };
      // The job's memory is spare once every blob lent from it is back and none is still to come.
      let lent = 1;
      const giveBack = () => {
        if (--lent === 0 && out) spare.push(out);
      };
      for (const [i, res] of results.entries()) {
        if (res.data) {
          lent++;
          let released = false;
          yield { data: res.data, release: () => void (released || ((released = true), giveBack())) };
        } else if (res.integrity) yield { data: await repo.loadBlob(job.blobs[i]!.id, signal), release: kept }; // loadBlob says why if no copy is intact
        else throw new Error(res.error);
      }
      giveBack();
      if (job.last && typeof r !== 'string') {
        // Every job of this run has been answered: no worker reads its buffer any more.
        buffers.give(reads.get(job.run)!.buffer);
        reads.delete(job.run);
      }
    }
  } finally {
    await Promise.allSettled(opened); // no worker may still read a buffer
    await pool.close();
  }
}

async function* readBlobByBlob(repo: BlobReader, ids: readonly string[], signal: AbortSignal | undefined, ahead: number): AsyncGenerator<Buffer> {
  const queue: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (queue.length < ahead && next < ids.length) {
      const p = repo.loadBlob(ids[next++]!, signal);
      p.catch(() => {}); // observed when its turn comes; no unhandled rejection if we stop early
      queue.push(p);
    }
  };
  fill();
  while (queue.length) {
    const buf = await queue.shift()!;
    fill();
    yield buf;
  }
}

/**
 * Writes every buffer into `sink`, then ends it and waits until it finished. `exited` settles when the
 * consumer is gone (a child's `done`); when the sink breaks (EPIPE, the consumer exiting early), the
 * consumer's own error is what this throws, since its exit status explains more than EPIPE. An error of
 * `source` (a blob that cannot be read) is thrown as is. `reused`: the source reuses a buffer once asked for
 * the next one (readContent's `reuse`), so each write is waited for before that.
 */
export async function writeAll(source: AsyncIterable<Buffer>, sink: Writable, exited: Promise<void>, onBytes: (n: number) => void, opts: { reused?: boolean } = {}): Promise<number> {
  let total = 0;
  const gone = exited.then(
    () => {
      throw new ExitedEarly('the program exited before reading all of the dump');
    },
    (err) => {
      throw err;
    },
  );
  gone.catch(() => {});
  const sinkError = new Promise<never>((_, reject) => sink.once('error', reject));
  sinkError.catch(() => {});
  const waitFor = async (what: Promise<unknown>, ending = false) => {
    try {
      await Promise.race([what, gone, sinkError]);
    } catch (err) {
      // A program that read the last bytes and exited at once can be seen exiting before the write (or
      // the sink's 'finish') is: a write that still completes counts (one e2e restore failed this way
      // under load). A program gone with data left gets EPIPE on the next write. Once everything was
      // written and handed to the system, a program that exited successfully before the sink's end was
      // shut down is done: the shutdown of a socket whose reader is gone can fail, and 'finish' never
      // comes (an e2e staging restore still failed so under load). The restore's validation still checks
      // what it restored.
      if (err instanceof ExitedEarly && ending && sink.writableLength === 0) return;
      if (err instanceof ExitedEarly && (await settlesFine(what, EXIT_RACE_MS))) return;
      throw new SinkError(err);
    }
  };
  try {
    for await (const buf of source) {
      total += buf.length;
      if (opts.reused) await waitFor(new Promise<void>((resolve, reject) => sink.write(buf, (err) => (err ? reject(err) : resolve()))));
      else if (!sink.write(buf)) await waitFor(once(sink, 'drain'));
      onBytes(buf.length);
    }
    sink.end();
    await waitFor(once(sink, 'finish'), true);
  } catch (err) {
    sink.destroy();
    if (!(err instanceof SinkError)) throw err;
    const why = await Promise.race([exited.then(() => null, (e: unknown) => e), new Promise((r) => setTimeout(() => r(null), 5000).unref())]);
    throw why ?? err.inner;
  }
  return total;
}

/** How long a write may still complete after the program reading it was seen exiting. */
const EXIT_RACE_MS = 1000;

class ExitedEarly extends Error {}

function settlesFine(what: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([what.then(() => true, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
}

class SinkError extends Error {
  constructor(readonly inner: unknown) {
    super(String((inner as Error)?.message ?? inner));
  }
}
