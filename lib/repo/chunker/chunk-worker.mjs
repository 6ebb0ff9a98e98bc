// Worker thread of ChunkPool (chunk-pool.ts): cuts streams into content-defined chunks (fastcdc-wasm.mjs)
// and computes each chunk's content id (HMAC-SHA-256 with idKey, §6.2), so the thread that walks and stores
// does neither. (Hashing on a second thread measured slower: every chunk crossed the storing thread twice
// more, and its garbage collector paid for each crossing.) Plain JavaScript with no TypeScript imports, so
// it starts the same under tsx, vitest, the CLI bundle and the job threads of worker/thread.ts.
// workerData: { gear: Int32Array, params: { minSize, avgSize, maxSize }, maskS, maskL, idKey: Uint8Array }.
// Protocol, one reply per message, in order; a stream's cut messages all come to one worker:
//   in:  { seq, stream, piece: ArrayBuffer, length }  the stream's next bytes, piece[0, length)
//        { seq, stream, end: true }                   the stream ended: cut its last chunk, forget it
//        { seq, stream, drop: true }                  the reader gave up: forget the stream
//   out: { seq, chunks: ArrayBuffer[], ids: Uint8Array, free: ArrayBuffer[] }
//        the chunks the message completed (each buffer exactly one chunk), their raw content ids (32 bytes
//        each, in order, in one small array), and the piece back (its bytes were copied into the cutter)
//        for reuse; chunks and pieces are transferred, never structured-cloned.
//        Or { seq, chunks: [], ids, free: [], error: { name, message, stack } } when the work threw.
import { createHmac } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { WasmChunkCutter } from './fastcdc-wasm.mjs';

if (!parentPort) throw new Error('chunk-worker.mjs runs only as a worker thread');
const port = parentPort;
const { gear, params, maskS, maskL } = workerData;
const idKey = Buffer.from(workerData.idKey);
// Every chunk gets an ArrayBuffer of its own, so it can be transferred without dragging a pool slab along.
const alloc = (/** @type {number} */ size) => Buffer.allocUnsafeSlow(size);

/** @type {Map<number, WasmChunkCutter>} */
const streams = new Map();
/** Cutters of ended streams, for the next ones (each holds a WebAssembly instance and a 2 * maxSize window). */
/** @type {WasmChunkCutter[]} */
const idle = [];

/** @param {unknown} err */
const describe = (err) => {
  const e = /** @type {Error} */ (err);
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack };
};

port.on('message', cut);

/** @param {{ seq: number, stream: number, piece?: ArrayBuffer, length?: number, end?: boolean, drop?: boolean }} m */
function cut(m) {
  const { seq, stream } = m;
  /** @type {ArrayBuffer[]} */
  const free = [];
  try {
    let cutter = streams.get(stream);
    if (!cutter) streams.set(stream, (cutter = idle.pop() ?? new WasmChunkCutter(gear, params, maskS, maskL, alloc)));
    /** @type {Buffer[]} */
    let chunks = [];
    if (m.piece) {
      chunks = cutter.push(new Uint8Array(m.piece, 0, m.length));
      free.push(m.piece); // copied into the cutter's window
    } else if (m.end) {
      const last = cutter.finish();
      if (last) chunks = [last];
    }
    if (m.end || m.drop) {
      streams.delete(stream);
      cutter.finish(); // resets it (a dropped stream's unfinished chunk is discarded)
      if (idle.length < 2) idle.push(cutter);
    }
    const ids = new Uint8Array(32 * chunks.length);
    for (const [i, chunk] of chunks.entries()) ids.set(createHmac('sha256', idKey).update(chunk).digest(), 32 * i);
    const buffers = chunks.map((c) => c.buffer);
    port.postMessage({ seq, chunks: buffers, ids, free }, [...buffers, ...free]);
  } catch (err) {
    streams.delete(stream);
    port.postMessage({ seq, chunks: [], ids: new Uint8Array(0), free: [], error: describe(err) });
  }
}
