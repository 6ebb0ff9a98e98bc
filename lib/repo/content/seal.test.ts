// Sealing off the main thread: seal-core.mjs against the format's reference functions (encodePayload,
// sealed-box open, openBlobFromPack), the SealPool of worker threads, and the content store's pipeline
// through the pool (early resolve, backpressure, flush, loads of blobs being sealed, worker failures, abort).
// Faulty or slow workers are testdata/faulty-seal-worker.mjs.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload } from '../compress';
import { contentId, generateMasterKey, masterKeyBytes } from '../crypto/master-key';
import { BOX_OVERHEAD, open } from '../crypto/sealed-box';
import { listObjectIds } from '../objects';
import { openBlobFromPack } from '../pack/blob';
import { BlobSealer, maxSealedLength } from './seal-core.mjs';
import { BlobIntegrityError, BlobOpener } from './open-core.mjs';
import { SealPool, SealWorkerError } from './seal-pool';
import { StoredBytesTally } from './stored-tally';
import { ContentStore, type ContentStoreConfig, type SaveResult } from '.';
import { keysUnder, localTestStores, type TestStores } from './testing';

const key = generateMasterKey();
const KiB = 1024;
const MiB = 1024 * KiB;

/** Log-like text: compresses well, unique per call. */
function text(bytes: number): Buffer {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `2025-01-15T10:00:${String(i % 60).padStart(2, '0')}Z INFO req=${randomBytes(4).toString('hex')} GET /api/items/${i} status=200\n`;
  return Buffer.from(s).subarray(0, bytes);
}

const samples: [string, Buffer][] = [
  ['1 MiB of text', text(MiB)],
  ['1 MiB of random bytes', randomBytes(MiB)],
  ['100 KB of random bytes', randomBytes(100_000)],
  ['5000 bytes of text', text(5000)],
  ['64 equal bytes (smallest compressed)', Buffer.alloc(64, 'a')],
  ['63 equal bytes (never compressed)', Buffer.alloc(63, 'a')],
  ['1 byte', Buffer.of(7)],
  ['empty', Buffer.alloc(0)],
  // Compresses to within a few bytes of its size: the "only when smaller" rule decides at the edge.
  ['random with a little repetition', Buffer.concat([randomBytes(3000), Buffer.alloc(40, 'x'), randomBytes(3000)])],
];

type Faults = { mode?: 'job-error' | 'exit' | 'throw'; after?: number; delay?: number };
const faultyUrl = new URL('./testdata/faulty-seal-worker.mjs', import.meta.url);
/** SealPool options for the faulty worker double. */
const faulty = (faults: Faults) => ({ workerUrl: faultyUrl, workerData: { faults } });
/** ContentStore config for it. */
const faultyStore = (faults: Faults) => ({ sealWorker: { url: faultyUrl, data: { faults } } });

