// What a tree node takes from lstat, as plain values: exact nanosecond times and 64-bit ids as decimal
// strings, no BigInts. Plain JavaScript with no TypeScript imports, so the directory-listing worker thread
// (lib/sources/filesystem/dir-list-worker.mjs) builds these with its synchronous lstat calls and they
// cross to the walking thread by structured clone, as cheap as any small object.

/**
 * @typedef {'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket'} FileKind
 * @typedef {{
 *   kind: FileKind, mode: number, uid: number, gid: number, size: number, nlink: number,
 *   mtimeNs: string, ctimeNs: string, ino: string, dev: string, rdev: string,
 * }} FileStat
 */

const S_IFMT = 0o170000;
/** @type {Record<number, FileKind>} */
const KIND_OF_BITS = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o010000: 'fifo', 0o020000: 'chardev', 0o060000: 'blockdev', 0o140000: 'socket' };
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class FileStatError extends Error {
  name = 'FileStatError';
}

/**
 * The FileStat of an `lstat(path, { bigint: true })` result. Throws FileStatError when the size or link
 * count is beyond 2^53 (no tree node can hold it) or the type bits are unknown.
 * @param {import('node:fs').BigIntStats} stat
 * @returns {FileStat}
 */
export function fileStatOf(stat) {
  const mode = Number(stat.mode);
  const kind = KIND_OF_BITS[mode & S_IFMT];
  if (!kind) throw new FileStatError(`unknown file type (mode 0o${mode.toString(8)})`);
  if (stat.size > MAX_SAFE) throw new FileStatError(`size ${stat.size} is too large`);
  if (stat.nlink > MAX_SAFE) throw new FileStatError(`link count ${stat.nlink} is too large`);
  return {
    kind, mode, uid: Number(stat.uid), gid: Number(stat.gid), size: Number(stat.size), nlink: Number(stat.nlink),
    mtimeNs: stat.mtimeNs.toString(), ctimeNs: stat.ctimeNs.toString(), ino: stat.ino.toString(), dev: stat.dev.toString(), rdev: stat.rdev.toString(),
  };
}
