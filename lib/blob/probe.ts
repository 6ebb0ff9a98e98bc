/**
 * checkBlobStore: the "check storage target" probe behind the console's storage check job.
 *
 * Writes `lifeboat-probe/<random>` (a few hundred KiB of random bytes), reads it back and compares
 * SHA-256, lists the prefix and checks the object is listed with the right size, deletes it and checks
 * head now reports BlobNotFoundError. Never throws for storage problems: it resolves
 * { ok: false, step, error } with a message naming the step and the cause (aborts still reject).
 * On failure after the put it tries to delete the probe object (best effort). Each call uses its own
 * random key, so concurrent probes against one store do not interfere.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isNotFound } from './errors';
import { readAll } from './io';
import type { BlobStore } from './types';

export const PROBE_PREFIX = 'lifeboat-probe/';

export type ProbeStep = 'put' | 'get' | 'verify' | 'list' | 'delete' | 'verify-delete';

export interface ProbeOptions {
  signal?: AbortSignal;
  onStep?: (step: ProbeStep) => void;
  /** Probe object size in bytes (default 256 KiB). */
  size?: number;
}

export interface ProbeResult {
  ok: boolean;
  latencyMs: { put?: number; get?: number; list?: number; delete?: number; total: number };
  /** Bytes written (and read back). */
  bytes: number;
  key: string;
  step?: ProbeStep;
  error?: string;
}

export async function checkBlobStore(store: BlobStore, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const { signal } = opts;
  const size = opts.size ?? 256 * 1024;
  const key = `${PROBE_PREFIX}${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
  const data = randomBytes(size);
  const digest = createHash('sha256').update(data).digest('hex');
  const started = performance.now();
  const latencyMs: ProbeResult['latencyMs'] = { total: 0 };
  let step: ProbeStep = 'put';
  let written = false;

  const begin = (s: ProbeStep) => {
    step = s;
    signal?.throwIfAborted();
    opts.onStep?.(s);
    return performance.now();
  };
  const fail = (message: string): never => {
    throw new ProbeFailure(message);
  };

  try {
    let t = begin('put');
    await store.put(key, () => data, { contentLength: size, signal });
    written = true;
    latencyMs.put = performance.now() - t;

    t = begin('get');
    const back = await readAll(await store.get(key, { signal }));
    latencyMs.get = performance.now() - t;
    begin('verify');
    if (back.length !== size) fail(`read back ${back.length} bytes, wrote ${size}`);
    if (createHash('sha256').update(back).digest('hex') !== digest) fail('the bytes read back differ from those written (SHA-256 mismatch)');

    t = begin('list');
    let listed: { size: number } | undefined;
    for await (const entry of store.list(key, { signal })) {
      if (entry.key === key) listed = entry;
    }
    latencyMs.list = performance.now() - t;
    if (!listed) fail(`listing prefix "${key}" did not return the object just written`);
    else if (listed.size !== size) fail(`listing reports ${listed.size} bytes, wrote ${size}`);

    t = begin('delete');
    await store.delete(key, { signal });
    written = false;
    latencyMs.delete = performance.now() - t;

    begin('verify-delete');
    try {
      await store.head(key, { signal });
      fail('the object is still there after delete');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    latencyMs.total = performance.now() - started;
    return { ok: true, latencyMs, bytes: size, key };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (written) await store.delete(key).catch(() => {});
    latencyMs.total = performance.now() - started;
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, latencyMs, bytes: size, key, step, error: `${step} failed on ${store.describe()}: ${message}` };
  }
}

class ProbeFailure extends Error {}
