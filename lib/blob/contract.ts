/**
 * runBlobStoreContract: the shared contract test every BlobStore (local directory, RADOS Gateway, the
 * fault-injecting stack) must pass. Imported by *.test.ts files; registers vitest suites.
 *
 * Each case works under its own random prefix inside the store, so cases never see each other's keys and
 * the store may be shared with other suites. makeStore is called once per suite (beforeAll); the returned
 * cleanup, if any, runs in afterAll.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobNotFoundError, InvalidBlobKeyError, InvalidRangeError, PermanentBlobError } from './errors';
import { getBuffer } from './io';
import { checkBlobStore } from './probe';
import type { BlobListEntry, BlobStore } from './types';

export interface ContractOptions {
  /** Size of the streamed large blob (default 20 MiB: multipart on S3). */
  largeSize?: number;
  /** Keys for the paging case (default 1100: more than one S3 page). */
  manyKeys?: number;
}

export interface ContractStore {
  store: BlobStore;
  cleanup?: () => Promise<void> | void;
}

/** A stream of `data` in `chunk`-sized pieces. */
export function streamOf(data: Buffer, chunk = 64 * 1024): Readable {
  function* pieces() {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  }
  return Readable.from(pieces(), { objectMode: false });
}

export async function listAll(store: BlobStore, prefix: string): Promise<BlobListEntry[]> {
  const out: BlobListEntry[] = [];
  for await (const e of store.list(prefix)) out.push(e);
  return out;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function sha256OfStream(s: Readable): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of s) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

