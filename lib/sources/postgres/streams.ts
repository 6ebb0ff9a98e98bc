// Moving a dump between a child process and the repository, streaming both ways (memory stays flat).
// storeStream: a child's stdout -> repository chunker -> data blobs, backpressure all the way (a slow upload
// pauses the pipe, which pauses pg_dump). readContent: a file's data blobs in order, read pack run by pack
// run (one ranged GET for neighbouring blobs), a couple of reads ahead.
// writeAll: a blob sequence into a child's stdin (or a file), waiting for drain, failing fast when the child
// exits early. The repository interfaces are the small ones these functions need.
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { BlobLocation } from '../../repo/index';

export type SavedBlob = { id: string; stored: boolean; storedLength: number | Promise<number> };

/** What a backup needs to store a stream. */
export interface ChunkSink {
  chunks(readable: Readable): AsyncIterable<Buffer>;
  saveBlob(type: 'data' | 'tree', data: Buffer, signal?: AbortSignal): Promise<SavedBlob>;
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
  for await (const chunk of repo.chunks(stream)) {
    signal?.throwIfAborted();
    const saved = await repo.saveBlob('data', chunk, signal);
    out.content.push(saved.id);
    out.size += chunk.length;
    if (saved.stored) {
      out.newBlobs++;
      const len = Promise.resolve(saved.storedLength).catch(() => 0);
      out.added = out.added.then((n) => len.then((m) => n + m));
    }
    onBytes(chunk.length);
  }
  return out;
}

/** What a restore needs to read a file's content; the pack-level methods make it one GET per pack run. */
export interface BlobReader {
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
  locateBlob?(id: string): BlobLocation | undefined;
  readPackRange?(packId: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  openBlob?(id: string, sealed: Buffer, loc: BlobLocation): Buffer;
}

/** Consecutive blobs of a file that sit together in one pack: read with one ranged GET. */
type Run = { packId: string; offset: number; length: number; blobs: { id: string; loc: BlobLocation }[] };

const RUN_GAP = 1024 * 1024;
const RUN_MAX = 32 * 1024 * 1024;

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
    if (cur && cur.packId === loc.packId && loc.offset >= cur.offset + cur.length && loc.offset - (cur.offset + cur.length) < RUN_GAP && end - cur.offset <= RUN_MAX) {
      cur.length = end - cur.offset;
      cur.blobs.push({ id, loc });
    } else {
      cur = { packId: loc.packId, offset: loc.offset, length: loc.length, blobs: [{ id, loc }] };
      out.push(cur);
    }
  }
  return out;
}

/**
 * The blobs of `ids` in order, each verified. With a repository that can read pack ranges, neighbouring
 * blobs of one pack (a dump's chunks are stored in order) come from one ranged GET, `ahead` reads in flight;
 * otherwise, and for a blob that fails to open from its run (another copy may be intact), blob by blob.
 */
export async function* readContent(repo: BlobReader, ids: readonly string[], signal?: AbortSignal, ahead = 4): AsyncGenerator<Buffer> {
  const { locateBlob, readPackRange, openBlob } = repo;
  if (!locateBlob || !readPackRange || !openBlob) {
    yield* readBlobByBlob(repo, ids, signal, ahead);
    return;
  }
  const runs = planRuns(ids, (id) => locateBlob.call(repo, id));
  const readsInFlight = Math.max(1, Math.min(2, ahead));
  // Sealed bytes only are read ahead; each blob is opened when its turn comes, so memory stays at the reads
  // in flight plus one plaintext blob, however well the data compresses.
  const queue: Promise<Buffer | null>[] = [];
  let next = 0;
  const fill = () => {
    while (queue.length < readsInFlight && next < runs.length) {
      const r = runs[next++]!;
      const p = typeof r === 'string' ? Promise.resolve(null) : readPackRange.call(repo, r.packId, r.offset, r.length, signal);
      p.catch(() => {});
      queue.push(p);
    }
  };
  fill();
  for (let i = 0; queue.length; i++) {
    const bytes = await queue.shift()!;
    fill();
    const r = runs[i]!;
    if (typeof r === 'string') {
      yield await repo.loadBlob(r, signal);
      continue;
    }
    for (const { id, loc } of r.blobs) {
      let blob: Buffer;
      try {
        blob = openBlob.call(repo, id, bytes!.subarray(loc.offset - r.offset, loc.offset - r.offset + loc.length), loc);
      } catch {
        blob = await repo.loadBlob(id, signal); // another copy may be intact; loadBlob says why if not
      }
      yield blob;
    }
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
 * `source` (a blob that cannot be read) is thrown as is.
 */
export async function writeAll(source: AsyncIterable<Buffer>, sink: Writable, exited: Promise<void>, onBytes: (n: number) => void): Promise<number> {
  let total = 0;
  const gone = exited.then(
    () => {
      throw new Error('the program exited before reading all of the dump');
    },
    (err) => {
      throw err;
    },
  );
  gone.catch(() => {});
  const sinkError = new Promise<never>((_, reject) => sink.once('error', reject));
  sinkError.catch(() => {});
  const waitFor = async (event: string) => {
    try {
      await Promise.race([once(sink, event), gone, sinkError]);
    } catch (err) {
      throw new SinkError(err);
    }
  };
  try {
    for await (const buf of source) {
      total += buf.length;
      if (!sink.write(buf)) await waitFor('drain');
      onBytes(buf.length);
    }
    sink.end();
    await waitFor('finish');
  } catch (err) {
    sink.destroy();
    if (!(err instanceof SinkError)) throw err;
    const why = await Promise.race([exited.then(() => null, (e: unknown) => e), new Promise((r) => setTimeout(() => r(null), 5000).unref())]);
    throw why ?? err.inner;
  }
  return total;
}

class SinkError extends Error {
  constructor(readonly inner: unknown) {
    super(String((inner as Error)?.message ?? inner));
  }
}
