// The restore plan: the snapshot tree (or the part at `from`) walked into flat lists, in tree order, of
// what to create under the target: directories (parents before children), regular files restored with
// data (each carrying the later names of its inode, restored as hard links to it), and other nodes
// (symlinks, FIFOs, devices). Trees are loaded with loadBlob, which serves them from the local tree cache
// when it has them (lib/repo/cache/tree-cache.ts), several at a time: a directory's subtrees start loading
// as soon as it is decoded.
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

export interface PlannedFile extends PlannedLink {
  /** Later names of the same inode, linked to this file once it is restored (NO_LINKS, shared, for most). */
  links: PlannedLink[];
}

/** The links of every file with one name: one shared empty list instead of ~30k. Never pushed to. */
const NO_LINKS: PlannedLink[] = [];

export interface PlannedOther {
  path: string;
  node: Exclude<TreeNode, DirNode | FileNode>;
  parent?: PlannedDir;
}

export interface RestorePlan {
  /** The target directory: the parent of every entry without a planned parent. */
  target: string;
  dirs: PlannedDir[];
  files: PlannedFile[];
  others: PlannedOther[];
  /** Regular file names, hard links included. */
  fileCount: number;
}

/** Tree loads in flight: tree blobs are small, so loading them from the bucket is latency-bound. */
const TREE_LOADS_IN_FLIGHT = 8;

/** A directory whose tree is being read; `entries` once it is. */
interface Listing {
  treeId: string;
  path: string;
  depth: number;
  node?: DirNode;
  entries?: (Listing | { path: string; node: TreeNode })[];
  error?: Error;
}

export async function planRestore(source: TreeSource, rootTree: string, target: string, from = '/', signal?: AbortSignal): Promise<RestorePlan> {
  const trees = new Trees(source, signal);
  const plan = new PlanBuilder(target);
  const start = await locate(trees, rootTree, from);
  if (start.kind === 'node') {
    plan.addLeaf(under(target, start.node.name), start.node, undefined);
    return plan.result;
  }

  /** Reads the listing's tree, then its subdirectories' (concurrently); an unreadable tree is kept as its error. */
  const read = async (listing: Listing): Promise<void> => {
    let tree: Tree;
    try {
      tree = await trees.get(listing.treeId);
    } catch (err) {
      if (signal?.aborted || isAbortError(err)) throw err;
      listing.error = err as Error;
      return;
    }
    const subdirs: Listing[] = [];
    listing.entries = tree.nodes.map((node) => {
      const path = under(listing.path, node.name);
      if (node.type !== 'dir') return { path, node };
      const sub: Listing = { treeId: node.subtree, path, depth: listing.depth + 1, node };
      subdirs.push(sub);
      return sub;
    });
    await Promise.all(subdirs.map(read));
  };
  const root: Listing = { treeId: start.tree, path: target, depth: 0 };
  await read(root);
  if (root.error) throw root.error;

  const visit = (listing: Listing, parent: PlannedDir | undefined) => {
    for (const entry of listing.entries ?? []) {
      if ('treeId' in entry) {
        const dir: PlannedDir = { path: entry.path, node: entry.node!, depth: entry.depth, parent, error: entry.error?.message };
        plan.result.dirs.push(dir);
        visit(entry, dir);
      } else {
        plan.addLeaf(entry.path, entry.node, parent);
      }
    }
  };
  visit(root, undefined);
  return plan.result;
}

/**
 * `dir/name`, sharing `dir`'s string: path.join would build every file's path anew from all its components
 * (~350 bytes each, 6 MB of a 16k-file restore's heap). `name` is one safe component (decodeTree).
 */
function under(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

class PlanBuilder {
  readonly result: RestorePlan;
  /** First name seen of each multiply-linked inode ("dev:inode"). */
  private readonly firstOfInode = new Map<string, PlannedFile>();

  constructor(target: string) {
    this.result = { target, dirs: [], files: [], others: [], fileCount: 0 };
  }

  addLeaf(path: string, node: TreeNode, parent: PlannedDir | undefined): void {
    if (node.type === 'dir') throw new Error('addLeaf: directories are planned by the walk');
    if (node.type !== 'file') {
      this.result.others.push({ path, node, parent });
      return;
    }
    this.result.fileCount++;
    const inodeKey = (node.links ?? 1) > 1 && node.inode !== undefined ? `${node.dev}:${node.inode}` : undefined;
    const first = inodeKey ? this.firstOfInode.get(inodeKey) : undefined;
    if (first) {
      if (first.links === NO_LINKS) first.links = [];
      first.links.push({ path, node: restoreFields(node), parent });
      return;
    }
    const file: PlannedFile = { path, node: restoreFields(node), parent, links: NO_LINKS };
    this.result.files.push(file);
    if (inodeKey) this.firstOfInode.set(inodeKey, file);
  }
}

/**
 * A file node's fields a restore uses. The decoded node also holds ctime, inode, device and owner names
 * (~150 bytes a file); the trees it came from are dropped once planned, so these would be all that keeps them.
 */
function restoreFields(node: FileNode): RestoredFile {
  const { type, name, mode, uid, gid, mtimeNs, size, content } = node;
  return { type, name, mode, uid, gid, mtimeNs, size, content };
}

/** Decoded trees by id, loaded at most TREE_LOADS_IN_FLIGHT at a time, each once. */
class Trees {
  private readonly loaded = new Map<string, Promise<Tree>>();
  private readonly slots = new Slots(TREE_LOADS_IN_FLIGHT);

  constructor(
    private readonly source: TreeSource,
    private readonly signal?: AbortSignal,
  ) {}

  get(id: string): Promise<Tree> {
    let tree = this.loaded.get(id);
    if (!tree) {
      tree = this.slots.run(async () => decodeTree(await this.source.loadBlob(id, this.signal), `tree ${id}`));
      tree.catch(() => {}); // awaited by every caller; this only keeps a shared failure from being "unhandled"
      this.loaded.set(id, tree);
    }
    return tree;
  }
}

/** Finds `from` (an absolute path inside the snapshot): its tree, or the node when it is not a directory. */
async function locate(trees: Trees, rootTree: string, from: string): Promise<{ kind: 'tree'; tree: string } | { kind: 'node'; node: Exclude<TreeNode, DirNode> }> {
  const parts = from.split('/').filter(Boolean);
  let tree = rootTree;
  for (const [i, part] of parts.entries()) {
    const node = (await trees.get(tree)).nodes.find((n) => n.name === part);
    if (!node) throw new RestoreError(`path ${from} is not in this snapshot`);
    if (i === parts.length - 1 && node.type !== 'dir') return { kind: 'node', node };
    if (node.type !== 'dir') throw new RestoreError(`path ${from} is not in this snapshot (${part} is not a directory)`);
    tree = node.subtree;
  }
  return { kind: 'tree', tree };
}
