/**
 * ContentStore cases on failures, write ordering, backpressure and abort; registered by
 * runContentStoreSuite (suite.ts) for every storage backend.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { BlobNotFoundError, TransientBlobError, withFaults, type BlobStore } from '../../blob';
import { AAD } from '../crypto/sealed-box';
import { readIndexFile, type IndexFile } from '../index/index';
import { objectKey } from '../layout';
import { listObjectIds, openJson } from '../objects';
import { ContentStore } from '.';
import { keysUnder, type SuiteContext } from './testing';

/** A store passing everything to `inner` except put, which goes through `put`. */
function withPut(inner: BlobStore, put: BlobStore['put']): BlobStore {
  return {
    put,
    get: (k, o) => inner.get(k, o),
    head: (k, o) => inner.head(k, o),
    list: (p, o) => inner.list(p, o),
    delete: (k, o) => inner.delete(k, o),
    describe: () => inner.describe(),
  };
}

/** Holds data/ puts until released (or aborted through their signal). */
function gated(inner: BlobStore) {
  const waiting: (() => void)[] = [];
  let open = false;
  const store = withPut(inner, async (k, body, o) => {
    if (k.startsWith('data/') && !open) {
      await new Promise<void>((resolve, reject) => {
        waiting.push(resolve);
        o?.signal?.addEventListener('abort', () => reject(o.signal!.reason), { once: true });
      });
    }
    return inner.put(k, body, o);
  });
  const openAll = () => {
    open = true;
    waiting.splice(0).forEach((r) => r());
  };
  return { store, waiting, openAll };
}

async function indexFiles(store: BlobStore, key: SuiteContext['key']): Promise<IndexFile[]> {
  return Promise.all((await listObjectIds(store, 'index')).map((id) => readIndexFile(store, key, id)));
}