export function runBlobStoreContract(
  name: string,
  makeStore: () => Promise<ContractStore> | ContractStore,
  opts: ContractOptions = {},
): void {
  const largeSize = opts.largeSize ?? 20 * 1024 * 1024;
  const manyKeys = opts.manyKeys ?? 1100;

  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: ContractStore['cleanup'];
    const fresh = () => `contract-${randomBytes(6).toString('hex')}/`;

    beforeAll(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('round-trips a Buffer body and a stream body', async () => {
      const p = fresh();
      const a = randomBytes(1000);
      const b = randomBytes(300 * 1024 + 7);
      expect(await store.put(`${p}buf`, () => a)).toMatchObject({ size: a.length });
      expect(await store.put(`${p}stream`, () => streamOf(b, 10_000))).toMatchObject({ size: b.length });
      expect((await getBuffer(store, `${p}buf`)).equals(a)).toBe(true);
      expect((await getBuffer(store, `${p}stream`)).equals(b)).toBe(true);
    });

    it('stores zero-byte blobs from a Buffer and from a stream', async () => {
      const p = fresh();
      await store.put(`${p}empty-buf`, () => Buffer.alloc(0));
      await store.put(`${p}empty-stream`, () => Readable.from([], { objectMode: false }), { contentLength: 0 });
      for (const k of ['empty-buf', 'empty-stream']) {
        expect((await store.head(`${p}${k}`)).size).toBe(0);
        expect((await getBuffer(store, `${p}${k}`)).length).toBe(0);
        expect((await getBuffer(store, `${p}${k}`, { range: { offset: 0, length: 0 } })).length).toBe(0);
      }
      expect((await listAll(store, p)).map((e) => [e.key, e.size])).toEqual([[`${p}empty-buf`, 0], [`${p}empty-stream`, 0]]);
    });

    it(`streams a large blob (${largeSize} bytes) up and down intact`, async () => {
      const key = `${fresh()}large`;
      const data = randomBytes(largeSize);
      const res = await store.put(key, () => streamOf(data, 256 * 1024), { contentLength: largeSize });
      expect(res.size).toBe(largeSize);
      expect((await store.head(key)).size).toBe(largeSize);
      expect(await sha256OfStream(await store.get(key))).toEqual({ hash: sha256(data), size: largeSize });
      const mid = Math.floor(largeSize / 2) - 3;
      const part = await getBuffer(store, key, { range: { offset: mid, length: 1 << 20 } });
      expect(part.equals(data.subarray(mid, mid + (1 << 20)))).toBe(true);
    });

    it('serves ranged gets inside the blob', async () => {
      const key = `${fresh()}ranged`;
      const data = randomBytes(10_000);
      await store.put(key, () => data);
      for (const [offset, length] of [[0, 1], [0, 10_000], [1234, 5678], [9_999, 1], [10_000, 0], [500, 0]] as const) {
        const got = await getBuffer(store, key, { range: { offset, length } });
        expect(got.equals(data.subarray(offset, offset + length))).toBe(true);
      }
    });

    it('rejects ranges outside the blob with InvalidRangeError', async () => {
      const key = `${fresh()}ranged`;
      await store.put(key, () => randomBytes(100));
      for (const range of [{ offset: 100, length: 1 }, { offset: 90, length: 11 }, { offset: 101, length: 0 },
        { offset: 5000, length: 10 }, { offset: -1, length: 5 }, { offset: 0, length: -2 }, { offset: 0.5, length: 1 }]) {
        await expect(getBuffer(store, key, { range }), JSON.stringify(range)).rejects.toBeInstanceOf(InvalidRangeError);
      }
    });

    it('heads a blob: size, lastModified, optional etag', async () => {
      const key = `${fresh()}meta`;
      await store.put(key, () => Buffer.from('hello'));
      const meta = await store.head(key);
      expect(meta.size).toBe(5);
      expect(meta.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(meta.lastModified.getTime() - Date.now())).toBeLessThan(5 * 60_000);
      if (meta.etag !== undefined) expect(typeof meta.etag).toBe('string');
    });

    it('reports a missing key as BlobNotFoundError on get and head', async () => {
      const key = `${fresh()}missing/blob`;
      await expect(store.get(key)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.get(key, { range: { offset: 0, length: 1 } })).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.head(key)).rejects.toMatchObject({ name: 'BlobNotFoundError', key });
    });

    it('lists by prefix, recursively, in byte order, and resumes after a key', async () => {
      const p = fresh();
      const keys = ['a/b/c', 'a/b/d', 'a/bc', 'a/b-x', 'ab', 'b', 'a/b/e/f', 'a/é', 'a/z'];
      await Promise.all(keys.map((k) => store.put(`${p}${k}`, () => Buffer.from(k))));
      const names = async (prefix: string, startAfter?: string) => {
        const out: string[] = [];
        for await (const e of store.list(`${p}${prefix}`, { startAfter: startAfter && `${p}${startAfter}` })) {
          out.push(e.key.slice(p.length));
        }
        return out;
      };
      expect(await names('')).toEqual(['a/b-x', 'a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/z', 'a/é', 'ab', 'b']);
      expect(await names('a/')).toEqual(['a/b-x', 'a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/z', 'a/é']);
      expect(await names('a/b')).toEqual(['a/b-x', 'a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc']);
      expect(await names('a/b/')).toEqual(['a/b/c', 'a/b/d', 'a/b/e/f']);
      expect(await names('a')).toEqual(['a/b-x', 'a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/z', 'a/é', 'ab']);
      expect(await names('nothing/')).toEqual([]);
      expect(await names('', 'a/b/d')).toEqual(['a/b/e/f', 'a/bc', 'a/z', 'a/é', 'ab', 'b']);
      expect(await names('a/', 'a/b')).toEqual(['a/b-x', 'a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/z', 'a/é']);
      const sized = await listAll(store, `${p}a/b/`);
      expect(sized.map((e) => e.size)).toEqual([5, 5, 7]);
      for (const e of sized) expect(e.lastModified).toBeInstanceOf(Date);
    });

    it(`pages through more than 1000 keys (${manyKeys})`, async () => {
      const p = fresh();
      const keys = Array.from({ length: manyKeys }, (_, i) => `${p}k/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, () => Buffer.from('x'))));
      }
      const listed = (await listAll(store, p)).map((e) => e.key);
      expect(listed.length).toBe(manyKeys);
      expect(listed).toEqual(keys);
    });

    it('deletes idempotently', async () => {
      const p = fresh();
      await store.put(`${p}d/x`, () => Buffer.from('1'));
      await store.put(`${p}d/y`, () => Buffer.from('2'));
      await store.delete(`${p}d/x`);
      await expect(store.head(`${p}d/x`)).rejects.toBeInstanceOf(BlobNotFoundError);
      await store.delete(`${p}d/x`);
      await store.delete(`${p}never/was/here`);
      expect((await listAll(store, p)).map((e) => e.key)).toEqual([`${p}d/y`]);
      await store.delete(`${p}d/y`);
      expect(await listAll(store, p)).toEqual([]);
    });

    it('rejects invalid keys with InvalidBlobKeyError before touching the body', async () => {
      const bad = ['', '/abs', 'a/../b', '..', 'a/./b', 'a\\b', 'a//b', 'trailing/', 'nul\u0000', 'x'.repeat(1025)];
      let called = 0;
      const body = () => {
        called++;
        return Buffer.from('x');
      };
      for (const key of bad) {
        await expect(store.put(key, body), `put ${JSON.stringify(key)}`).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.head(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      }
      expect(called).toBe(0);
      await expect(listAll(store, '/abs')).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(listAll(store, 'a/../')).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.put('ok/name', body)).resolves.toBeDefined();
      await store.delete('ok/name');
    });

    it('overwrites a key whole', async () => {
      const key = `${fresh()}over`;
      await store.put(key, () => randomBytes(5000));
      const second = randomBytes(123);
      await store.put(key, () => streamOf(second, 50));
      expect((await getBuffer(store, key)).equals(second)).toBe(true);
      expect((await store.head(key)).size).toBe(123);
    });

    it('keeps one whole version when the same key is put concurrently', async () => {
      const key = `${fresh()}race`;
      const versions = Array.from({ length: 6 }, () => randomBytes(64 * 1024));
      await Promise.all(versions.map((v) => store.put(key, () => streamOf(v, 8192))));
      const got = await getBuffer(store, key);
      expect(versions.some((v) => v.equals(got))).toBe(true);
    });

    it('refuses a body whose length differs from contentLength and stores nothing', async () => {
      const p = fresh();
      await expect(store.put(`${p}short`, () => streamOf(randomBytes(100)), { contentLength: 101 }))
        .rejects.toBeInstanceOf(PermanentBlobError);
      await expect(store.put(`${p}long`, () => streamOf(randomBytes(100)), { contentLength: 99 }))
        .rejects.toBeInstanceOf(PermanentBlobError);
      await expect(store.put(`${p}buf`, () => randomBytes(10), { contentLength: 9 })).rejects.toBeInstanceOf(PermanentBlobError);
      expect(await listAll(store, p)).toEqual([]);
    });

    it("passes the body stream's own error through unchanged and stores nothing", async () => {
      const p = fresh();
      const boom = new Error('source file vanished');
      const failing = () => {
        async function* gen() {
          yield randomBytes(1000);
          throw boom;
        }
        return Readable.from(gen(), { objectMode: false });
      };
      await expect(store.put(`${p}x`, failing)).rejects.toBe(boom);
      expect(await listAll(store, p)).toEqual([]);
    });

    it('rejects with the abort reason when the signal is aborted', async () => {
      const p = fresh();
      const ac = new AbortController();
      ac.abort();
      await expect(store.put(`${p}x`, () => Buffer.from('x'), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
      await expect(store.get(`${p}x`, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect(await listAll(store, p)).toEqual([]);
    });

    it('serves many gets at once on one abort signal without a listener-leak warning', async () => {
      const p = fresh();
      await store.put(`${p}k`, () => Buffer.from('shared signal'));
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        const { signal } = new AbortController();
        const got = await Promise.all(Array.from({ length: 24 }, async () => (await getBuffer(store, `${p}k`, { signal })).toString()));
        expect(new Set(got)).toEqual(new Set(['shared signal']));
        await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    });

    it('passes checkBlobStore', async () => {
      const steps: string[] = [];
      const res = await checkBlobStore(store, { onStep: (s) => steps.push(s) });
      expect(res.error).toBeUndefined();
      expect(res.ok).toBe(true);
      expect(steps).toEqual(['put', 'get', 'verify', 'list', 'delete', 'verify-delete']);
      expect(res.bytes).toBeGreaterThan(100 * 1024);
      for (const k of ['put', 'get', 'list', 'delete', 'total'] as const) expect(res.latencyMs[k]).toBeGreaterThanOrEqual(0);
      await expect(store.head(res.key)).rejects.toBeInstanceOf(BlobNotFoundError);
    });
  });
}
