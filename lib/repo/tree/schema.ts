// Tree node schema (docs/repository-format.md §9): one entry of a directory listing inside a tree blob.
// Guarantees of a parsed node: `name` is a safe single path component (non-empty, not "." or "..", no "/",
// no NUL, well-formed Unicode), so a restore joining names under its target cannot be steered outside it;
// the mode's file-type bits agree with `type`; each type carries the field it needs (file: content,
// dir: subtree, symlink: linkTarget, devices: rdev). 64-bit kernel values (times in ns, inode, dev, rdev)
// are decimal strings so no precision is lost. Unknown fields are ignored. Pure and stateless.
import { z } from 'zod';

export const NODE_TYPES = ['file', 'dir', 'symlink', 'fifo', 'chardev', 'blockdev'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/** st_mode file-type bits (S_IFMT) per node type. */
export const S_IFMT = 0o170000;
export const TYPE_BITS: Record<NodeType, number> = {
  file: 0o100000, dir: 0o040000, symlink: 0o120000, fifo: 0o010000, chardev: 0o020000, blockdev: 0o060000,
};

/** Why `name` is not a safe path component, or null when it is. */
export function unsafeNameReason(name: string): string | null {
  if (name === '') return 'name must not be empty';
  if (name === '.' || name === '..') return `name must not be "${name}"`;
  if (name.includes('/')) return 'name must not contain "/"';
  if (name.includes('\0')) return 'name must not contain NUL';
  if (!(name as string & { isWellFormed(): boolean }).isWellFormed()) return 'name must be well-formed Unicode (it holds a lone surrogate)';
  return null;
}

const safeName = z.string().superRefine((name, ctx) => {
  const reason = unsafeNameReason(name);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
});
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const UINT_RE = /^(0|[1-9][0-9]{0,19})$/;
const UINT_MSG = 'must be an unsigned integer as a decimal string';
const uintString = z.string().regex(UINT_RE, UINT_MSG);
const NS_RE = /^(0|-?[1-9][0-9]{0,19})$/;
const nsString = z.string().regex(NS_RE, 'must be nanoseconds since the epoch as a decimal string');
const ID_RE = /^[0-9a-f]{64}$/;
const ID_MSG = 'must be a content id (64 lowercase hex characters)';
const blobId = z.string().regex(ID_RE, ID_MSG);

const common = {
  name: safeName,
  mode: z.number().int().min(0).max(0o177777),
  uid: uint.optional(),
  gid: uint.optional(),
  user: z.string().optional(),
  group: z.string().optional(),
  mtimeNs: nsString,
  ctimeNs: nsString.optional(),
  size: uint,
  inode: uintString.optional(),
  dev: uintString.optional(),
  links: uint.optional(),
};

const content = z.array(blobId, { error: 'files need "content" (a list of data blob ids, empty for an empty file)' });
const subtree = z.string({ error: 'directories need "subtree" (a tree blob id)' }).regex(ID_RE, ID_MSG);
const linkTarget = z.string({ error: 'symlinks need "linkTarget"' })
  .min(1, 'linkTarget must not be empty')
  .refine((t) => !t.includes('\0'), 'linkTarget must not contain NUL');
const rdev = z.string({ error: 'devices need "rdev"' }).regex(UINT_RE, UINT_MSG);

const fileNode = z.object({ ...common, type: z.literal('file'), content });
const dirNode = z.object({ ...common, type: z.literal('dir'), subtree });
const symlinkNode = z.object({ ...common, type: z.literal('symlink'), linkTarget });
const fifoNode = z.object({ ...common, type: z.literal('fifo') });
const chardevNode = z.object({ ...common, type: z.literal('chardev'), rdev });
const blockdevNode = z.object({ ...common, type: z.literal('blockdev'), rdev });

export const treeNodeSchema = z
  .discriminatedUnion('type', [fileNode, dirNode, symlinkNode, fifoNode, chardevNode, blockdevNode], {
    error: (i) => (i.code === 'invalid_union' ? `type must be one of ${NODE_TYPES.join(', ')}` : undefined),
  })
  .superRefine((node, ctx) => {
    if ((node.mode & S_IFMT) !== TYPE_BITS[node.type]) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: `mode 0o${node.mode.toString(8)} does not have the file-type bits of a ${node.type}` });
    }
  });

