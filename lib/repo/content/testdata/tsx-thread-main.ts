// Test fixture (seal.test.ts), run inside a tsx worker thread: saves blobs through a ContentStore with a seal
// worker (a thread started from this thread), flushes, reads them back from a new instance and reports.
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { LocalBlobStore } from '../../../blob';
import { masterKeyFromBytes } from '../../crypto/master-key';
import { ContentStore } from '../store';

const { dir, key: keyBytes } = workerData as { dir: string; key: Uint8Array };
try {
  const key = masterKeyFromBytes(Buffer.from(keyBytes));
  const store = new LocalBlobStore(dir, { fsync: false });
  const config = { packTargetSize: 64 * 1024, compressionLevel: 3, sealWorkers: 1 };
  const cs = await ContentStore.create(store, key, config);
  const blobs = Array.from({ length: 8 }, () => randomBytes(40_000));
  const ids: string[] = [];
  for (const b of blobs) ids.push((await cs.saveBlob('data', b)).id);
  await cs.flush();
  const reader = await ContentStore.create(store, key, config);
  let same = 0;
  for (const [i, id] of ids.entries()) if ((await reader.loadBlob(id)).equals(blobs[i]!)) same++;
  parentPort!.postMessage({ ok: same === blobs.length, blobs: same });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
}
