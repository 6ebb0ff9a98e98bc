// ChunkPool: content-defined chunking and content ids on worker threads (chunk-worker.mjs), so the thread
// that walks the file system or pipes a dump keeps neither the gear loop nor the hashing (on a first backup
// they were most of its work, while the seal workers waited for it). Three sources:
// - a file by path: the worker opens it (O_NOFOLLOW) and reads it straight into the cutter's window;
// - any byte stream (PieceReader: a child's stdout): this thread gathers it into recycled 1 MiB pieces and
//   transfers them;
// - a small file (smallFile): read whole and hashed as one chunk (small-file.mjs), on this thread unless the
//   separate reader worker was started (start(): first and full backups) and has booted. Reading here costs
//   this thread ~30 us a file when the file is in the page cache, a round trip to the reader ~70-100 us
//   (bench: 3000 source files); the reader pays off when reads wait for a disk, which a first backup's
//   mostly do and a re-backup's few changed files mostly do not.
// The worker cuts (FastCDC, §6.1, the gear loop in WebAssembly) and hashes each chunk (HMAC-SHA-256 with
// idKey, §6.2); chunks come back with their raw ids, in order.
// Guarantees: chunks() yields exactly what Chunker + contentId give on the same bytes (chunk-pool.test.ts
// checks it); each chunk's Buffer owns its whole ArrayBuffer (the content store may transfer it to a seal
// worker without copying). Memory per stream: AHEAD reads in flight plus the worker's window (2 * maxSize);
// pieces are recycled, at most SPARE_PIECES kept idle. A stream's messages all go to one worker (the
// cutter's state lives there); streams are spread over the workers.
// Errors: a read error propagates as is; a file's open or read error is node's (code and message); a
// chunking error in the worker, or a worker crash, rejects the stream with a ChunkWorkerError. Breaking out
// of the iteration (or an error) makes the worker forget the stream and close its file.
import { systemError, workerError, WorkerPool, type Reply } from '../../worker-pool';
import { defaultSealWorkers } from '../content/seal-pool';
import { assertGearTable, type GearTable } from './gear';
import { readSmallFileSync } from './small-file.mjs';
import { masksFor, validateChunkerParams, type ChunkerParams } from './params';

/**
 * A chunk and its raw content id. A chunk may lie in the stream's ring (shared memory): release() gives its
 * room back once the consumer is done with `data` (saved with SaveHints.lent: once it is sealed); until
 * then later chunks go elsewhere. Other chunks (the ring was full) own their whole ArrayBuffer.
 */
export type HashedChunk = { data: Buffer; rawId: Buffer; release?: () => void };

/** A stream's bytes: read() fills `into` from the start and says how much (0: the stream ended); close() lets go of a stream not read to its end. */
export interface PieceReader {
  read(into: Uint8Array): Promise<number>;
  close?(): Promise<unknown>;
}

/** A small file read whole and hashed as one chunk; 'too large' when it is (or grew) past the limit. */
export type SmallFile = HashedChunk | 'too large';

export class ChunkWorkerError extends Error {
  name = 'ChunkWorkerError';
}

interface FileReply extends Reply {
  bytes?: ArrayBuffer;
  length?: number;
  id?: Uint8Array;
  tooLarge?: boolean;
  error?: { name: string; message: string; code?: string };
}

/** A chunk left in the stream's ring: its place, and the ring count that releasing it reaches. */
type RingChunk = { at: number; length: number; end: number };

interface CutReply extends Reply {
  chunks: (ArrayBuffer | RingChunk)[];
  ids: Uint8Array;
  free: ArrayBuffer[];
  /** A file stream reached its end. */
  eof?: boolean;
  error?: { name: string; message: string; stack?: string; code?: string };
}

const PIECE = 1024 * 1024;
/** Pieces sent ahead of the consumer per stream. */
const AHEAD = 4;
const SPARE_PIECES = 16;
/**
 * A stream's chunks (a piece stream's or a file's) are cut into this ring of reused shared memory rather
 * than into new memory each (every fresh chunk buffer page-faulted in its bytes: 150k faults, seconds of the
 * chunk worker's time in a 927 MiB base backup). Enough for the chunks of AHEAD pieces plus the largest
 * unfinished chunk, and the chunks lent to the seal workers (sealQueueBytes).
 */
const RING_BYTES = 16 * 1024 * 1024;
/**
 * Rings at most (in use or spare): a file's last chunks are still lent to a seal worker when the next file
 * starts, so each stream would otherwise get a new ring, and every ring's pages are all touched in turn (a
 * 1 GiB first backup made 5, peak RSS 301-341 MB against 237-264). A stream that finds none chunks into
 * memory of its own, as before rings. A ring a stream gave up (it failed, or its consumer kept chunks) counts
 * until it is garbage collected.
 */
const MAX_RINGS = 2;

