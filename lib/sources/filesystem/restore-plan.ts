// The restore plan, walked as the restore goes: the snapshot tree (or the part at `from`) in tree order, as
// the items to create under the target: directories (before what is in them), regular files restored with
// data, later names of a multiply-linked inode (restored as hard links to its first name), and other nodes
// (symlinks, FIFOs, devices). The walk is a generator, so a restore holds the plan of the files it is
// restoring, not of the whole snapshot: planned all at once, a 32k-file restore held ~21 MB of plan (685
// bytes a file) before its first write, and its heap grew with the file count.
// Trees are loaded with loadBlob, which serves them from the local tree cache when it has them
// (lib/repo/cache/tree-cache.ts), several at a time and ahead of the walk, in the order it will visit them.
// Every path is inside the target: names come from decodeTree, which rejects anything that is not a
// single safe path component.
import { isAbortError } from '../../blob';
import { Slots } from '../../concurrency';
import { decodeTree, type DirNode, type FileNode, type Tree, type TreeNode } from '../../repo/tree';
import { RestoreError } from './restore-types';

/** What planning needs from a repository. */
export interface TreeSource {
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
}

export interface PlannedDir {
  path: string;
  node: DirNode;
  /** 1 for a directory directly under the target. */
  depth: number;
  parent?: PlannedDir;
  /** Why its contents could not be listed (its tree blob is unreadable); it is created, but empty. */
  error?: string;
}

/** What restoring a regular file needs of its node (restoreFields: the plan keeps no more, a restore holds one per file). */
export type RestoredFile = Pick<FileNode, 'type' | 'name' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'size' | 'content'>;

export interface PlannedLink {
  path: string;
  node: RestoredFile;
  parent?: PlannedDir;
}

/** What became of a file's inode; later names of it (which may come batches later) follow it. */
export type FileOutcome = { kind: 'placed' } | { kind: 'failed'; message: string } | { kind: 'skipped' };

export interface PlannedFile extends PlannedLink {
  /** Later names of the same inode seen so far, linked to this file once it is restored (NO_LINKS, shared, for most). */
  links: PlannedLink[];
  /** Set by the restorer once the file is restored, has failed, or was skipped (no usable name yet). */
  outcome?: FileOutcome;
}

/** The links of every file with one name: one shared empty list instead of ~30k. Never pushed to. */
export const NO_LINKS: PlannedLink[] = [];

export interface PlannedOther {
  path: string;
  node: Exclude<TreeNode, DirNode | FileNode>;
  parent?: PlannedDir;
}

/** One step of the walk, in tree order. */
export type PlanItem =
  | { kind: 'dir'; dir: PlannedDir }
  | { kind: 'file'; file: PlannedFile }
  /** A later name of an inode whose first name (`first`) came earlier in the walk. */
  | { kind: 'link'; link: PlannedLink; first: PlannedFile }
  | { kind: 'other'; other: PlannedOther };

/** Tree loads in flight: tree blobs are small, so loading them from the bucket is latency-bound. */
const TREE_LOADS_IN_FLIGHT = 8;
/** Trees loaded (or loading) ahead of the walk, not visited yet: what bounds the walk's own memory. */
const TREES_AHEAD = 64;

/**
 * Walks the snapshot tree at `from` (a directory or a single node) into plan items, in tree order. An
 * unreadable tree below the start is the item of its directory (`error`); an unreadable start rejects.
 */
export async function* walkRestorePlan(source: TreeSource, rootTree: string, target: string, from = '/', signal?: AbortSignal): AsyncGenerator<PlanItem, void, undefined> {
  const loader = new TreeLoader(source, signal);
  const names = new InodeNames();
  const start = await locate(loader, rootTree, from);
  if (start.kind === 'node') {
    yield names.leaf(under(target, start.node.name), start.node, undefined);
    return;
  }
  // Depth first without recursion (a yield* per level would pass every item through each level's generator).
  type Frame = { nodes: readonly TreeNode[]; next: number; path: string; depth: number; dir?: PlannedDir; subdirs: TreeRef[]; nextSubdir: number };
  const enter = (tree: Tree, path: string, depth: number, dir?: PlannedDir): Frame => {
    const subdirs = tree.nodes.flatMap((n) => (n.type === 'dir' ? [{ id: n.subtree, taken: false }] : []));
    loader.want(subdirs);
    return { nodes: tree.nodes, next: 0, path, depth, dir, subdirs, nextSubdir: 0 };
  };
  const stack: Frame[] = [enter(await loader.load(start.tree), target, 0)];
  while (stack.length > 0) {
    const frame = stack.at(-1)!;
    const node = frame.nodes[frame.next++];
    if (!node) {
      stack.pop();
      continue;
    }
    const path = under(frame.path, node.name);
    if (node.type !== 'dir') {
      yield names.leaf(path, node, frame.dir);
      continue;
    }
    let tree: Tree | undefined;
    let error: string | undefined;
    try {
      tree = await loader.take(frame.subdirs[frame.nextSubdir++]!);
    } catch (err) {
      if (signal?.aborted || isAbortError(err)) throw err;
      error = (err as Error).message;
    }
    const dir: PlannedDir = { path, node, depth: frame.depth + 1, parent: frame.dir, error };
    yield { kind: 'dir', dir };
    if (tree) stack.push(enter(tree, path, dir.depth, dir));
  }
}

