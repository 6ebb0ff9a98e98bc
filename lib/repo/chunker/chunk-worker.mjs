// Worker thread of ChunkPool (chunk-pool.ts): cuts streams into content-defined chunks (fastcdc-wasm.mjs)
// and computes each chunk's content id (HMAC-SHA-256 with idKey, §6.2), so the thread that walks and stores
// does neither. (Hashing on a second thread measured slower: every chunk crossed the storing thread twice
// more, and its garbage collector paid for each crossing.) Plain JavaScript with no TypeScript imports, so
// it starts the same under tsx, vitest, the CLI bundle and the job threads of worker/thread.ts.
// workerData: { gear: Int32Array, params: { minSize, avgSize, maxSize }, maskS, maskL, idKey: Uint8Array }.
// Protocol, one reply per message, in order; a stream's cut messages all come to one worker:
//   in:  { seq, stream, piece: ArrayBuffer, length }  the stream's next bytes, piece[0, length)
//        { seq, stream, path, read }                  the next `read` bytes of a file, read here (opened
//                                                     O_NOFOLLOW on the first message); the reply that
//                                                     meets its end has eof: true and the last chunk, the
//                                                     file is closed, and later reads reply eof, empty
//        { seq, stream, end: true }                   the stream ended: cut its last chunk, forget it
//        { seq, stream, drop: true }                  the reader gave up: forget the stream
//        A piece stream's first message may carry ring: SharedArrayBuffer, and later ones consumed: the
//        ring bytes the caller has released (a running count); its chunks then go into the ring while
//        there is room and come back as { at, length, end } (end: the count that releasing it reaches).
//        A stream's first message also carries first: true. A later message for a stream this worker
//        holds no state for (a restarted worker) is an error, never a fresh start: that would drop the
//        unfinished chunk's bytes.
//   out: { seq, chunks: ArrayBuffer[], ids: Uint8Array, free: ArrayBuffer[], eof }
//        the chunks the message completed (each buffer exactly one chunk), their raw content ids (32 bytes
//        each, in order, in one small array), and the piece back (its bytes were copied into the cutter)
//        for reuse; chunks and pieces are transferred, never structured-cloned.
//        Or { seq, chunks: [], ids, free: [], error: { name, message, stack } } when the work threw.
//   in:  { seq, file: string, limit }  read a small file whole (O_NOFOLLOW) and hash it as one chunk
//   out: { seq, bytes: ArrayBuffer, length, id: Uint8Array }  (bytes transferred, [0, length) is the file)
//        or { seq, tooLarge: true } when it holds more than `limit` bytes, or grew while being read (the
//        caller reads it as a stream instead)
//        or { seq, error: { name, message, code } } (ENOENT, EACCES, ELOOP...: the message is node's)
//   in:  { seq, ping: true }  out: { seq }  (the reader has booted)
import { createHmac } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { onJobs } from '../../worker-jobs.mjs';
import { WasmChunkCutter } from './fastcdc-wasm.mjs';
import { readSmallFileSync } from './small-file.mjs';

if (!parentPort) throw new Error('chunk-worker.mjs runs only as a worker thread');
const port = parentPort;
const { gear, params, maskS, maskL } = workerData;
const idKey = Buffer.from(workerData.idKey);
// A chunk of a file gets an ArrayBuffer of its own, so it can be transferred without dragging a pool slab
// along; a chunk of a piece stream goes into the stream's ring (shared memory, reused) when there is room.
const alloc = (/** @type {number} */ size) => Buffer.allocUnsafeSlow(size);

/**
 * Room for `size` bytes in the stream's ring, contiguous (the ring's tail is skipped when too short), or
 * memory of its own when the chunks not yet released leave no room.
 * @param {Ring} r @param {number} size
 */
function ringAlloc(r, size) {
  let start = r.head;
  const pos = start % r.size;
  if (pos + size > r.size) start += r.size - pos;
  if (start + size - r.consumed > r.size) return alloc(size);
  r.head = start + size;
  const b = Buffer.from(r.sab, start % r.size, size);
  ringEnds.set(b, r.head);
  return b;
}
/** Where the ring's head was right after each ring chunk: releasing that chunk frees the ring up to there. */
const ringEnds = new WeakMap();

/** @typedef {{ sab: SharedArrayBuffer, size: number, head: number, consumed: number }} Ring */
/** @typedef {{ cutter: WasmChunkCutter, fd: number | undefined, eof: boolean, failed: boolean, ring: Ring | undefined }} Stream */
/** @type {Map<number, Stream>} */
const streams = new Map();
/** Cutters of ended streams, for the next ones (each holds a WebAssembly instance and a 2 * maxSize window). */
/** @type {WasmChunkCutter[]} */
const idle = [];

