// Checks a restored file on disk against the snapshot: re-reads it and compares each piece's content id
// (the keyed hash the backup recorded) and the total length. Blobs were verified when decrypted; this
// catches what can go wrong after that: a write at a wrong offset, a short or lost write, a file changed
// while the restore ran. Reads through the handle the file was written with (opened read-write), which
// saves an open, a stat and a close per file: a restore of many small files is bound by such calls.
import type { FileHandle } from 'node:fs/promises';

export interface Piece {
  id: string;
  length: number;
}

/** Throws an Error naming the first piece that differs, or saying the length is wrong. */
export async function verifyRestoredFile(handle: FileHandle, pieces: readonly Piece[], contentIdOf: (data: Buffer) => string, signal?: AbortSignal): Promise<void> {
  let buffer = Buffer.alloc(1); // reused, grown to the largest piece (+1)
  let position = 0;
  for (const [i, piece] of pieces.entries()) {
    signal?.throwIfAborted();
    // The last read asks for one byte more: getting it means the file is longer than the backup.
    const want = i === pieces.length - 1 ? piece.length + 1 : piece.length;
    if (buffer.length < want) buffer = Buffer.allocUnsafe(want);
    const got = await readAt(handle, buffer.subarray(0, want), position);
    if (got !== piece.length) throw new Error('restored file has the wrong length');
    if (contentIdOf(buffer.subarray(0, piece.length)) !== piece.id) throw new Error(`restored content does not match the backup (piece ${i + 1} of ${pieces.length})`);
    position += piece.length;
  }
  if (pieces.length === 0 && (await readAt(handle, buffer, 0)) !== 0) throw new Error('restored file has the wrong length');
}

/** Fills `into` from `position`, or fewer bytes at the end of the file (a short read of a regular file means end of file). */
async function readAt(handle: FileHandle, into: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < into.length) {
    const asked = into.length - got;
    const { bytesRead } = await handle.read(into, got, asked, position + got);
    got += bytesRead;
    if (bytesRead < asked) break;
  }
  return got;
}
