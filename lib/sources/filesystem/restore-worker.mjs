// Restore worker thread (restore-pool.ts): opens the blobs of one pack read and writes them into the
// restore's temp files, and finishes files: re-reads and checks them against their content ids, gives
// them their metadata and renames them into place. The main thread keeps the plan, the pack reads and
// the bookkeeping; the bytes and the per-file system calls are here, with synchronous calls (no promise
// or libuv round trip per call, which was most of a many-small-files restore's main thread).
// Plain JavaScript (starts the same under tsx, vitest, the CLI bundle and the job threads).
// workerData: { encKey: Uint8Array, idKey: Uint8Array, isRoot: boolean, largestBlob: number }
// Protocol, one reply per message:
//   { seq, op: 'restore', buf: SharedArrayBuffer, pack, blobs: [{ id, start, length, rawLength, writes, files }] }
//     Each blob is the sealed box buf[start, start + length). `writes` ({ tmp, position }) go into temp
//     files the main thread created; each of `files` ({ tmp, dest, meta }) is a whole file made of this
//     one blob: created here (O_EXCL), written, finished. Blobs are opened one after the other, each
//     decrypted in place: buf's bytes are destroyed (the caller reads a failed blob again from storage).
//     -> { seq, blobs: [{ error?, integrity?, writes: (string | null)[], files: Finished[] }] }
//        error + integrity: the blob did not open or verify (nothing was written for it; another copy
//        may help). writes[i]: null when written, else the error message.
//   { seq, op: 'finish', tmp, dest, create, pieces: [{ id, length }], meta } -> { seq, ...Finished }
//   { seq, op: 'open', buf: SharedArrayBuffer, pack, blobs: [{ id, start, length, rawLength }], out: ArrayBuffer | SharedArrayBuffer, checkIds }
//     Opens the blobs into `out` (an ArrayBuffer is transferred both ways; shared memory is not sent back),
//     back to back in order; checkIds false skips the plaintext's hash against its id (the caller verifies
//     the bytes end to end).
//     -> { seq, out?, blobs: [{ error?, integrity?, length }] } (a blob that fails takes no room in out)
//   Finished = { error?: string, metadataError?: string }: error means the file is not in place and its
//   temp file was removed; metadataError means it is in place but mode, owner or times could not be set.
//   meta = { mode, uid?, gid?, mtime } (mtime in seconds, also used as atime).
// Errors that are not about one blob or one file (a bug, no memory) reply { seq, fatal: { name, message } }.
import { constants, closeSync, fchmodSync, fchownSync, futimesSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { onJobs } from '../../worker-jobs.mjs';
import { BlobIntegrityError, BlobOpener } from '../../repo/content/open-core.mjs';
import { collectEvery } from '../../gc-on-demand.mjs';

if (!parentPort) throw new Error('restore-worker.mjs runs only as a worker thread');
const port = parentPort;
const opener = new BlobOpener(workerData.encKey, workerData.idKey, workerData.largestBlob);
const isRoot = Boolean(workerData.isRoot);
const { O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
// Decrypting allocates a buffer per 32 KiB piece: collect after every 4 MiB of sealed bytes (gc-on-demand.mjs;
// 16 MiB left ~15 MB more at the 1 GiB bench restore's peak), a full collection every 64 MiB.
const collectGarbage = collectEvery(4 * 1024 * 1024, { majorEvery: 16 });

/** Files are read back through this buffer, in steps of its size. */
const readBack = Buffer.allocUnsafe(1024 * 1024);

onJobs(port, (m) => {
  try {
    if (m.op === 'open') {
      const blobs = openBlobs(m);
      // Shared memory stays where it is (the sender holds it); an ArrayBuffer goes back.
      if (m.out instanceof SharedArrayBuffer) port.postMessage({ seq: m.seq, blobs });
      else port.postMessage({ seq: m.seq, out: m.out, blobs }, [m.out]);
    } else {
      port.postMessage(m.op === 'finish' ? { seq: m.seq, ...finishFile(m) } : { seq: m.seq, blobs: restoreBlobs(m) });
    }
  } catch (err) {
    const e = /** @type {Error} */ (err);
    port.postMessage({ seq: m.seq, fatal: { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack } });
  }
  // After the reply, so the collection overlaps with the main thread's handling of it.
  if (m.blobs) for (const b of m.blobs) collectGarbage(b.length);
});

/**
 * The plaintext of `blob` (its sealed box is bytes[start, start + length)), a view of the opener's scratch
 * memory (or, inPlace, of `bytes`) valid until the next call; or the reason it does not open or verify.
 * Other errors throw. inPlace decrypts over the sealed box: only for a region opened once.
 */
function openOne(bytes, pack, blob, inPlace = false, checkId = true, into = undefined) {
  try {
    return { plaintext: opener.open(bytes.subarray(blob.start, blob.start + blob.length), Buffer.from(blob.id, 'hex'), blob.rawLength, `blob ${blob.id} in pack ${pack}`, inPlace, checkId, into) };
  } catch (err) {
    if (!(err instanceof BlobIntegrityError)) throw err;
    return { error: err.message };
  }
}

function openBlobs({ buf, pack, blobs, out, checkIds = true }) {
  const bytes = Buffer.from(buf);
  const into = Buffer.from(out);
  let at = 0;
  return blobs.map((blob) => {
    // Decompressed straight into place; a stored (uncompressed) payload is copied there.
    const dest = into.subarray(at, at + blob.rawLength);
    const { plaintext, error } = openOne(bytes, pack, blob, false, checkIds, dest);
    if (!plaintext) return { error, integrity: true, length: 0 };
    if (plaintext.buffer !== into.buffer || plaintext.byteOffset !== into.byteOffset + at) plaintext.copy(into, at);
    at += plaintext.length;
    return { length: plaintext.length };
  });
}

function restoreBlobs({ buf, pack, blobs }) {
  const bytes = Buffer.from(buf);
  /** Write handles of this job's temp files, closed at the end. */
  const handles = new Map();
  // Each blob of a restore read is opened exactly once (a failure is read again from the store), so it is
  // decrypted in place. Its plaintext is not hashed here: every file is re-read and hashed against these
  // same ids before it is renamed into place (verify), so hashing here too hashed every byte twice (~0.9 s
  // of CPU in the 1 GiB bench restore). The GCM tag, whose AAD is the id, still authenticates each blob.
  const out = blobs.map((blob) => {
    const { plaintext, error } = openOne(bytes, pack, blob, true, false);
    if (!plaintext) return { error, integrity: true, writes: [], files: [] };
    const writes = blob.writes.map(({ tmp, position }) => {
      try {
        let fd = handles.get(tmp);
        if (fd === undefined) handles.set(tmp, (fd = openSync(tmp, O_WRONLY | O_NOFOLLOW)));
        writeFully(fd, plaintext, position);
        return null;
      } catch (err) {
        return message(err);
      }
    });
    const files = blob.files.map(({ tmp, dest, meta }) => {
      let fd;
      try {
        fd = openSync(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      } catch (err) {
        return { error: message(err) };
      }
      try {
        writeFully(fd, plaintext, 0);
      } catch (err) {
        discard(fd, tmp);
        return { error: message(err) };
      }
      return finishOpen(fd, tmp, dest, [{ id: blob.id, length: plaintext.length }], meta);
    });
    return { writes, files };
  });
  // A failed close is a failed write of that file (the data may not have reached it).
  for (const [tmp, fd] of handles) {
    try {
      closeSync(fd);
    } catch (err) {
      blobs.forEach((blob, i) => blob.writes.forEach((w, j) => {
        if (w.tmp === tmp && out[i].writes[j] === null) out[i].writes[j] = message(err);
      }));
    }
  }
  return out;
}

function finishFile({ tmp, dest, create, pieces, meta }) {
  let fd;
  try {
    fd = openSync(tmp, create ? O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW : O_RDWR | O_NOFOLLOW, 0o600);
  } catch (err) {
    return { error: message(err) };
  }
  return finishOpen(fd, tmp, dest, pieces, meta);
}

/** Checks the file, gives it its metadata, closes it and renames it over `dest`; on failure removes it. */
function finishOpen(fd, tmp, dest, pieces, meta) {
  try {
    verify(fd, pieces);
  } catch (err) {
    discard(fd, tmp);
    return { error: message(err) };
  }
  let metadataError;
  try {
    if (isRoot && meta.uid !== undefined && meta.gid !== undefined) fchownSync(fd, meta.uid, meta.gid);
    fchmodSync(fd, meta.mode & 0o7777);
    futimesSync(fd, meta.mtime, meta.mtime);
  } catch (err) {
    metadataError = message(err);
  }
  try {
    closeSync(fd);
  } catch (err) {
    discard(undefined, tmp);
    return { error: message(err) };
  }
  try {
    renameSync(tmp, dest);
  } catch (err) {
    discard(undefined, tmp);
    return { error: message(err) };
  }
  return metadataError ? { metadataError } : {};
}

/**
 * Re-reads the file and compares each piece's content id and the total length: catches a piece written at
 * the wrong place, a short write, and a blob whose plaintext is not its id's (opened unhashed above).
 * Throws naming the first piece that differs.
 */
function verify(fd, pieces) {
  let position = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    const hash = opener.contentIdHash();
    for (let done = 0; done < piece.length; ) {
      const want = Math.min(readBack.length, piece.length - done);
      const got = readAt(fd, readBack.subarray(0, want), position + done);
      if (got !== want) throw new Error('restored file has the wrong length');
      hash.update(readBack.subarray(0, got));
      done += got;
    }
    if (!timingSafeEqual(hash.digest(), Buffer.from(piece.id, 'hex'))) {
      throw new Error(`restored content does not match the backup (piece ${i + 1} of ${pieces.length})`);
    }
    position += piece.length;
  }
  // One more byte means the file is longer than the backup.
  if (readAt(fd, readBack.subarray(0, 1), position) !== 0) throw new Error('restored file has the wrong length');
}

function readAt(fd, into, position) {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function writeFully(fd, data, position) {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
}

function discard(fd, tmp) {
  try {
    if (fd !== undefined) closeSync(fd);
  } catch {
    /* the file is removed anyway */
  }
  try {
    unlinkSync(tmp);
  } catch {
    /* already gone */
  }
}

function message(err) {
  return err instanceof Error ? err.message : String(err);
}