describe('seal-core: byte compatible with the format reference', () => {
  it.each([1, 3, 19])('encodes payloads exactly as encodePayload does (level %i)', (level) => {
    const sealer = new BlobSealer(key.encKey, level);
    for (const [name, data] of samples) {
      const { tag, body } = sealer.encode(data);
      expect(Buffer.concat([Buffer.of(tag), body]).equals(encodePayload(data, level)), name).toBe(true);
    }
  });

  it('seals boxes that open with openBlobFromPack and hold the encodePayload payload', () => {
    const sealer = new BlobSealer(key.encKey, 3);
    for (const [name, data] of samples) {
      const id = contentId(key, data);
      const reference = encodePayload(data, 3);
      const dest = randomBytes(maxSealedLength(data.length) + 100);
      for (const box of [sealer.seal(data, id), sealer.seal(data, id, dest)]) {
        expect(box.length, name).toBe(BOX_OVERHEAD + reference.length);
        expect(box.length).toBeLessThanOrEqual(maxSealedLength(data.length));
        expect(open(key.encKey, box, id, name).equals(reference), name).toBe(true);
        expect(openBlobFromPack(key, box, id.toString('hex'), { rawLength: data.length }).equals(data), name).toBe(true);
      }
      const inDest = sealer.seal(data, id, dest);
      expect(inDest.buffer).toBe(dest.buffer);
      expect(inDest.byteOffset).toBe(dest.byteOffset);
    }
  });

  it('opens boxes in place (over their ciphertext, in shared memory) as it opens them into scratch', () => {
    const sealer = new BlobSealer(key.encKey, 3);
    const opener = new BlobOpener(key.encKey, key.idKey, 4 * MiB);
    for (const [name, data] of samples) {
      const id = contentId(key, data);
      const box = sealer.seal(data, id);
      expect(opener.open(box, id, data.length, name).equals(data), name).toBe(true);
      const shared = Buffer.from(new SharedArrayBuffer(box.length + 10)).subarray(5, 5 + box.length);
      box.copy(shared);
      const plain = opener.open(shared, id, data.length, name, true);
      expect(plain.equals(data), name).toBe(true);
      if (data.length > 100) expect(shared.equals(box), name).toBe(false); // the ciphertext is gone
      // A damaged box fails authentication in place too.
      const bad = Buffer.from(box);
      bad[bad.length - 20]! ^= 1;
      expect(() => opener.open(bad, id, data.length, name, true)).toThrow(BlobIntegrityError);
    }
  });

  it('draws a fresh nonce per box and refuses a destination that may be too small', () => {
    const sealer = new BlobSealer(key.encKey, 3);
    const data = randomBytes(1000);
    const id = contentId(key, data);
    expect(sealer.seal(data, id).subarray(1, 13).equals(sealer.seal(data, id).subarray(1, 13))).toBe(false);
    expect(() => sealer.seal(data, id, Buffer.alloc(maxSealedLength(1000) - 1))).toThrow(RangeError);
  });
});

