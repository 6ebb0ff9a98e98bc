/**
 * withFaults: a fault-injecting BlobStore decorator, for tests only.
 *
 * Calls are counted per operation (1-based). The first rule matching a call decides its fate:
 * - `calls: [n, ...]` fails exactly those calls; `every: n` fails every nth call (n, 2n, ...);
 *   `probability: p` fails a fraction p (using `random`).
 * - The error comes from `error(ctx)` (default: a TransientBlobError saying "injected fault").
 * - Without `afterBytes`/`afterItems` the call fails before the inner store is touched.
 * - put + afterBytes: the inner store receives a body stream that fails after that many bytes (or at its
 *   end if shorter), proving callers resend a fresh body on retry.
 * - get + afterBytes: the returned stream delivers that many bytes, then fails with the error, or ends
 *   silently when `truncate: true` (a short read that only content hashes catch).
 * - list + afterItems: the listing yields that many entries, then fails.
 * `faults.calls` and `faults.injected` record what happened. Counters are updated synchronously.
 */
import { Readable } from 'node:stream';
import { TransientBlobError } from './errors';
import { guardStream } from './io';
import type { BlobBody, BlobListEntry, BlobStore, ListOptions } from './types';

export type FaultOp = 'put' | 'get' | 'head' | 'list' | 'delete';

export interface FaultContext {
  op: FaultOp;
  key: string;
  call: number;
}

export interface FaultRule {
  op: FaultOp;
  calls?: number[];
  every?: number;
  probability?: number;
  error?: (ctx: FaultContext) => Error;
  afterBytes?: number;
  truncate?: boolean;
  afterItems?: number;
}

export interface FaultStats {
  calls: Record<FaultOp, number>;
  injected: FaultContext[];
}

export interface FaultOptions {
  rules: FaultRule[];
  random?: () => number;
}

export type FaultyBlobStore = BlobStore & { readonly faults: FaultStats };

function defaultError(ctx: FaultContext): Error {
  return new TransientBlobError(`injected fault: ${ctx.op} "${ctx.key}" call ${ctx.call}`, { key: ctx.key, op: ctx.op });
}

/**
 * Passes at most `limit` bytes, then fails with `err` (once the consumer asks for more, so it does
 * receive the bytes before the error) or, when err is undefined, ends early.
 */
function cutAfter(source: Readable, limit: number, err: Error | undefined): Readable {
  async function* pieces() {
    let seen = 0;
    try {
      for await (const chunk of source) {
        const buf = chunk as Buffer;
        const room = limit - seen;
        seen += buf.length;
        if (buf.length < room) {
          yield buf;
          continue;
        }
        if (room > 0) yield buf.subarray(0, room);
        break;
      }
      if (err) throw err;
    } finally {
      source.destroy();
    }
  }
  return Readable.from(pieces(), { objectMode: false });
}

export function withFaults(inner: BlobStore, opts: FaultOptions): FaultyBlobStore {
  const random = opts.random ?? Math.random;
  const faults: FaultStats = { calls: { put: 0, get: 0, head: 0, list: 0, delete: 0 }, injected: [] };

  function match(op: FaultOp, key: string): { rule: FaultRule; ctx: FaultContext; err: Error } | undefined {
    const call = ++faults.calls[op];
    const ctx = { op, key, call };
    for (const rule of opts.rules) {
      if (rule.op !== op) continue;
      const hit = rule.calls?.includes(call) || (rule.every !== undefined && call % rule.every === 0)
        || (rule.probability !== undefined && random() < rule.probability);
      if (!hit) continue;
      faults.injected.push(ctx);
      return { rule, ctx, err: (rule.error ?? defaultError)(ctx) };
    }
    return undefined;
  }

  async function* list(prefix: string, o?: ListOptions): AsyncGenerator<BlobListEntry> {
    const fault = match('list', prefix);
    if (fault && fault.rule.afterItems === undefined) throw fault.err;
    let n = 0;
    for await (const entry of inner.list(prefix, o)) {
      if (fault && n >= (fault.rule.afterItems ?? 0)) throw fault.err;
      n++;
      yield entry;
    }
    if (fault) throw fault.err;
  }

  return {
    faults,
    async put(key, body, o) {
      const fault = match('put', key);
      if (!fault) return inner.put(key, body, o);
      const limit = fault.rule.afterBytes;
      if (limit === undefined) throw fault.err;
      const failing: BlobBody = () => {
        const b = body();
        const source = Buffer.isBuffer(b) ? Readable.from([b], { objectMode: false }) : b;
        return guardStream(source, {
          onChunk: (total) => (total > limit ? fault.err : undefined),
          onEnd: () => fault.err,
        });
      };
      return inner.put(key, failing, o);
    },
    async get(key, o) {
      const fault = match('get', key);
      if (fault && fault.rule.afterBytes === undefined) throw fault.err;
      const stream = await inner.get(key, o);
      if (!fault) return stream;
      return cutAfter(stream, fault.rule.afterBytes ?? 0, fault.rule.truncate ? undefined : fault.err);
    },
    async head(key, o) {
      const fault = match('head', key);
      if (fault) throw fault.err;
      return inner.head(key, o);
    },
    async delete(key, o) {
      const fault = match('delete', key);
      if (fault) throw fault.err;
      return inner.delete(key, o);
    },
    list,
    describe: () => `${inner.describe()} (with injected faults)`,
  };
}
