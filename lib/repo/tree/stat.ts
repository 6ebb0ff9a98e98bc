// Tree nodes from file system metadata, and the "unchanged since the parent snapshot" test of incremental backups.
// nodeFromStat takes the FileStat (file-stat.mjs) of an `fs.lstat(path, { bigint: true })` result (never
// stat: a symlink is stored as a symlink), so nanosecond times, inodes and device numbers are exact. It
// throws UnsupportedFileTypeError for sockets (sources skip them and say so) and TreeFormatError when the
// field a type needs is missing or the name is unsafe. Take the stat BEFORE reading a file's content: if the file changes while it is read, the next
// backup then sees a newer ctime and reads it again. Pure; the id-name lookup is passed in (see id-names.ts).
import { TreeFormatError } from './encode';
import type { FileStat } from './file-stat.mjs';
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
export function nodeTypeOf(stat: FileStat): NodeType | null {
  return stat.kind === 'socket' ? null : stat.kind;
}

export function nodeFromStat(name: string, stat: FileStat, extra: NodeExtra = {}): TreeNode {
  const reason = unsafeNameReason(name);
  if (reason) throw new TreeFormatError(`cannot store ${JSON.stringify(name)}: ${reason}`);
  const type = nodeTypeOf(stat);
  if (!type) throw new UnsupportedFileTypeError(`${JSON.stringify(name)}: sockets cannot be backed up`);
  const { mode, uid, gid } = stat;
  const common = {
    name, mode, uid, gid, user: extra.names?.user(uid), group: extra.names?.group(gid),
    mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, size: stat.size, inode: stat.ino, dev: stat.dev, links: stat.nlink,
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
      return { ...common, type, rdev: stat.rdev };
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
export function sameFile(prev: TreeNode | undefined, stat: FileStat): boolean {
  if (!prev || prev.ctimeNs === undefined || prev.inode === undefined || prev.dev === undefined) return false;
  return (
    prev.type === stat.kind &&
    prev.size === stat.size &&
    prev.mtimeNs === stat.mtimeNs &&
    prev.ctimeNs === stat.ctimeNs &&
    prev.inode === stat.ino &&
    prev.dev === stat.dev
  );
}

/**
 * True when `prev` is exactly the node nodeFromStat would build from `stat` (with prev's own content,
 * subtree or link target and the same name lookup): sameFile, and the same permissions, owner and link
 * count. Those move ctime too, but the owner's names come from the lookup, so they are compared as well.
 * A symlink that passes keeps its target: a link cannot be rewritten in place, only replaced (new inode).
 */
export function sameNode(prev: TreeNode | undefined, stat: FileStat, names?: IdNames): prev is TreeNode {
  return (
    sameFile(prev, stat) &&
    prev!.mode === stat.mode &&
    prev!.uid === stat.uid &&
    prev!.gid === stat.gid &&
    prev!.links === stat.nlink &&
    prev!.user === names?.user(stat.uid) &&
    prev!.group === names?.group(stat.gid) &&
    (prev!.type === 'chardev' || prev!.type === 'blockdev' ? prev!.rdev === stat.rdev : true)
  );
}

function required<T>(value: T | undefined, field: string, name: string, type: NodeType): T {
  if (value === undefined) throw new TreeFormatError(`${JSON.stringify(name)}: a ${type} node needs "${field}"`);
  return value;
}