export const treeSchema = z.object({ nodes: z.array(treeNodeSchema) });

/**
 * True when `value` is a tree that treeSchema accepts unchanged: only known fields, all valid. A quick
 * check for the common case (zod took ~15% of an unchanged re-backup); anything else (an unknown field to
 * strip, an invalid node to describe) goes through treeSchema. Never true where treeSchema would fail
 * (encode.test.ts checks both against the same inputs).
 */
export function isPlainValidTree(value: unknown): value is Tree {
  if (!isRecord(value) || !Array.isArray(value.nodes)) return false;
  for (const k in value) if (k !== 'nodes') return false;
  for (const node of value.nodes) if (!isPlainValidNode(node)) return false;
  return true;
}

const TYPE_FIELDS: Record<NodeType, string | null> = { file: 'content', dir: 'subtree', symlink: 'linkTarget', fifo: null, chardev: 'rdev', blockdev: 'rdev' };
const COMMON_FIELDS = new Set(['type', ...Object.keys(common)]);

// Hoisted: this runs for every node of every tree encoded or decoded (16k nodes per re-backup of the bench).
const isUint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isOptUint = (v: unknown) => v === undefined || isUint(v);
const isOptString = (v: unknown) => v === undefined || typeof v === 'string';
const matches = (v: unknown, re: RegExp) => typeof v === 'string' && re.test(v);
const isId = (v: unknown) => matches(v, ID_RE);

function isPlainValidNode(n: unknown): boolean {
  if (!isRecord(n)) return false;
  const type = n.type as NodeType;
  if (typeof type !== 'string' || !Object.hasOwn(TYPE_FIELDS, type)) return false;
  const own = TYPE_FIELDS[type];
  for (const k of Object.keys(n)) if (k !== own && !COMMON_FIELDS.has(k)) return false;
  if (typeof n.name !== 'string' || unsafeNameReason(n.name) !== null) return false;
  if (!Number.isInteger(n.mode) || (n.mode as number) < 0 || (n.mode as number) > 0o177777 || ((n.mode as number) & S_IFMT) !== TYPE_BITS[type]) return false;
  if (!isOptUint(n.uid) || !isOptUint(n.gid) || !isOptUint(n.links) || !isUint(n.size)) return false;
  if (!isOptString(n.user) || !isOptString(n.group)) return false;
  if (!matches(n.mtimeNs, NS_RE) || (n.ctimeNs !== undefined && !matches(n.ctimeNs, NS_RE))) return false;
  if ((n.inode !== undefined && !matches(n.inode, UINT_RE)) || (n.dev !== undefined && !matches(n.dev, UINT_RE))) return false;
  switch (type) {
    case 'file':
      return Array.isArray(n.content) && n.content.every(isId);
    case 'dir':
      return isId(n.subtree);
    case 'symlink':
      return typeof n.linkTarget === 'string' && n.linkTarget.length > 0 && !n.linkTarget.includes('\0');
    case 'fifo':
      return true;
    default:
      return matches(n.rdev, UINT_RE);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type TreeNode = z.output<typeof treeNodeSchema>;
export type FileNode = Extract<TreeNode, { type: 'file' }>;
export type DirNode = Extract<TreeNode, { type: 'dir' }>;
export type Tree = { nodes: TreeNode[] };

/** Field order of the canonical encoding (§9); fields absent from a node are omitted. */
export const NODE_KEY_ORDER = [
  'name', 'type', 'mode', 'uid', 'gid', 'user', 'group', 'mtimeNs', 'ctimeNs', 'size', 'inode', 'dev', 'links',
  'rdev', 'linkTarget', 'subtree', 'content',
] as const;