export class ChunkPool {
  /** One single-thread pool per worker: a stream's cutter state lives in one thread. */
  private readonly cutters: { pool: WorkerPool; streams: number }[] = [];
  /** Reads and hashes small files, apart from the cutters (a small file must not wait behind a large one). */
  private readonly readers: WorkerPool;
  private readonly spare: ArrayBuffer[] = [];
  private readonly spareRings: SharedArrayBuffer[] = [];
  /** Rings alive (in use by a stream, lent, spare, or given up and not collected yet): at most MAX_RINGS. */
  private rings = 0;
  private readonly ringCollected = new FinalizationRegistry<undefined>(() => void this.rings--);
  private nextStream = 0;
  private readonly maxChunk: number;
  private readonly idKey: Uint8Array;

  constructor(gear: GearTable, params: ChunkerParams, idKey: Uint8Array, opts: { workers?: number; idleMs?: number } = {}) {
    // Checked here, before any worker starts: the workers' cutter trusts what it is given.
    assertGearTable(gear);
    const checked = validateChunkerParams(params);
    const { maskS, maskL } = masksFor(checked.avgSize);
    this.maxChunk = checked.maxSize;
    this.idKey = new Uint8Array(idKey);
    const workerData = { gear: Int32Array.from(gear), params: { ...checked }, maskS: maskS | 0, maskL: maskL | 0, idKey: this.idKey };
    const workers = opts.workers ?? defaultSealWorkers(); // as many as seal workers: every core but the storing thread's
    if (!Number.isSafeInteger(workers) || workers < 1) throw new RangeError(`chunk workers must be a positive integer, got ${workers}`);
    const pool = (name: string) => new WorkerPool({ workers: 1, workerUrl: new URL('./chunk-worker.mjs', import.meta.url), workerData, idleMs: opts.idleMs, name, errorClass: ChunkWorkerError });
    for (let i = 0; i < workers; i++) this.cutters.push({ pool: pool('chunk worker'), streams: 0 });
    this.readers = pool('small-file reader');
  }

  /**
   * The chunks of a stream, each with its raw content id, in order. The stream is what `source.read` gives,
   * or a file the worker opens (O_NOFOLLOW) and reads itself, to its end: no piece buffers in between.
   */
  async *chunks(source: PieceReader | { path: string }, signal?: AbortSignal): AsyncGenerator<HashedChunk, void, undefined> {
    const slot = this.cutters.reduce((a, b) => (b.streams < a.streams ? b : a));
    slot.streams++;
    const { pool } = slot;
    const stream = this.nextStream++;
    // The worker keeps the stream's unfinished chunk: it must not be idle-stopped while the source pauses.
    const release = pool.hold();
    const cuts: Promise<CutReply>[] = [];
    let ended = false;
    let done = false;
    // The worker refuses a stream's later message when it holds no state for it (it was restarted).
    let first = true;
    // The stream's ring: chunks handed out from it, in order, and how far the consumer has released them
    // (a running count, as the worker's); a released chunk frees the ring only once all before it are.
    const ring = this.spareRings.pop() ?? this.newRing();
    const lent: { end: number; released: boolean }[] = [];
    let consumed = 0;
    // The ring is used again only after a stream read to its end (no worker writes into it any more) whose
    // chunks were all released: at the end, or when its last chunk is (a chunk lent to a seal worker). A
    // stream that failed gives its ring up (a worker may still have written into it).
    let recycled = false;
    const recycle = () => {
      if (!ring || recycled || !done || lent.length > 0) return;
      recycled = true;
      this.spareRings.push(ring);
    };
    const send = (message: Record<string, unknown>, transfer: ArrayBuffer[], weight: number) => {
      const extra = first ? { first, ...(ring ? { ring } : {}) } : ring ? { consumed } : {};
      cuts.push(pool.run<CutReply>({ ...message, stream, ...extra }, transfer, weight));
      first = false;
    };
    const lend = (c: RingChunk) => {
      const entry = { end: c.end, released: false };
      lent.push(entry);
      return () => {
        entry.released = true;
        while (lent.length && lent[0]!.released) consumed = lent.shift()!.end;
        recycle();
      };
    };
    /** Bytes read from a piece source and bytes that came back in chunks: equal at the end, or bytes were lost. */
    let fed = 0;
    let returned = 0;
    try {
      for (;;) {
        while (!ended && cuts.length < AHEAD) {
          if ('path' in source) {
            send({ path: source.path, read: PIECE }, [], PIECE);
            continue;
          }
          const piece = this.take();
          let n: number;
          try {
            n = await source.read(new Uint8Array(piece));
          } catch (err) {
            this.give(piece);
            throw err;
          }
          if (n === 0) {
            this.give(piece);
            ended = true;
            send({ end: true }, [], 0);
          } else {
            fed += n;
            send({ piece, length: n }, [piece], n);
          }
        }
        const next = cuts.shift();
        if (!next) break;
        const reply = await next;
        for (const f of reply.free) this.give(f);
        if (reply.error) throw reply.error.code ? systemError(reply.error) : workerError(ChunkWorkerError, 'chunk worker', reply.error);
        if (reply.eof && !ended) {
          // The file's end: reads sent after it reply empty; then the worker forgets the stream.
          ended = true;
          send({ end: true }, [], 0);
        }
        for (const [i, chunk] of reply.chunks.entries()) {
          const rawId = Buffer.from(reply.ids.buffer, reply.ids.byteOffset + 32 * i, 32);
          if (chunk instanceof ArrayBuffer) {
            returned += chunk.byteLength;
            yield { data: Buffer.from(chunk), rawId };
          } else {
            returned += chunk.length;
            yield { data: Buffer.from(ring!, chunk.at, chunk.length), rawId, release: lend(chunk) };
          }
        }
        signal?.throwIfAborted();
      }
      if (!('path' in source) && returned !== fed) throw new ChunkWorkerError(`chunking lost bytes: the stream gave ${fed} bytes and its chunks hold ${returned}`);
      done = true;
    } finally {
      release();
      slot.streams--;
      if (!done) {
        await this.drop(pool, stream, cuts);
        if (!('path' in source)) await source.close?.();
      } else recycle();
    }
  }

