// A small file read whole with synchronous calls (not following a symlink put in its place) and hashed as
// one chunk. The small-file reader thread (chunk-worker.mjs) runs it, and so does ChunkPool on the calling
// thread while that reader boots. Synchronous: through promises, open, fstat, read and close cost the
// calling thread ~30 us each; in the page cache the calls themselves take a few.
// Plain JavaScript: worker scripts load it the same under tsx, vitest and the bundle.
import { createHmac } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

const probe = Buffer.alloc(1);

/**
 * The file's bytes and raw content id (HMAC-SHA-256 with idKey), or 'too large' when it is, or grew,
 * past `limit` bytes (it is then read as a stream). Throws node's error (code and message) when it
 * cannot be read.
 * @param {string} path @param {number} limit @param {Uint8Array} idKey
 * @returns {{ data: Buffer, id: Buffer } | 'too large'}
 */
export function readSmallFileSync(path, limit, idKey) {
  // O_NONBLOCK: a file swapped for a FIFO since it was listed must not block this thread in open().
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is no longer a regular file`), { code: 'EFTYPE' });
    const size = st.size;
    if (size > limit) return 'too large';
    const buf = Buffer.allocUnsafeSlow(size);
    let length = 0;
    for (let n; length < size && (n = readSync(fd, buf, length, size - length, null)) > 0; ) length += n;
    if (readSync(fd, probe, 0, 1, null) > 0) return 'too large';
    const data = buf.subarray(0, length);
    return { data, id: createHmac('sha256', idKey).update(data).digest() };
  } finally {
    closeSync(fd);
  }
}
