// Seal worker thread of the content store's SealPool (seal-pool.ts): compresses and seals blobs with
// seal-core.mjs. Plain JavaScript with no TypeScript imports, so it starts the same under tsx, vitest and the
// job threads of worker/thread.ts. workerData: { encKey: Uint8Array, level: number } (sent once).
// Protocol, one reply per job, in order:
//   in:  { seq, id: Uint8Array (raw content id), input: ArrayBuffer, length, out: ArrayBuffer }
//        input holds the plaintext in [0, length); out has room for maxSealedLength(length) bytes. Both are
//        transferred here and transferred back, so no blob is structured-cloned either way.
//   out: { seq, input, out, sealedLength } with the sealed box in out[0, sealedLength),
//        or { seq, input, out, error: { name, message, stack } } when sealing threw.
import { parentPort, workerData } from 'node:worker_threads';
import { BlobSealer, maxSealedLength } from './seal-core.mjs';
import { collectEvery } from '../../worker-gc.mjs';

if (!parentPort) throw new Error('seal-worker.mjs runs only as a worker thread');
const port = parentPort;
const sealer = new BlobSealer(workerData.encKey, workerData.level);
// Sealing allocates a buffer per 32 KiB piece of the sealed output: collect after every 16 MiB of it
// (worker-gc.mjs). Counting the plaintext instead collected 20 times too often on well-compressed data
// (a pgbench base backup), ~0.5 s of the seal worker's 2 s.
const collectGarbage = collectEvery(16 * 1024 * 1024);

port.on('message', (job) => {
  const { seq, input, length } = job;
  let out = job.out;
  try {
    if (!out || out.byteLength < maxSealedLength(length)) out = new ArrayBuffer(maxSealedLength(length));
    const sealed = sealer.seal(new Uint8Array(input, 0, length), job.id, Buffer.from(out));
    port.postMessage({ seq, input, out, sealedLength: sealed.length }, [input, out]);
    collectGarbage(sealed.length);
  } catch (err) {
    const e = /** @type {Error} */ (err);
    const transfer = [input, out].filter((b) => b instanceof ArrayBuffer);
    port.postMessage({ seq, input, out, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack } }, transfer);
  }
});