/** @param {unknown} err */
const describe = (err) => {
  const e = /** @type {Error} */ (err);
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack };
};

onJobs(port, (m) => (m.ping ? port.postMessage({ seq: m.seq }) : m.file === undefined ? cut(m) : readSmallFile(m)));

/** @param {{ seq: number, file: string, limit: number }} m */
function readSmallFile(m) {
  const { seq } = m;
  try {
    const r = readSmallFileSync(m.file, m.limit, idKey);
    if (r === 'too large') return port.postMessage({ seq, tooLarge: true });
    port.postMessage({ seq, bytes: r.data.buffer, length: r.data.length, id: new Uint8Array(r.id) }, [r.data.buffer]);
  } catch (err) {
    const e = /** @type {NodeJS.ErrnoException} */ (err);
    port.postMessage({ seq, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), code: e?.code } });
  }
}

/** @param {{ seq: number, stream: number, first?: boolean, piece?: ArrayBuffer, length?: number, path?: string, read?: number, end?: boolean, drop?: boolean }} m */
function cut(m) {
  const { seq, stream } = m;
  /** @type {ArrayBuffer[]} */
  const free = [];
  let s = streams.get(stream);
  try {
    if (!s && m.drop) return port.postMessage({ seq, chunks: [], ids: new Uint8Array(0), free, eof: false });
    if (!s && !m.first) {
      if (m.piece) free.push(m.piece);
      throw new Error(`stream ${stream} is unknown to this chunk worker (was it restarted?): its unfinished chunk is gone`);
    }
    if (!s) {
      const ring = m.ring ? { sab: m.ring, size: m.ring.byteLength, head: 0, consumed: 0 } : undefined;
      const cutter = idle.pop() ?? new WasmChunkCutter(gear, params, maskS, maskL, alloc);
      cutter.alloc = ring ? (/** @type {number} */ size) => ringAlloc(ring, size) : alloc;
      streams.set(stream, (s = { cutter, fd: undefined, eof: false, failed: false, ring }));
    }
    if (s.ring && m.consumed !== undefined) s.ring.consumed = Math.max(s.ring.consumed, m.consumed);
    /** @type {Buffer[]} */
    let chunks = [];
    if (s.failed) {
      if (m.piece) free.push(m.piece);
    } else if (m.piece) {
      chunks = s.cutter.push(new Uint8Array(m.piece, 0, m.length ?? 0));
      free.push(m.piece); // copied into the cutter's window
    } else if (m.path !== undefined && !s.eof) {
      s.fd ??= openSync(m.path, constants.O_RDONLY | constants.O_NOFOLLOW);
      const r = s.cutter.pushFromFile(s.fd, m.read ?? 0);
      chunks = r.chunks;
      if (r.read === 0) {
        s.eof = true;
        const last = s.cutter.finish();
        if (last) chunks.push(last);
        closeFile(s);
      }
    } else if (m.end && !s.eof) {
      const last = s.cutter.finish();
      if (last) chunks = [last];
    }
    if (m.end || m.drop) forget(stream, s);
    const ids = new Uint8Array(32 * chunks.length);
    for (const [i, chunk] of chunks.entries()) ids.set(createHmac('sha256', idKey).update(chunk).digest(), 32 * i);
    // A ring chunk is sent as where it lies and where the ring's head is after it (what releasing it frees).
    const own = [];
    const sent = chunks.map((c) => {
      const end = ringEnds.get(c);
      if (end !== undefined) return { at: c.byteOffset, length: c.length, end };
      own.push(c.buffer);
      return c.buffer;
    });
    port.postMessage({ seq, chunks: sent, ids, free, eof: s.eof }, [...own, ...free]);
  } catch (err) {
    // Reads already sent for this stream must not open the file again: they reply empty until the
    // caller's drop.
    if (s) {
      closeFile(s);
      s.failed = true;
    }
    if (s && (m.end || m.drop)) forget(stream, s);
    port.postMessage({ seq, chunks: [], ids: new Uint8Array(0), free, error: { ...describe(err), code: /** @type {any} */ (err)?.code } }, free);
  }
}

/** @param {number} stream @param {Stream} s */
function forget(stream, s) {
  closeFile(s);
  streams.delete(stream);
  s.cutter.finish(); // resets it; a dropped stream's unfinished chunk is discarded
  s.cutter.alloc = alloc;
  if (idle.length < 2) idle.push(s.cutter);
}

/** @param {Stream} s */
function closeFile(s) {
  if (s.fd !== undefined) closeSync(s.fd);
  s.fd = undefined;
}
