/**
 * withMetrics: a BlobStore decorator counting, per operation, calls, errors, bytes, listed items and
 * latency into a plain BlobMetrics object the caller owns and may read (or snapshot) at any time.
 *
 * - put: bytes = PutResult.size; latency = the whole put.
 * - get: latency = until the stream is open; bytes = bytes the caller actually read; an error in the
 *   middle of the stream counts as an error of get.
 * - list: one call per listing; items = entries yielded; latency = the whole listing.
 * - errorsByCode counts failures by BlobError code (or the error name for anything else).
 * Never changes results or errors. Counters are plain numbers updated synchronously, so concurrent
 * operations (one event loop) never lose an update.
 */
import type { Readable } from 'node:stream';
import { guardStream } from './io';
import type { BlobListEntry, BlobStore, ListOptions } from './types';

export type MeteredOp = 'put' | 'get' | 'head' | 'list' | 'delete';

export interface OpMetrics {
  calls: number;
  errors: number;
  bytes: number;
  items: number;
  latencyMsTotal: number;
  latencyMsMax: number;
}

export interface BlobMetrics {
  ops: Record<MeteredOp, OpMetrics>;
  errorsByCode: Record<string, number>;
}

function emptyOp(): OpMetrics {
  return { calls: 0, errors: 0, bytes: 0, items: 0, latencyMsTotal: 0, latencyMsMax: 0 };
}

export function createBlobMetrics(): BlobMetrics {
  return {
    ops: { put: emptyOp(), get: emptyOp(), head: emptyOp(), list: emptyOp(), delete: emptyOp() },
    errorsByCode: {},
  };
}

/** A deep copy, safe to serialise or compare later. */
export function snapshotMetrics(m: BlobMetrics): BlobMetrics {
  return structuredClone(m);
}

export interface MetricsOptions {
  metrics: BlobMetrics;
  /** Clock in ms (default performance.now). */
  now?: () => number;
}

export function withMetrics(inner: BlobStore, opts: MetricsOptions): BlobStore {
  const { metrics } = opts;
  const now = opts.now ?? (() => performance.now());

  function error(op: MeteredOp, err: unknown): void {
    metrics.ops[op].errors++;
    const code = (err as { code?: unknown } | null)?.code;
    const label = typeof code === 'string' && code.startsWith('BLOB_') ? code : ((err as Error | null)?.name ?? 'Error');
    metrics.errorsByCode[label] = (metrics.errorsByCode[label] ?? 0) + 1;
  }

  function latency(op: MeteredOp, start: number): void {
    const ms = now() - start;
    const m = metrics.ops[op];
    m.latencyMsTotal += ms;
    if (ms > m.latencyMsMax) m.latencyMsMax = ms;
  }

  async function timed<T>(op: MeteredOp, fn: () => Promise<T>): Promise<T> {
    metrics.ops[op].calls++;
    const start = now();
    try {
      return await fn();
    } catch (err) {
      error(op, err);
      throw err;
    } finally {
      latency(op, start);
    }
  }

  async function* list(prefix: string, o?: ListOptions): AsyncGenerator<BlobListEntry> {
    metrics.ops.list.calls++;
    const start = now();
    try {
      for await (const entry of inner.list(prefix, o)) {
        metrics.ops.list.items++;
        yield entry;
      }
    } catch (err) {
      error('list', err);
      throw err;
    } finally {
      latency('list', start);
    }
  }

  return {
    async put(key, body, o) {
      const res = await timed('put', () => inner.put(key, body, o));
      metrics.ops.put.bytes += res.size;
      return res;
    },
    async get(key, o) {
      const stream: Readable = await timed('get', () => inner.get(key, o));
      let seen = 0;
      const counted = guardStream(stream, {
        onChunk: (total) => {
          metrics.ops.get.bytes += total - seen;
          seen = total;
          return undefined;
        },
        mapError: (err) => {
          error('get', err);
          return err as Error;
        },
      });
      return counted;
    },
    head: (key, o) => timed('head', () => inner.head(key, o)),
    delete: (key, o) => timed('delete', () => inner.delete(key, o)),
    list,
    describe: () => inner.describe(),
  };
}
