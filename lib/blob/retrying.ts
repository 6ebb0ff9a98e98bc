/**
 * withRetries: a BlobStore decorator retrying TransientBlobErrors with exponential backoff and full jitter
 * (delay = random() * min(maxDelayMs, baseDelayMs * 2^(attempt-1))). Nothing else is retried: not found,
 * invalid range, permanent errors, errors of the caller's body stream (unless they are transient) and
 * aborts propagate at once. After maxAttempts the last TransientBlobError propagates.
 *
 * - put re-calls the body factory on every attempt (the inner store calls it once per attempt), so a
 *   retry resends the whole body from a fresh stream.
 * - get retries opening the stream; an error in the middle of a returned stream is the caller's to handle.
 * - list resumes after the last key it yielded (startAfter), so a retried listing never repeats a key.
 * - An abort during the backoff sleep rejects with signal.reason.
 * Stateless apart from its options; safe under any concurrency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransient, type BlobOp } from './errors';
import type { BlobListEntry, BlobStore, ListOptions } from './types';

export interface RetryOptions {
  /** Total attempts per operation, first included (default 5). */
  maxAttempts?: number;
  /** Default 100 ms. */
  baseDelayMs?: number;
  /** Default 10 s. */
  maxDelayMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass a fixed one). */
  random?: () => number;
  /** Called before each backoff sleep. */
  onRetry?: (info: { op: BlobOp; key: string; attempt: number; delayMs: number; error: unknown }) => void;
}

interface Policy {
  maxAttempts: number;
  backoff: (op: BlobOp, key: string, attempt: number, error: unknown, signal?: AbortSignal) => Promise<void>;
}

function policy(opts: RetryOptions): Policy {
  const base = opts.baseDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 10_000;
  const random = opts.random ?? Math.random;
  return {
    maxAttempts: Math.max(1, opts.maxAttempts ?? 5),
    async backoff(op, key, attempt, error, signal) {
      const delayMs = Math.round(random() * Math.min(max, base * 2 ** (attempt - 1)));
      opts.onRetry?.({ op, key, attempt, delayMs, error });
      await sleep(delayMs, undefined, { signal });
    },
  };
}

async function attempt<T>(p: Policy, op: BlobOp, key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || n >= p.maxAttempts || signal?.aborted) throw err;
      await p.backoff(op, key, n, err, signal);
    }
  }
}

/** Runs one call under the retry policy (for calls outside the BlobStore interface, e.g. ensureBucket). */
export function retryTransient<T>(
  op: BlobOp, key: string, fn: () => Promise<T>, opts: RetryOptions = {}, signal?: AbortSignal,
): Promise<T> {
  return attempt(policy(opts), op, key, signal, fn);
}

export function withRetries(inner: BlobStore, opts: RetryOptions = {}): BlobStore {
  const p = policy(opts);
  const { maxAttempts } = p;
  const backoff = p.backoff;
  const run = <T>(op: BlobOp, key: string, signal: AbortSignal | undefined, fn: () => Promise<T>) =>
    attempt(p, op, key, signal, fn);

  async function* list(prefix: string, lopts: ListOptions = {}): AsyncGenerator<BlobListEntry> {
    let last = lopts.startAfter;
    let failures = 0; // consecutive failures without progress
    for (;;) {
      try {
        for await (const entry of inner.list(prefix, { ...lopts, startAfter: last })) {
          last = entry.key;
          failures = 0;
          yield entry;
        }
        return;
      } catch (err) {
        failures++;
        if (!isTransient(err) || failures >= maxAttempts || lopts.signal?.aborted) throw err;
        await backoff('list', prefix, failures, err, lopts.signal);
      }
    }
  }

  return {
    put: (key, body, o) => run('put', key, o?.signal, () => inner.put(key, body, o)),
    get: (key, o) => run('get', key, o?.signal, () => inner.get(key, o)),
    head: (key, o) => run('head', key, o?.signal, () => inner.head(key, o)),
    delete: (key, o) => run('delete', key, o?.signal, () => inner.delete(key, o)),
    list,
    describe: () => inner.describe(),
  };
}