  /** A new ring, unless MAX_RINGS are alive. */
  private newRing(): SharedArrayBuffer | undefined {
    if (this.rings >= MAX_RINGS) return undefined;
    const ring = new SharedArrayBuffer(Math.max(RING_BYTES, 2 * this.maxChunk));
    this.rings++;
    this.ringCollected.register(ring, undefined);
    return ring;
  }

  /**
   * Reads a file of at most `limit` bytes whole (not following a symlink put in its place) and hashes it as
   * one chunk: on the reader thread when start() booted it, else here with synchronous calls. Rejects with
   * node's error (code and message) when it cannot be read.
   */
  async smallFile(path: string, limit: number): Promise<SmallFile> {
    if (!this.readers.warm) {
      const r = readSmallFileSync(path, limit, this.idKey);
      return r === 'too large' ? r : { data: r.data, rawId: r.id };
    }
    const r = await this.readers.run<FileReply>({ file: path, limit }, [], 1);
    if (r.error) throw systemError(r.error);
    if (r.tooLarge || !r.bytes || !r.id) return 'too large';
    return { data: Buffer.from(r.bytes, 0, r.length), rawId: Buffer.from(r.id.buffer, r.id.byteOffset, 32) };
  }

  /** Small files go to the reader thread (it was started and has booted), not read on the calling thread. */
  get readerReady(): boolean {
    return this.readers.warm;
  }

  /** Starts the small-file reader and a chunk worker ahead of the first file. */
  start(): void {
    // The reader is warm (smallFile uses it) once it answered this ping; it idle-stops like every worker.
    this.readers.run({ ping: true }, [], 1).catch(() => {}); // a broken pool fails the next real job
    this.cutters[0]?.pool.start();
  }

  /** Terminates the workers. */
  async close(): Promise<void> {
    await Promise.all([...this.cutters.map(({ pool }) => pool.close()), this.readers.close()]);
  }

  /** The reader gave up: let the worker forget the stream, and take back the pieces it held. */
  private async drop(pool: WorkerPool, stream: number, inFlight: Promise<CutReply>[]): Promise<void> {
    for (const r of await Promise.allSettled(inFlight)) if (r.status === 'fulfilled') r.value.free.forEach((f) => this.give(f));
    try {
      (await pool.run<CutReply>({ stream, drop: true }, [], 0)).free.forEach((f) => this.give(f));
    } catch {
      // a broken pool has forgotten everything already
    }
  }

  private take(): ArrayBuffer {
    return this.spare.pop() ?? new ArrayBuffer(PIECE);
  }

  private give(piece: ArrayBuffer): void {
    if (piece.byteLength === PIECE && this.spare.length < SPARE_PIECES) this.spare.push(piece);
  }
}

/**
 * Reads any byte stream (a child's stdout, a Readable), gathering its small pieces (64 KiB from a pipe) into
 * whole ones, so a worker gets one message per MiB. A stream with an encoding set (strings) is refused.
 */
export function iterableReader(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>): PieceReader {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (async function* () {
    yield* source;
  })();
  let rest: Uint8Array | undefined;
  let finished = false;
  const read = async (into: Uint8Array) => {
    let n = 0;
    while (n < into.length) {
      if (!rest || rest.length === 0) {
        if (finished) break;
        const r = await it.next();
        if (r.done) {
          finished = true;
          break;
        }
        if (!(r.value instanceof Uint8Array)) throw new TypeError(`chunking needs a byte stream, got a ${typeof r.value} piece (remove the stream's encoding)`);
        rest = r.value;
      }
      const take = Math.min(rest.length, into.length - n);
      into.set(take === rest.length ? rest : rest.subarray(0, take), n);
      rest = rest.subarray(take);
      n += take;
    }
    return n;
  };
  return { read, close: async () => it.return?.() };
}
