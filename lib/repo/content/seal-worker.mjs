// Seal worker thread of the content store's SealPool (seal-pool.ts): compresses and seals blobs with
// seal-core.mjs. Plain JavaScript with no TypeScript imports, so it starts the same under tsx, vitest and the
// job threads of worker/thread.ts. workerData: { encKey: Uint8Array, level: number } (sent once).
// Protocol, one reply per job, in order:
//   in:  { seq, id: Uint8Array (raw content id), input: ArrayBuffer | SharedArrayBuffer, offset?, length, out?: ArrayBuffer, keep?: true }
//        input holds the plaintext in [offset (default 0), offset + length). An ArrayBuffer is transferred here
//        and goes back with the reply for reuse unless `keep` (a chunk handed over by the chunker: the storing
//        thread has no use for it, and every buffer it receives costs it garbage-collection work). Shared
//        memory is read in place (the sender keeps it unchanged until the reply) and not sent back.
//   out: { seq, input?, out, sealedLength }: the sealed box is out[0, sealedLength): in the `out` sent along
//        when it has room for maxSealedLength(length) bytes, else in a new buffer of exactly the box's size
//        (transferred); or { seq, input?, out?, error: { name, message, stack } } when sealing threw.
//   Nothing is structured-cloned either way.
import { parentPort, workerData } from 'node:worker_threads';
import { onJobs } from '../../worker-jobs.mjs';
import { BlobSealer, maxSealedLength } from './seal-core.mjs';
import { collectEvery } from '../../gc-on-demand.mjs';

if (!parentPort) throw new Error('seal-worker.mjs runs only as a worker thread');
const port = parentPort;
const sealer = new BlobSealer(workerData.encKey, workerData.level);
// Sealing allocates a buffer per 32 KiB piece of the sealed output: collect after every 16 MiB of it
// (gc-on-demand.mjs). Counting the plaintext instead collected 20 times too often on well-compressed data
// (a pgbench base backup), ~0.5 s of the seal worker's 2 s.
const collectGarbage = collectEvery(16 * 1024 * 1024);

/** Each sealed box gets an ArrayBuffer of its own, exactly its size, to be transferred. */
const ownBuffer = (/** @type {number} */ size) => Buffer.allocUnsafeSlow(size);

onJobs(port, (job) => {
  const { seq, input, length, keep } = job;
  const back = keep || input instanceof SharedArrayBuffer ? undefined : input;
  try {
    const room = job.out instanceof ArrayBuffer && job.out.byteLength >= maxSealedLength(length);
    const sealed = sealer.seal(new Uint8Array(input, job.offset ?? 0, length), job.id, room ? Buffer.from(job.out) : undefined, ownBuffer);
    const out = sealed.buffer;
    port.postMessage({ seq, input: back, out, sealedLength: sealed.length }, back ? [back, out] : [out]);
    collectGarbage(sealed.length);
  } catch (err) {
    const e = /** @type {Error} */ (err);
    const transfer = [back, job.out].filter((b) => b instanceof ArrayBuffer);
    port.postMessage({ seq, input: back, out: job.out, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack } }, transfer);
  }
});