/**
 * `dir/name`, sharing `dir`'s string: path.join would build every file's path anew from all its components
 * (~350 bytes each, 6 MB of a 16k-file restore's heap). `name` is one safe component (decodeTree).
 */
function under(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Tells the first name of each multiply-linked inode from its later ones. */
class InodeNames {
  /** First name seen of each multiply-linked inode ("dev:inode"). */
  private readonly firstOfInode = new Map<string, PlannedFile>();

  leaf(path: string, node: Exclude<TreeNode, DirNode>, parent: PlannedDir | undefined): PlanItem {
    if (node.type !== 'file') return { kind: 'other', other: { path, node, parent } };
    const inodeKey = (node.links ?? 1) > 1 && node.inode !== undefined ? `${node.dev}:${node.inode}` : undefined;
    const first = inodeKey ? this.firstOfInode.get(inodeKey) : undefined;
    if (first) return { kind: 'link', link: { path, node: restoreFields(node), parent }, first };
    const file: PlannedFile = { path, node: restoreFields(node), parent, links: NO_LINKS };
    if (inodeKey) this.firstOfInode.set(inodeKey, file);
    return { kind: 'file', file };
  }
}

/**
 * A file node's fields a restore uses. The decoded node also holds ctime, inode, device and owner names
 * (~150 bytes a file); the trees it came from are dropped once walked, so these would be all that keeps them.
 */
function restoreFields(node: FileNode): RestoredFile {
  const { type, name, mode, uid, gid, mtimeNs, size, content } = node;
  return { type, name, mode, uid, gid, mtimeNs, size, content };
}

/** A subdirectory's tree the walk will visit. */
interface TreeRef {
  readonly id: string;
  /** Loading ahead of the walk (until taken). */
  load?: Promise<Tree>;
  taken: boolean;
}

/**
 * Loads trees ahead of the walk, in the order it will visit them, at most TREES_AHEAD not visited yet and
 * TREE_LOADS_IN_FLIGHT at a time. A tree met twice (identical directories) is loaded twice: holding every
 * tree for reuse is what the walk avoids.
 */
class TreeLoader {
  /** A stack: the top is the next tree the walk will visit. */
  private readonly wanted: TreeRef[] = [];
  private ahead = 0;
  private readonly slots = new Slots(TREE_LOADS_IN_FLIGHT);

  constructor(
    private readonly source: TreeSource,
    private readonly signal?: AbortSignal,
  ) {}

  /** The subdirectories of the directory the walk just entered, in order: the first is visited next. */
  want(refs: readonly TreeRef[]): void {
    for (let i = refs.length - 1; i >= 0; i--) this.wanted.push(refs[i]!);
    this.pump();
  }

  /** The walk visits `ref` now. */
  take(ref: TreeRef): Promise<Tree> {
    ref.taken = true;
    const tree = ref.load ?? this.load(ref.id);
    if (ref.load) {
      ref.load = undefined;
      this.ahead--;
    }
    this.pump();
    return tree;
  }

  load(id: string): Promise<Tree> {
    return this.slots.run(async () => decodeTree(await this.source.loadBlob(id, this.signal), `tree ${id}`));
  }

  private pump(): void {
    while (this.ahead < TREES_AHEAD && this.wanted.length > 0) {
      const ref = this.wanted.pop()!;
      if (ref.taken) continue;
      ref.load = this.load(ref.id);
      ref.load.catch(() => {}); // taken (and awaited) later, or abandoned with the walk
      this.ahead++;
    }
  }
}

/** Finds `from` (an absolute path inside the snapshot): its tree, or the node when it is not a directory. */
async function locate(loader: TreeLoader, rootTree: string, from: string): Promise<{ kind: 'tree'; tree: string } | { kind: 'node'; node: Exclude<TreeNode, DirNode> }> {
  const parts = from.split('/').filter(Boolean);
  let tree = rootTree;
  for (const [i, part] of parts.entries()) {
    const node = (await loader.load(tree)).nodes.find((n) => n.name === part);
    if (!node) throw new RestoreError(`path ${from} is not in this snapshot`);
    if (i === parts.length - 1 && node.type !== 'dir') return { kind: 'node', node };
    if (node.type !== 'dir') throw new RestoreError(`path ${from} is not in this snapshot (${part} is not a directory)`);
    tree = node.subtree;
  }
  return { kind: 'tree', tree };
}