describe('SealPool', () => {
  it('returns byte-compatible boxes from two workers, and the plaintext may be reused as soon as seal() returns', async () => {
    const pool = new SealPool(key.encKey, 3, { workers: 2 });
    try {
      const jobs = samples.map(([name, data]) => {
        const id = contentId(key, data);
        const scratch = Buffer.from(data);
        const job = pool.seal(scratch, id);
        scratch.fill(0x55); // the caller's buffer is free again
        return { name, data, id, job };
      });
      expect(pool.running).toBe(2);
      for (const { name, data, id, job } of jobs) {
        const { sealed, release } = await job;
        expect(open(key.encKey, sealed, id, name).equals(encodePayload(data, 3)), name).toBe(true);
        expect(openBlobFromPack(key, sealed, id.toString('hex'), { rawLength: data.length }).equals(data), name).toBe(true);
        release();
      }
      expect(pool.outstanding).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('reads a lent plaintext in place in shared memory, at its offset, without taking or copying the memory', async () => {
    const pool = new SealPool(key.encKey, 3, { workers: 1 });
    try {
      const ring = new SharedArrayBuffer(3 * 70_000);
      const pieces = samples.slice(0, 3).map(([name, data], i) => {
        const at = 1000 + i * 70_000; // not at the start of the memory, as the chunker's ring chunks
        const view = Buffer.from(ring, at, Math.min(data.length, 60_000));
        data.copy(view, 0, 0, view.length);
        return { name, data: Buffer.from(view), view, id: contentId(key, view) };
      });
      const jobs = pieces.map((p) => ({ ...p, job: pool.seal(p.view, p.id, true, true) }));
      for (const { name, data, id, job, view } of jobs) {
        const { sealed, release } = await job;
        expect(view.buffer).toBe(ring); // shared, not transferred: the caller's view still works
        expect(view.length).toBe(data.length);
        view.fill(0x55); // the caller may reuse it once the seal settled
        expect(openBlobFromPack(key, sealed, id.toString('hex'), { rawLength: data.length }).equals(data), name).toBe(true);
        release();
      }
    } finally {
      await pool.close();
    }
  });

  it('rejects a job that fails in its worker with SealWorkerError and goes on', async () => {
    const pool = new SealPool(key.encKey, 3, { workers: 1, ...faulty({ mode: 'job-error', after: 1 }) });
    try {
      (await pool.seal(randomBytes(5000), randomBytes(32))).release();
      const err = await pool.seal(randomBytes(5000), randomBytes(32)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SealWorkerError);
      expect((err as Error).message).toMatch(/seal worker: RangeError/);
      expect(pool.running).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it.each([
    ['exits', 'exit', /seal worker exited unexpectedly \(exit code 3\)/],
    ['throws', 'throw', /seal worker failed: injected crash in the seal worker/],
  ] as const)('breaks when a worker %s: outstanding and later jobs reject', async (_what, mode, message) => {
    const pool = new SealPool(key.encKey, 3, { workers: 1, ...faulty({ mode }) });
    const jobs = [pool.seal(randomBytes(5000), randomBytes(32)), pool.seal(randomBytes(5000), randomBytes(32))];
    const errors = await Promise.all(jobs.map((j) => j.catch((e: unknown) => e)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(SealWorkerError);
      expect((err as Error).message).toMatch(message);
    }
    await expect(pool.seal(randomBytes(10), randomBytes(32))).rejects.toBe(errors[0]);
    expect(pool.running).toBe(0);
    await pool.close();
  });

  it('close() terminates the workers and rejects outstanding and later jobs with its reason', async () => {
    const pool = new SealPool(key.encKey, 3, { workers: 1, ...faulty({ delay: 300 }) });
    const job = pool.seal(randomBytes(5000), randomBytes(32)).catch((e: unknown) => e);
    const reason = new Error('closing');
    await pool.close(reason);
    expect(await job).toBe(reason);
    await expect(pool.seal(randomBytes(10), randomBytes(32))).rejects.toBe(reason);
    expect(pool.running).toBe(0);
  });

  it('stops idle workers and starts them again on demand', async () => {
    const pool = new SealPool(key.encKey, 3, { workers: 1, idleMs: 50 });
    try {
      (await pool.seal(randomBytes(5000), randomBytes(32))).release();
      expect(pool.running).toBe(1);
      await sleep(300);
      expect(pool.running).toBe(0);
      const data = randomBytes(5000);
      const id = contentId(key, data);
      const { sealed } = await pool.seal(data, id);
      expect(openBlobFromPack(key, sealed, id.toString('hex')).equals(data)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe('ContentStore with seal workers', () => {
  let stores: TestStores;
  beforeAll(async () => {
    stores = await localTestStores();
  });
  afterAll(() => stores.cleanup());
  const fresh = () => stores.makeStore(`seal-${randomBytes(6).toString('hex')}`);
  const config = (c: Partial<ContentStoreConfig> = {}): ContentStoreConfig => ({ packTargetSize: 256 * KiB, compressionLevel: 3, sealWorkers: 1, ...c });

  it('resolves saves before sealing; storedLength, stats and flush catch up with every seal', async () => {
    const store = fresh();
    const cs = await ContentStore.create(store, key, config({ ...faultyStore({ delay: 20 }) }));
    const blobs = Array.from({ length: 24 }, (_, i) => (i % 2 ? randomBytes(64 * KiB) : text(64 * KiB)));
    const results: SaveResult[] = [];
    for (const b of blobs) results.push(await cs.saveBlob('data', b)); // the archiver's pattern: one save at a time
    expect(cs.sealBacklog.blobs).toBeGreaterThan(1); // the saves ran ahead of the worker
    expect(cs.stats().blobsStored).toBe(24);
    const indexId = await cs.flush();
    expect(cs.sealBacklog).toEqual({ blobs: 0, bytes: 0 });
    const lengths = await Promise.all(results.map((r) => r.storedLength));
    expect(cs.stats().bytesStored).toBe(lengths.reduce((a, b) => a + b, 0));
    expect(lengths.filter((n, i) => i % 2 === 0).every((n) => n < 40 * KiB)).toBe(true); // text compresses
    expect(await listObjectIds(store, 'index')).toEqual([indexId]);
    const reader = await ContentStore.create(store, key, config());
    for (const [i, r] of results.entries()) {
      expect(reader.masterIndex.lookup(r.id)?.length).toBe(lengths[i]);
      expect((await reader.loadBlob(r.id)).equals(blobs[i]!)).toBe(true);
    }
  });

  it('takes a chunker\'s content id and buffer as given: no second hash, the buffer handed over, not copied', async () => {
    const cs = await ContentStore.create(fresh(), key, config());
    const data = Buffer.from(text(100 * KiB)); // owns its whole ArrayBuffer, like a chunk from the chunk pool
    const copy = Buffer.from(data);
    const rawId = contentId(key, data);
    const saved = await cs.saveBlob('data', data, undefined, { rawId, handOver: true });
    expect(saved).toMatchObject({ id: rawId.toString('hex'), stored: true, rawLength: 100 * KiB });
    await cs.flush();
    expect(data.length).toBe(0); // transferred to the seal worker (with the jobs of its tick)
    expect((await cs.loadBlob(saved.id)).equals(copy)).toBe(true);
    // A view into a larger buffer is copied instead (the rest of that buffer is not the store's to take).
    const view = Buffer.from(text(200 * KiB)).subarray(0, 50 * KiB);
    await cs.saveBlob('data', view, undefined, { rawId: contentId(key, view), handOver: true });
    expect(view.length).toBe(50 * KiB);
    await expect(cs.saveBlob('data', copy, undefined, { rawId: Buffer.alloc(31) })).rejects.toThrow(/raw content id is 32 bytes, got 31/);
    await cs.flush();
  });

  it('bounds the bytes handed to the seal workers (backpressure in saveBlob)', async () => {
    const cs = await ContentStore.create(fresh(), key, config({ sealQueueBytes: 200_000, ...faultyStore({ delay: 15 }) }));
    let most = 0;
    for (let i = 0; i < 30; i++) {
      await cs.saveBlob('data', randomBytes(64 * KiB));
      most = Math.max(most, cs.sealBacklog.bytes);
    }
    expect(most).toBeLessThanOrEqual(200_000);
    expect(most).toBeGreaterThanOrEqual(128 * KiB);
    // One blob larger than the whole allowance still goes through when nothing else is queued.
    await cs.flush();
    const big = await cs.saveBlob('data', randomBytes(300_000));
    expect(cs.sealBacklog.bytes).toBe(300_000);
    expect(await big.storedLength).toBe(maxSealedLength(300_000));
    await cs.flush();
  });

  it('loads, reports and deduplicates a blob that is still being sealed', async () => {
    const cs = await ContentStore.create(fresh(), key, config({ ...faultyStore({ delay: 200 }) }));
    const blob = randomBytes(50_000);
    const saved = await cs.saveBlob('tree', blob);
    expect(cs.sealBacklog.blobs).toBe(1);
    expect(cs.hasBlob(saved.id)).toBe(true);
    expect(await cs.saveBlob('tree', Buffer.from(blob))).toMatchObject({ id: saved.id, stored: false });
    expect((await cs.loadBlob(saved.id)).equals(blob)).toBe(true);
    expect(cs.sealBacklog.blobs).toBe(0);
    await cs.flush();
    expect(cs.masterIndex.lookup(saved.id)?.type).toBe('tree');
  });

  it('a seal that fails in its worker fails the store like a failed upload', async () => {
    const store = fresh();
    const cs = await ContentStore.create(store, key, config({ ...faultyStore({ mode: 'job-error', after: 3 }) }));
    const results: SaveResult[] = [];
    let saveError: unknown;
    for (let i = 0; i < 12 && !saveError; i++) {
      await cs.saveBlob('data', randomBytes(40 * KiB)).then((r) => results.push(r), (e: unknown) => (saveError = e));
    }
    const flushError = await cs.flush().catch((e: unknown) => e);
    expect(flushError).toBeInstanceOf(SealWorkerError);
    if (saveError) expect(saveError).toBe(flushError);
    await expect(results[3]!.storedLength).rejects.toBe(flushError);
    await expect(cs.loadBlob(results[3]!.id)).rejects.toBe(flushError);
    await expect(cs.saveBlob('data', randomBytes(100))).rejects.toBe(flushError);
    expect(await listObjectIds(store, 'index')).toEqual([]);
  });

  it('a crashed worker fails the store', async () => {
    const cs = await ContentStore.create(fresh(), key, config({ ...faultyStore({ mode: 'exit', after: 2 }) }));
    for (let i = 0; i < 4; i++) await cs.saveBlob('data', randomBytes(40 * KiB));
    await expect(cs.flush()).rejects.toThrow(/seal worker exited unexpectedly \(exit code 3\)/);
  });

  it('abort stops the seal workers, rejects pending seals and leaves nothing behind', async () => {
    const store = fresh();
    const cs = await ContentStore.create(store, key, config({ ...faultyStore({ delay: 100 }) }));
    const results: SaveResult[] = [];
    for (let i = 0; i < 4; i++) results.push(await cs.saveBlob('data', randomBytes(40 * KiB)));
    const flushing = cs.flush().catch((e: unknown) => e);
    await cs.abort();
    expect(await flushing).toMatchObject({ name: 'AbortError' });
    await expect(results[3]!.storedLength).rejects.toMatchObject({ name: 'AbortError' });
    expect(cs.sealBacklog).toEqual({ blobs: 0, bytes: 0 });
    await expect(cs.saveBlob('data', randomBytes(10_000))).rejects.toMatchObject({ name: 'AbortError' });
    expect(await keysUnder(store, '')).toEqual([]);
  });

  it('runs inside a worker thread that loads the TypeScript through tsx (as worker/thread.ts job threads do)', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(`${process.env.TMPDIR ?? '/tmp'}/lifeboat-seal-thread-`));
    const worker = new Worker(new URL('./testdata/tsx-thread-entry.mjs', import.meta.url), { workerData: { dir, key: masterKeyBytes(key) } });
    const result = await new Promise<{ ok: boolean; blobs?: number; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`thread exited with code ${code}`)));
    });
    await worker.terminate();
    await import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true, force: true }));
    expect(result).toEqual({ ok: true, blobs: 8 });
  });
});

describe('StoredBytesTally', () => {
  it('adds up stored lengths as they arrive and reports a failure once settled', async () => {
    const tally = new StoredBytesTally();
    let release!: (n: number) => void;
    tally.add({ stored: true, storedLength: new Promise<number>((r) => (release = r)) });
    tally.add({ stored: true, storedLength: Promise.resolve(100) });
    tally.add({ stored: false, storedLength: Promise.resolve(0) });
    let total: number | undefined;
    const settled = tally.settled().then((n) => (total = n));
    await sleep(10);
    expect(total).toBeUndefined();
    release(50);
    await settled;
    expect(total).toBe(150);
    expect(tally.blobs).toBe(2);

    const failing = new StoredBytesTally();
    const err = new Error('store failed');
    const rejected = Promise.reject(err);
    rejected.catch(() => {});
    failing.add({ stored: true, storedLength: rejected });
    await expect(failing.settled()).rejects.toBe(err);
  });

  it('sums a store\'s saves to its stats().bytesStored', async () => {
    const stores = await localTestStores();
    try {
      const cs = await ContentStore.create(stores.makeStore('tally'), key, { packTargetSize: 256 * KiB, compressionLevel: 3, sealWorkers: 1 });
      const tally = new StoredBytesTally();
      const blob = randomBytes(30_000);
      for (const b of [blob, text(200_000), blob, randomBytes(100), text(9000)]) tally.add(await cs.saveBlob('data', b));
      expect(await tally.settled()).toBe(cs.stats().bytesStored);
      expect(tally.blobs).toBe(4);
      await cs.flush();
    } finally {
      await stores.cleanup();
    }
  });
});
