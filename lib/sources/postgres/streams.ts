// Moving a dump between a child process and the repository, streaming both ways (memory stays flat).
// storeStream: a child's stdout -> repository chunker -> data blobs, backpressure all the way (a slow upload
// pauses the pipe, which pauses pg_dump). readContent: a file's data blobs in order, a few loaded ahead.
// writeAll: a blob sequence into a child's stdin (or a file), waiting for drain, failing fast when the child
// exits early. The repository interfaces are the small ones these functions need.
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';

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

/** What a restore needs to read a file's content. */
export interface BlobReader {
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
}

/** The blobs of `ids` in order, up to `ahead` loads in flight (each verified by loadBlob). */
export async function* readContent(repo: BlobReader, ids: readonly string[], signal?: AbortSignal, ahead = 4): AsyncGenerator<Buffer> {
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
