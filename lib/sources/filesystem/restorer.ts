// Filesystem restorer: writes a snapshot tree (or the subtree at `from`) into a target directory, restoring
// mode, mtime/atime, ownership (when running as root), symlinks, FIFOs and hard links, then re-reads every
// restored file and checks each piece against its content id (the manifest hash), reporting mismatches.
// Never writes outside the target: names come from validated tree nodes (no '/', '.', '..'), directories on
// the way are created or must already be real directories (a symlink there is refused), and files are
// written to a fresh temp name with O_EXCL|O_NOFOLLOW, then renamed over the destination entry.
import { constants, createReadStream } from 'node:fs';
import { chmod, chown, link, lstat, lutimes, mkdir, open, rename, rm, symlink, utimes } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { decodeTree, type FileNode, type TreeNode } from '../../repo/tree';

/** What the restorer needs from a repository. */
export interface RestoreRepo {
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
  /** Hex content id of `data` (keyed hash), to validate what was written. */
  contentIdOf(data: Buffer): string;
}

export type RestoreProgress = { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number; currentPath?: string };
export type RestoreOptions = { from?: string; signal?: AbortSignal; onProgress?: (p: RestoreProgress) => void };
export type RestoreIssue = { path: string; message: string };
export type RestoreResult = { files: number; dirs: number; bytes: number; verifiedFiles: number; errors: RestoreIssue[]; warnings: RestoreIssue[] };

export class RestoreError extends Error {
  name = 'RestoreError';
}

type Loaded = { nodes: TreeNode[] };

export async function restoreTree(repo: RestoreRepo, rootTree: string, target: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const r = new Restorer(repo, opts);
  const start = await r.locate(rootTree, opts.from ?? '/');
  await mkdir(target, { recursive: true });
  await r.assertRealDir(target);
  if (start.kind === 'tree') {
    await r.countTree(start.tree);
    await r.restoreDir(start.tree, target);
  } else {
    r.countNode(start.node);
    await r.restoreNode(start.node, target);
  }
  r.report(undefined, true);
  return r.result;
}

class Restorer {
  readonly result: RestoreResult = { files: 0, dirs: 0, bytes: 0, verifiedFiles: 0, errors: [], warnings: [] };
  private readonly trees = new Map<string, Loaded>();
  private readonly hardLinks = new Map<string, string>();
  private totals = { files: 0, bytes: 0 };
  private lastReport = 0;
  private readonly isRoot = process.getuid?.() === 0;
  private readonly slots = new Slots(8);

  constructor(
    private readonly repo: RestoreRepo,
    private readonly opts: RestoreOptions,
  ) {}

  async tree(id: string): Promise<Loaded> {
    let t = this.trees.get(id);
    if (!t) {
      t = decodeTree(await this.repo.loadBlob(id, this.opts.signal), `tree ${id}`);
      this.trees.set(id, t);
    }
    return t;
  }

  /** Finds `from` (an absolute path inside the snapshot) and returns its tree or node. */
  async locate(rootTree: string, from: string): Promise<{ kind: 'tree'; tree: string } | { kind: 'node'; node: TreeNode }> {
    const parts = from.split('/').filter(Boolean);
    let tree = rootTree;
    for (const [i, part] of parts.entries()) {
      const node = (await this.tree(tree)).nodes.find((n) => n.name === part);
      if (!node) throw new RestoreError(`path ${from} is not in this snapshot`);
      if (i === parts.length - 1 && node.type !== 'dir') return { kind: 'node', node };
      if (node.type !== 'dir' || !node.subtree) throw new RestoreError(`path ${from} is not in this snapshot (${part} is not a directory)`);
      tree = node.subtree;
    }
    return { kind: 'tree', tree };
  }

  async countTree(id: string): Promise<void> {
    for (const node of (await this.tree(id)).nodes) {
      if (node.type === 'dir' && node.subtree) await this.countTree(node.subtree);
      else this.countNode(node);
    }
  }

  countNode(node: TreeNode) {
    if (node.type !== 'file') return;
    this.totals.files++;
    this.totals.bytes += node.size ?? 0;
  }

  report(currentPath?: string, force = false) {
    if (!this.opts.onProgress || (!force && Date.now() - this.lastReport < 250)) return;
    this.lastReport = Date.now();
    this.opts.onProgress({ filesDone: this.result.files, filesTotal: this.totals.files, bytesDone: this.result.bytes, bytesTotal: this.totals.bytes, currentPath });
  }

  async assertRealDir(path: string): Promise<void> {
    const st = await lstat(path);
    if (st.isSymbolicLink()) throw new RestoreError(`refusing to restore through ${path}: it is a symbolic link`);
    if (!st.isDirectory()) throw new RestoreError(`cannot restore into ${path}: it exists and is not a directory`);
  }

