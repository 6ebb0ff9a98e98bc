// Tree nodes from file system metadata, and the "unchanged since the parent snapshot" test of incremental backups.
// nodeFromStat takes `fs.lstat(path, { bigint: true })` results (never stat: a symlink is stored as a symlink),
// so nanosecond times, inodes and device numbers are exact. It throws UnsupportedFileTypeError for sockets
// (sources skip them and say so) and TreeFormatError when the field a type needs is missing or the name is
// unsafe. Take the stat BEFORE reading a file's content: if the file changes while it is read, the next
// backup then sees a newer ctime and reads it again. Pure; the id-name lookup is passed in (see id-names.ts).
import type { BigIntStats } from 'node:fs';
import { TreeFormatError } from './encode';
import type { IdNames } from './id-names';
import { TYPE_BITS, unsafeNameReason, type NodeType, type TreeNode } from './schema';

export class UnsupportedFileTypeError extends Error {
  name = 'UnsupportedFileTypeError';
}

export interface NodeExtra {
  /** Data blob ids of a file's content (required for files). */
  content?: string[];
  /** Tree blob id of a directory's listing (required for directories). */
  subtree?: string;
  /** readlink() result (required for symlinks). */
  linkTarget?: string;
  /** uid/gid -> name lookup; names are omitted without it or when unknown. */
  names?: IdNames;
}

/** The node type of an lstat result, or null for sockets (not stored). */
export function nodeTypeOf(stat: BigIntStats): NodeType | null {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isCharacterDevice()) return 'chardev';
  if (stat.isBlockDevice()) return 'blockdev';
  return null;
}

export function nodeFromStat(name: string, stat: BigIntStats, extra: NodeExtra = {}): TreeNode {
  const reason = unsafeNameReason(name);
  if (reason) throw new TreeFormatError(`cannot store ${JSON.stringify(name)}: ${reason}`);
  const type = nodeTypeOf(stat);
  if (!type) throw new UnsupportedFileTypeError(`${JSON.stringify(name)}: sockets cannot be backed up`);
  const mode = Number(stat.mode);
  const uid = Number(stat.uid);
  const gid = Number(stat.gid);
  const common = {
    name, mode, uid, gid, user: extra.names?.user(uid), group: extra.names?.group(gid),
    mtimeNs: stat.mtimeNs.toString(), ctimeNs: stat.ctimeNs.toString(), size: safeNumber(stat.size, 'size', name),
    inode: stat.ino.toString(), dev: stat.dev.toString(), links: safeNumber(stat.nlink, 'links', name),
  };
  if ((mode & 0o170000) !== TYPE_BITS[type]) throw new TreeFormatError(`${JSON.stringify(name)}: mode 0o${mode.toString(8)} disagrees with type ${type}`);
  switch (type) {
    case 'file':
      return { ...common, type, content: required(extra.content, 'content', name, type) };
    case 'dir':
      return { ...common, type, subtree: required(extra.subtree, 'subtree', name, type) };
    case 'symlink':
      return { ...common, type, linkTarget: required(extra.linkTarget, 'linkTarget', name, type) };
    case 'fifo':
      return { ...common, type };
    case 'chardev':
    case 'blockdev':
      return { ...common, type, rdev: stat.rdev.toString() };
  }
}

/**
 * True when `stat` shows the file `prev` describes is unchanged, so its content ids can be reused without
 * reading it: same type, size, mtime, ctime, inode and device. mtime alone is not enough: it can be set back
 * by anyone (touch -d, tar, rsync -t, cp -p), so a rewritten file may keep its old mtime and size. ctime
 * cannot be set from user space and moves on every content or metadata change, so including it (as restic
 * does) catches those. inode/dev catch a file replaced by another one (an editor's save-by-rename).
 * False whenever `prev` lacks one of these fields. Cost of a false "changed" (e.g. after chmod, or device
 * numbers that change across reboots on some file systems): the file is read and hashed again, no more.
 */
export function sameFile(prev: TreeNode | undefined, stat: BigIntStats): boolean {
  if (!prev || prev.ctimeNs === undefined || prev.inode === undefined || prev.dev === undefined) return false;
  return (
    prev.type === nodeTypeOf(stat) &&
    BigInt(prev.size) === stat.size &&
    prev.mtimeNs === stat.mtimeNs.toString() &&
    prev.ctimeNs === stat.ctimeNs.toString() &&
    prev.inode === stat.ino.toString() &&
    prev.dev === stat.dev.toString()
  );
}

function required<T>(value: T | undefined, field: string, name: string, type: NodeType): T {
  if (value === undefined) throw new TreeFormatError(`${JSON.stringify(name)}: a ${type} node needs "${field}"`);
  return value;
}

function safeNumber(value: bigint, field: string, name: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TreeFormatError(`${JSON.stringify(name)}: ${field} ${value} is too large`);
  return Number(value);
}