export function runContentFaultCases(ctx: SuiteContext): void {
  const { key, config: cfg } = ctx;

  it('a failed pack upload rejects saves and flush with that error, and no index references the pack', async () => {
    const inner = ctx.fresh();
    // The third pack put fails after 1000 bytes (no retries); index puts go straight through.
    const faulty = withFaults(inner, { rules: [{ op: 'put', calls: [3], afterBytes: 1000 }] });
    const store = withPut(inner, (k, b, o) => (k.startsWith('data/') ? faulty.put(k, b, o) : inner.put(k, b, o)));
    const cs = await ContentStore.create(store, key, cfg({ indexBatchBlobs: 8 }));
    let saveError: unknown;
    for (let i = 0; i < 48 && !saveError; i++) saveError = await cs.saveBlob('data', randomBytes(64 * 1024)).then(() => undefined, (e: unknown) => e);
    const flushError = await cs.flush().catch((e: unknown) => e);
    const failed = faulty.faults.injected[0]!.key;
    expect(faulty.faults.injected).toHaveLength(1);
    expect(failed).toMatch(/^data\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    expect(flushError).toBeInstanceOf(TransientBlobError);
    expect((flushError as Error).message).toContain(failed);
    if (saveError) expect(saveError).toBe(flushError);
    await expect(cs.saveBlob('data', randomBytes(100))).rejects.toBe(flushError);
    await expect(inner.head(failed)).rejects.toBeInstanceOf(BlobNotFoundError);
    // Early index files (written before the failure) list only packs that are stored; none lists the failed one.
    const stored = new Set(await keysUnder(inner, 'data/'));
    for (const file of await indexFiles(inner, key)) {
      for (const p of file.packs) expect(stored.has(objectKey('data', p.id))).toBe(true);
    }
    const reader = await ContentStore.create(inner, key, cfg());
    expect([...reader.masterIndex.packs()].map((p) => objectKey('data', p.id))).not.toContain(failed);
  });

  it('a failed index write rejects flush and keeps its packs for the next flush', async () => {
    const inner = ctx.fresh();
    const faulty = withFaults(inner, { rules: [{ op: 'put', calls: [1] }] });
    const store = withPut(inner, (k, b, o) => (k.startsWith('index/') ? faulty.put(k, b, o) : inner.put(k, b, o)));
    const cs = await ContentStore.create(store, key, cfg());
    const blobs = Array.from({ length: 20 }, () => randomBytes(30_000));
    const ids = await Promise.all(blobs.map(async (b) => (await cs.saveBlob('data', b)).id));
    await expect(cs.flush()).rejects.toBeInstanceOf(TransientBlobError);
    expect(await listObjectIds(inner, 'index')).toEqual([]);
    expect((await cs.loadBlob(ids[0]!)).equals(blobs[0]!)).toBe(true); // still served from the stored pack
    const indexId = await cs.flush();
    expect(await listObjectIds(inner, 'index')).toEqual([indexId]);
    const reader = await ContentStore.create(inner, key, cfg());
    for (const [i, id] of ids.entries()) expect((await reader.loadBlob(id)).equals(blobs[i]!)).toBe(true);
  });

  it('writes every index file only after all of its packs are stored', async () => {
    const inner = ctx.fresh();
    const violations: string[] = [];
    const indexPuts: string[] = [];
    const store = withPut(inner, async (k, body, o) => {
      if (k.startsWith('index/')) {
        const file = openJson<IndexFile>(key, AAD.index, body() as Buffer, k);
        for (const p of file.packs) {
          await inner.head(objectKey('data', p.id)).catch(() => violations.push(`${k} was written before pack ${p.id}`));
        }
        indexPuts.push(k);
      }
      return inner.put(k, body, o);
    });
    const cs = await ContentStore.create(store, key, cfg({ indexBatchBlobs: 30 }));
    const blobs = Array.from({ length: 400 }, () => randomBytes(5000));
    for (let i = 0; i < blobs.length; i += 50) await Promise.all(blobs.slice(i, i + 50).map((b) => cs.saveBlob('data', b)));
    await cs.flush();
    expect(violations).toEqual([]);
    expect(indexPuts.length).toBeGreaterThanOrEqual(2);
    expect(cs.stats().indexesWritten).toBe(indexPuts.length);
    const indexed = (await indexFiles(inner, key)).flatMap((f) => f.packs.map((p) => objectKey('data', p.id)));
    expect(indexed.sort()).toEqual((await keysUnder(inner, 'data/')).sort());
    const reader = await ContentStore.create(inner, key, cfg());
    expect(reader.masterIndex.size).toBe(400);
  });

  it('applies backpressure: saveBlob waits while the open pack is full and every upload slot is busy', async () => {
    const inner = ctx.fresh();
    const gate = gated(inner);
    const cs = await ContentStore.create(gate.store, key, cfg({ packTargetSize: 64 * 1024, uploadConcurrency: 1 }));
    const blobs = [randomBytes(70_000), randomBytes(70_000), randomBytes(10)];
    // Awaiting storedLength: the blob is sealed and in its pack (with seal workers, saveBlob resolves earlier).
    const first = await cs.saveBlob('data', blobs[0]!); // fills pack 1, which starts uploading
    await first.storedLength;
    const second = await cs.saveBlob('data', blobs[1]!); // fills pack 2, which has to wait
    await second.storedLength;
    let done = false;
    const third = cs.saveBlob('data', blobs[2]!).then((r) => ((done = true), r.id));
    await sleep(50);
    expect(done).toBe(false);
    expect(gate.waiting).toHaveLength(1);
    // A waiting save can be cancelled; the store stays usable.
    const ac = new AbortController();
    const cancelled = cs.saveBlob('data', randomBytes(10), ac.signal);
    ac.abort(new Error('stop waiting'));
    await expect(cancelled).rejects.toThrow('stop waiting');
    // Deduplicated saves do not wait; both blobs are readable while their packs are held in memory.
    expect(await cs.saveBlob('data', blobs[1]!)).toMatchObject({ stored: false, id: second.id });
    expect((await cs.loadBlob(first.id)).equals(blobs[0]!)).toBe(true);
    expect((await cs.loadBlob(second.id)).equals(blobs[1]!)).toBe(true);
    gate.waiting.shift()!();
    const ids = [first.id, second.id, await third];
    expect(gate.waiting.length).toBeLessThanOrEqual(1);
    gate.openAll();
    await cs.flush();
    const reader = await ContentStore.create(inner, key, cfg());
    for (const [i, b] of blobs.entries()) expect((await reader.loadBlob(ids[i]!)).equals(b)).toBe(true);
  });

  it('abort cancels uploads in flight, fails later writes and leaves nothing behind', async () => {
    const inner = ctx.fresh();
    const gate = gated(inner);
    const cs = await ContentStore.create(gate.store, key, cfg({ packTargetSize: 64 * 1024 }));
    for (const size of [70_000, 70_000, 1000]) await (await cs.saveBlob('data', randomBytes(size))).storedLength;
    expect(gate.waiting).toHaveLength(2);
    const flushing = cs.flush();
    await cs.abort();
    await expect(flushing).rejects.toMatchObject({ name: 'AbortError' });
    await expect(cs.saveBlob('data', randomBytes(10))).rejects.toMatchObject({ name: 'AbortError' });
    await expect(cs.flush()).rejects.toMatchObject({ name: 'AbortError' });
    expect(await keysUnder(inner, '')).toEqual([]);
  });
}