  /**
   * Children are restored concurrently: each blob is one ranged GET, so a restore is bound by request
   * latency unless several files are in flight. File work is capped by `slots`; directories recurse freely
   * (their files take slots). Hard-linked files go one by one so the first copy exists before its links.
   */
  async restoreDir(treeId: string, dest: string): Promise<void> {
    const nodes = (await this.tree(treeId)).nodes;
    const linked = nodes.filter((n) => n.type === 'file' && (n.links ?? 1) > 1);
    await Promise.all(
      nodes.filter((n) => !linked.includes(n)).map((n) => (n.type === 'file' ? this.slots.run(() => this.restoreNode(n, dest)) : this.restoreNode(n, dest))),
    );
    for (const n of linked) await this.restoreNode(n, dest);
  }

  async restoreNode(node: TreeNode, parentDir: string): Promise<void> {
    this.opts.signal?.throwIfAborted();
    const dest = join(parentDir, node.name);
    try {
      if (node.type === 'dir') {
        await mkdir(dest).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
        await this.assertRealDir(dest);
        if (node.subtree) await this.restoreDir(node.subtree, dest);
        this.result.dirs++;
      } else if (node.type === 'file') {
        await this.restoreFile(node, dest);
      } else if (node.type === 'symlink') {
        await rm(dest, { force: true });
        await symlink(node.linkTarget ?? '', dest);
      } else if (node.type === 'fifo') {
        await rm(dest, { force: true });
        const res = spawnSync('mkfifo', [dest]);
        if (res.status !== 0) throw new Error(`mkfifo failed: ${res.stderr}`);
      } else {
        this.result.warnings.push({ path: dest, message: `${node.type} not restored (device nodes need mknod)` });
        return;
      }
      await this.applyMetadata(node, dest);
    } catch (err) {
      if (err instanceof RestoreError) throw err;
      this.opts.signal?.throwIfAborted();
      this.result.errors.push({ path: dest, message: (err as Error).message });
    }
  }

  private async restoreFile(node: FileNode, dest: string): Promise<void> {
    const linkKey = (node.links ?? 1) > 1 && node.inode !== undefined ? `${node.dev}:${node.inode}` : null;
    const first = linkKey ? this.hardLinks.get(linkKey) : undefined;
    if (first) {
      await rm(dest, { force: true });
      await link(first, dest);
      this.result.files++;
      return;
    }
    const tmp = join(dest, '..', `.${basename(dest)}.lifeboat-${randomBytes(4).toString('hex')}`);
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    const lengths: number[] = [];
    try {
      for (const id of node.content ?? []) {
        const data = await this.repo.loadBlob(id, this.opts.signal);
        await handle.write(data);
        lengths.push(data.length);
        this.result.bytes += data.length;
        this.report(dest);
      }
    } catch (err) {
      await handle.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await rename(tmp, dest);
    await this.verifyFile(dest, node.content ?? [], lengths);
    if (linkKey) this.hardLinks.set(linkKey, dest);
    this.result.files++;
  }

  /** Re-reads the restored file and checks every piece against its content id. */
  private async verifyFile(path: string, ids: string[], lengths: number[]): Promise<void> {
    const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
    let i = 0;
    let pending: Buffer[] = [];
    let pendingLength = 0;
    for await (const piece of stream as AsyncIterable<Buffer>) {
      pending.push(piece);
      pendingLength += piece.length;
      while (i < lengths.length && pendingLength >= lengths[i]!) {
        const all = Buffer.concat(pending);
        const part = all.subarray(0, lengths[i]!);
        if (this.repo.contentIdOf(part) !== ids[i]) throw new Error(`restored content does not match the backup (piece ${i + 1} of ${ids.length})`);
        const rest = all.subarray(lengths[i]!);
        pending = rest.length ? [rest] : [];
        pendingLength = rest.length;
        i++;
      }
    }
    if (i !== ids.length || pendingLength !== 0) throw new Error('restored file has the wrong length');
    this.result.verifiedFiles++;
  }

  private async applyMetadata(node: TreeNode, dest: string): Promise<void> {
    const mtime = Number(BigInt(node.mtimeNs ?? '0') / 1_000_000n) / 1000;
    if (this.isRoot && node.uid !== undefined && node.gid !== undefined) {
      if (node.type === 'symlink') await import('node:fs/promises').then((fs) => fs.lchown(dest, node.uid!, node.gid!));
      else await chown(dest, node.uid, node.gid);
    }
    if (node.type === 'symlink') {
      await lutimes(dest, mtime, mtime);
      return;
    }
    if (node.mode !== undefined) await chmod(dest, node.mode & 0o7777);
    await utimes(dest, mtime, mtime);
  }
}

/** At most `size` tasks at once; the rest wait in order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
