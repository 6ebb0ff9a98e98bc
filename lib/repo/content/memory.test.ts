// Memory stays flat: saving 200 MiB of random data in 1 MiB blobs through a ContentStore with the
// default 16 MiB packs must not grow the process's RSS by more than ~150 MB (one open pack, two packs
// uploading, the spare pack buffer, the seal worker thread with its queue, and garbage not yet collected).
// Own file so the fork's RSS is ours.
import { randomBytes, randomFillSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateMasterKey } from '../crypto/master-key';
import { ContentStore } from '.';
import { localTestStores, type TestStores } from './testing';

let stores: TestStores;
beforeAll(async () => {
  stores = await localTestStores();
});
afterAll(() => stores.cleanup());

const MiB = 1024 * 1024;

it('keeps RSS growth bounded while saving 200 MiB in 1 MiB blobs', async () => {
  const cs = await ContentStore.create(stores.makeStore('mem'), generateMasterKey(), { packTargetSize: 16 * MiB, compressionLevel: 3 });
  await cs.saveBlob('data', randomBytes(MiB)); // warm up code paths and zstd
  const base = process.memoryUsage().rss;
  let peak = base;
  const started = Date.now();
  // Fresh random content refilled in place (saveBlob has consumed the buffer once it resolves), so the
  // figure measures the store, not the test's own garbage.
  const blob = Buffer.alloc(MiB);
  for (let i = 0; i < 200; i++) {
    await cs.saveBlob('data', randomFillSync(blob));
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  await cs.flush();
  peak = Math.max(peak, process.memoryUsage().rss);
  const growth = (peak - base) / MiB;
  const seconds = (Date.now() - started) / 1000;
  console.log(`memory: RSS base ${(base / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, growth ${growth.toFixed(0)} MiB; ${(201 / seconds).toFixed(0)} MiB/s to a local directory`);
  expect(cs.stats()).toMatchObject({ blobsStored: 201, packsUploaded: 13 });
  expect(growth).toBeLessThan(150);
});
