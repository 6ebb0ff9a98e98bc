/**
 * Stream helpers shared by the BlobStore implementations and decorators.
 *
 * - openBody: calls a body factory once and returns the bytes as a Buffer or as a guarded stream that
 *   counts bytes, enforces an expected contentLength (PermanentBlobError, nothing stored) and remembers an
 *   error raised by the caller's own stream so the store can rethrow it unchanged (not as a storage error).
 * - guardStream: pipes a source through a counting pass-through, mapping source errors and checking the
 *   total at the end; destroying the result destroys the source at once.
 * - readAll / getBuffer: collect a stream (or a get) into one Buffer, for small blobs only.
 * - withAbortSignal, allowManyAbortListeners: many requests in flight on one abort signal, without warnings.
 * Stateless; every call works on its own streams.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import { Readable, Transform, addAbortSignal } from 'node:stream';
import { PermanentBlobError } from './errors';
import type { BlobBody, BlobStore, GetOptions } from './types';

export interface GuardHooks {
  /** Called with the running total after each chunk; return an Error to fail the stream. */
  onChunk?: (total: number) => Error | undefined;
  /** Called at the end with the total; return an Error to fail instead of ending. */
  onEnd?: (total: number) => Error | undefined;
  /** Maps an error emitted by the source. */
  mapError?: (err: unknown) => Error;
}

export function guardStream(source: Readable, hooks: GuardHooks = {}): Readable {
  let total = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      cb(hooks.onChunk?.(total) ?? null, chunk);
    },
    flush(cb) {
      cb(hooks.onEnd?.(total) ?? null);
    },
  });
  source.on('error', (err) => out.destroy(hooks.mapError ? hooks.mapError(err) : (err as Error)));
  // The consumer may attach later (e.g. after opening a temp file); it still sees the error through
  // out.errored. Without this listener, pipe() would rethrow it as an uncaught exception meanwhile.
  out.on('error', () => {});
  out.on('close', () => {
    if (!source.readableEnded && !source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}

export type OpenedBody =
  | { kind: 'buffer'; buffer: Buffer }
  | {
      kind: 'stream';
      stream: Readable;
      /** Bytes that went through so far. */
      bytes(): number;
      /** The error to report if the upload failed because of the body (caller's stream or wrong length). */
      bodyError(): Error | undefined;
    };

function lengthError(key: string, expected: number, got: number, more: boolean): PermanentBlobError {
  const actual = more ? `more than ${expected}` : String(got);
  return new PermanentBlobError(
    `put "${key}": body yielded ${actual} bytes but contentLength says ${expected}; nothing was stored`,
    { key, op: 'put' },
  );
}

/** Calls the body factory once; see the module comment. Throws PermanentBlobError on a length mismatch. */
export function openBody(key: string, body: BlobBody, contentLength: number | undefined): OpenedBody {
  const produced = body();
  if (Buffer.isBuffer(produced)) {
    if (contentLength !== undefined && produced.length !== contentLength) {
      throw lengthError(key, contentLength, produced.length, false);
    }
    return { kind: 'buffer', buffer: produced };
  }
  if (!(produced instanceof Readable)) {
    throw new PermanentBlobError(`put "${key}": the body factory must return a Buffer or a Readable stream`, { key, op: 'put' });
  }
  let failure: Error | undefined;
  let total = 0;
  const stream = guardStream(produced, {
    onChunk: (n) => {
      total = n;
      if (contentLength !== undefined && n > contentLength) failure = lengthError(key, contentLength, n, true);
      return failure;
    },
    onEnd: (n) => {
      total = n;
      if (contentLength !== undefined && n !== contentLength) failure = lengthError(key, contentLength, n, false);
      return failure;
    },
    mapError: (err) => {
      failure ??= err instanceof Error ? err : new Error(String(err));
      return failure;
    },
  });
  return { kind: 'stream', stream, bytes: () => total, bodyError: () => failure };
}

/** Reads a whole stream into memory. Meant for small blobs (indexes, manifests, probes). */
/**
 * Reads a stream to its end. With `expectedLength` (a ranged read), the bytes are copied into one buffer
 * of that size as they arrive instead of being concatenated at the end, so a 16 MiB pack read never holds
 * two copies at once; a stream that turns out longer falls back to concatenating.
 */
export async function readAll(stream: Readable, expectedLength?: number, buffer?: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const wanted = expectedLength !== undefined && expectedLength > 0 ? expectedLength : 0;
  let into = wanted ? (buffer && buffer.length >= wanted ? buffer.subarray(0, wanted) : Buffer.allocUnsafe(wanted)) : undefined;
  let filled = 0;
  for await (const raw of stream) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    if (into && filled + chunk.length <= into.length) {
      chunk.copy(into, filled);
    } else {
      if (into) chunks.push(into.subarray(0, filled));
      into = undefined;
      chunks.push(chunk);
    }
    filled += chunk.length;
  }
  if (into) return filled === into.length ? into : into.subarray(0, filled);
  return Buffer.concat(chunks);
}

/** get + readAll (preallocating for ranged reads, or filling `into` when it is large enough). */
export async function getBuffer(store: BlobStore, key: string, opts?: GetOptions, into?: Buffer): Promise<Buffer> {
  return readAll(await store.get(key, opts), opts?.range?.length, into);
}

/**
 * A restore has dozens of GETs in flight on one signal, each listening on it until it ends (the stream,
 * and the AWS SDK's request): without a higher limit node warns of a listener leak that is not one.
 */
export function allowManyAbortListeners(signal: AbortSignal): void {
  if (getMaxListeners(signal) < 256) setMaxListeners(256, signal);
}

/** addAbortSignal(signal, stream) for one of many streams in flight on `signal`. */
export function withAbortSignal<T extends Readable>(signal: AbortSignal, stream: T): T {
  allowManyAbortListeners(signal);
  return addAbortSignal(signal, stream);
}
