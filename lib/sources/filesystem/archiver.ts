// Filesystem archiver: walks the given absolute paths and stores them as a tree of tree blobs and data
// blobs (docs/repository-format.md §9). The root tree mirrors the absolute paths (/var/www is root ->
// var -> www). Streams every file through the repository's chunker, so memory stays flat whatever the
// file sizes. Incremental by default: a file whose metadata matches the parent snapshot's node (sameFile)
// is not re-read; `full` re-reads and re-hashes everything. Unreadable entries are recorded in `errors`
// and skipped; the backup goes on (the caller marks the snapshot partial). Aborts reject with the reason.
import { lstat, readlink } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { HashedChunk, PieceReader, SmallFile } from '../../repo/chunker/chunk-pool';
import type { SaveHints } from '../../repo/content/types';
import { saveHashedChunk } from '../../repo/save-chunk';
import { StoredBytesTally } from '../../repo/content/stored-tally';
import { encodeTree, fileStatOf, loadIdNames, nodeFromStat as rawNodeFromStat, sameFile, sameNode, type FileStat, type IdNames, type TreeNode } from '../../repo/tree';
import { Slots } from '../../concurrency';
import { dirLister, type EntryStat } from './dir-lister';
import { ParentTrees } from './parent-trees';
import { excludeMatcher, includeMatcher, type ExcludeMatcher } from './excludes';
import { scanTotals, type ScanTotals } from './scan';

/**
 * `dir/name` for a normalized absolute `dir` and a name from readdir: what path.join gives, without
 * re-normalizing every component of every path of the walk (several per entry: ~0.1 s of a 16k-file walk).
 */
function childPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export type BlobType = 'data' | 'tree';

/** What the archiver needs from a repository. */
export interface ArchiveRepo {
  /** Resolves once the blob is queued; storedLength (its sealed size) follows when it is sealed and packed. */
  saveBlob(type: BlobType, data: Buffer, signal?: AbortSignal, hints?: SaveHints): Promise<{ id: string; stored: boolean; storedLength: Promise<number> }>;
  loadBlob(id: string, signal?: AbortSignal): Promise<Buffer>;
  hasBlob(id: string): boolean;
  /** Content-defined chunks with their content ids, cut and hashed on worker threads. */
  hashedChunks(source: PieceReader | { path: string }, signal?: AbortSignal): AsyncIterable<HashedChunk>;
  /** A file of at most `limit` bytes read whole and hashed as one chunk ('too large' past it). */
  smallFile(path: string, limit: number): Promise<SmallFile>;
  /** A file shorter than minSize is one chunk: read with smallFile, not streamed through the cutter. */
  readonly config: { chunker: { minSize: number } };
}

export type ArchiveProgress = { filesDone: number; bytesDone: number; filesTotal?: number; bytesTotal?: number; currentPath?: string };
export type ArchiveError = { path: string; message: string };

export type ArchiveOptions = {
  paths: string[];
  excludes?: string[];
  /** When given, only files matching one of these globs are stored (config sources: "/etc/nginx/**"). */
  includes?: string[];
  oneFileSystem?: boolean;
  /** Root tree of the parent snapshot; files unchanged since it are not re-read unless `full`. */
  parentTree?: string | null;
  full?: boolean;
  /**
   * Progress totals to assume (the parent snapshot's files and bytes) instead of a pre-scan: the scan
   * lstat's every entry a second time, which made an unchanged re-backup of 16k files take 1.7 s
   * instead of 1.0 s. Totals are raised to what is done when the data grew.
   */
  estimate?: ScanTotals;
  signal?: AbortSignal;
  onProgress?: (p: ArchiveProgress) => void;
};

export type ArchiveSummary = {
  files: number;
  dirs: number;
  bytes: number;
  newFiles: number;
  changedFiles: number;
  unchangedFiles: number;
  newBlobs: number;
  addedBytes: number;
  errors: ArchiveError[];
};

export type ArchiveResult = { tree: string; summary: ArchiveSummary };

/** Directory entries stat'ed (on the lister's thread) and walked at a time: memory stays bounded in huge directories. */
const STAT_WINDOW = 1024;
/** Files up to this size are read whole, ahead of the walk (at most PREREAD_BUDGET of them held). */
const SMALL_FILE = 256 * 1024;
const PREREADS_IN_FLIGHT = 16;
/** Bytes of small files read ahead and not consumed yet, at most (beyond it files are read when reached). */
const PREREAD_BUDGET = 16 * 1024 * 1024;
/**
 * Subdirectories listed, stat'ed and pre-read ahead of the walk. Without it each directory's first changed
 * file waited for its own read round trip: a re-backup after changing 5% of 16k small files spent ~40%
 * of its time idle.
 */
const DIRS_AHEAD = 8;
/**
 * In a re-backup, changed files too large to pre-read are stored while the walk goes on, one at a time
 * (the chunk worker cuts one stream at a time anyway), at most LARGE_FILES_PENDING started or queued (then
 * the walk waits). A directory's tree is written once all its entries are stored, and the walk does not
 * wait for that either: its parent takes the directory's node when it is ready. Stored inline, a large
 * changed file held the walk up for as long as the chunk worker took to read and hash it (plus the
 * worker's boot): ~0.4 s of a 2.2 s re-backup after changing 5% of the bench's files. Memory: the
 * directories waiting for a file (and their ancestors) keep their nodes until then.
 */
const LARGE_FILES_IN_FLIGHT = 1;
const LARGE_FILES_PENDING = 8;

/** A directory's sorted, non-excluded names and the lstat of its first STAT_WINDOW of them. */
type Listing = { names: string[]; stats: (FileStat | null)[] };

export async function archive(repo: ArchiveRepo, opts: ArchiveOptions): Promise<ArchiveResult> {
  const roots = normalizeRoots(opts.paths);
  const excluded = excludeMatcher(opts.excludes ?? []);
  const included = opts.includes?.length ? includeMatcher(opts.includes) : null;
  const a = new Archiver(repo, opts, excluded, included, await loadIdNames());
  a.totals = opts.estimate;
  const totals = opts.estimate ? undefined : scanTotals(roots, { excluded, oneFileSystem: !!opts.oneFileSystem, signal: opts.signal }).then(
    (t) => (a.totals = t),
    () => undefined,
  );
  const tree = await a.saveVirtual('/', roots, opts.parentTree ?? null);
  a.summary.addedBytes = await a.added.settled();
  await totals;
  a.report(undefined, true);
  return { tree, summary: a.summary };
}

/** Absolute, normalised, de-duplicated paths with nested ones dropped (/a/b is inside /a). */
export function normalizeRoots(paths: string[]): string[] {
  if (paths.length === 0) throw new Error('no paths to back up');
  const abs = [...new Set(paths.map((p) => resolve(p)))].sort();
  return abs.filter((p) => !abs.some((q) => q !== p && (q === '/' || p.startsWith(q + sep))));
}

type NodeExtra = Parameters<typeof rawNodeFromStat>[2];

class Archiver {
  totals: ScanTotals | undefined;
  readonly summary: ArchiveSummary = { files: 0, dirs: 0, bytes: 0, newFiles: 0, changedFiles: 0, unchangedFiles: 0, newBlobs: 0, addedBytes: 0, errors: [] };
  private lastReport = 0;
  private readonly preread = new Map<string, { file: Promise<SmallFile>; size: number }>();
  private prereadBytes = 0;
  /** Listings started ahead of the walk, by path. */
  private readonly listed = new Map<string, Promise<Listing>>();
  private readonly readSlots = new Slots(PREREADS_IN_FLIGHT);
  private readonly largeFileSlots = new Slots(LARGE_FILES_IN_FLIGHT);
  /**
   * Re-backups only: a first or full backup reads every file, its workers are busy anyway, and storing a
   * large file while the walk reads small ones raised its peak RSS at 2 GiB from 265-294 MB to 313 MB.
   */
  private readonly largeFilesInBackground: boolean;
  private largeFilesPending = 0;
  private onLargeFileDone: (() => void) | undefined;
  /** Sealed sizes of the new blobs, which arrive after their saves resolve. */
  readonly added = new StoredBytesTally();
  private readonly parents: ParentTrees;
  private readonly lister = dirLister();

  constructor(
    private readonly repo: ArchiveRepo,
    private readonly opts: ArchiveOptions,
    private readonly excluded: ExcludeMatcher,
    private readonly included: ExcludeMatcher | null,
    private readonly names: IdNames,
  ) {
    this.parents = new ParentTrees(repo, opts.signal);
    this.largeFilesInBackground = Boolean(opts.parentTree) && !opts.full;
    this.lister.start();
  }

  report(currentPath?: string, force = false) {
    if (!this.opts.onProgress || (!force && Date.now() - this.lastReport < 250)) return;
    this.lastReport = Date.now();
    const { files, bytes } = this.summary;
    const t = this.totals;
    this.opts.onProgress({ filesDone: files, bytesDone: bytes, filesTotal: t && Math.max(t.files, files), bytesTotal: t && Math.max(t.bytes, bytes), currentPath });
  }

  /** A directory on the way to the selected roots: its own metadata, but only the selected children. */
  async saveVirtual(dir: string, roots: string[], parentTree: string | null): Promise<string> {
    const parent = await this.parents.nodes(parentTree);
    const names = new Map<string, string[]>();
    for (const root of roots) {
      if (root === dir) continue;
      const rel = root.slice(dir === '/' ? 1 : dir.length + 1);
      const first = rel.split(sep)[0]!;
      names.set(first, [...(names.get(first) ?? []), root]);
    }
    if (roots.includes(dir)) return (await (await this.walkDir(dir, parentTree, parent)).tree).id;
    const nodes: TreeNode[] = [];
    for (const [name, under] of [...names].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
      const path = childPath(dir, name);
      const stat = await this.stat(path);
      if (!stat) continue;
      if (under.includes(path)) {
        const prev = parent.get(name);
        const node = stat.kind === 'dir' ? await (await this.walkSubdir(path, name, stat, prev, stat.dev)).node : await this.saveEntry(path, name, stat, prev);
        if (node) nodes.push(node);
      } else if (stat.kind === 'dir') {
        const prev = parent.get(name);
        const prevTree = prev?.type === 'dir' ? prev.subtree : null;
        const subtree = await this.saveVirtual(path, under, prevTree);
        nodes.push(this.nodeOrPrev(name, stat, prev, subtree === prevTree, { subtree }));
      }
    }
    return this.treeOf(nodes, parentTree, parent);
  }

  /**
   * Walks directory `dir`: resolves once each entry is stored or being stored (large files, subdirectories
   * waiting for theirs), with `tree`, which gives the directory's tree once every entry is stored. `parent`
   * holds the nodes of its tree in the parent snapshot, `parentTree`.
   */
  private async walkDir(dir: string, parentTree: string | null, parent: Map<string, TreeNode>, rootDev?: string): Promise<{ tree: Promise<{ id: string; empty: boolean }> }> {
    this.opts.signal?.throwIfAborted();
    const listing = this.listed.get(dir) ?? this.list(dir);
    this.listed.delete(dir);
    const { names: kept, stats: first } = await listing;
    // Each entry's node in name order (null: skipped), some set later, once stored.
    const saved: (TreeNode | null)[] = new Array(kept.length).fill(null);
    const later: Promise<unknown>[] = [];
    for (let start = 0; start < kept.length; start += STAT_WINDOW) {
      const window = kept.slice(start, start + STAT_WINDOW);
      const stats = start === 0 ? first : await this.statAll(dir, window);
      for (const [i, name] of window.entries()) this.prereadIfSmall(childPath(dir, name), stats[i], parent.get(name));
      // Subdirectories the walk will enter, in order: the next few are listed and pre-read meanwhile.
      const subdirs = window.flatMap((name, i) => {
        const st = stats[i];
        return st?.kind === 'dir' && !(this.opts.oneFileSystem && st.dev !== (rootDev ?? st.dev)) ? [{ path: childPath(dir, name), prev: parent.get(name) }] : [];
      });
      this.listAhead(subdirs, 0);
      // Files first, then subdirectories, so the window's pre-read files are consumed before the walk goes
      // deeper (memory stays one window's worth whatever the depth).
      let entered = 0;
      for (const dirsNow of [false, true]) {
        for (const [i, name] of window.entries()) {
          const path = childPath(dir, name);
          const stat = stats[i];
          if (!stat || (stat.kind === 'dir') !== dirsNow) continue;
          if (this.included && stat.kind !== 'dir' && !this.included(path)) continue;
          if (dirsNow) this.listAhead(subdirs, ++entered);
          const prev = parent.get(name);
          const at = start + i;
          if (stat.kind === 'dir') {
            const { node } = await this.walkSubdir(path, name, stat, prev, rootDev ?? stat.dev);
            later.push(node.then((n) => (saved[at] = n)));
          } else if (this.largeFilesInBackground && stat.kind === 'file' && stat.size > SMALL_FILE && !this.unchanged(stat, prev)) {
            later.push((await this.saveLargeFile(path, name, stat, prev, (n) => (saved[at] = n))).stored);
          } else {
            saved[at] = await this.saveEntry(path, name, stat, prev);
          }
        }
      }
    }
    this.parents.forget(parent);
    this.summary.dirs++;
    const tree = Promise.all(later).then(() => {
      const nodes = saved.filter((n): n is TreeNode => n !== null);
      return this.treeOf(nodes, parentTree, parent).then((id) => ({ id, empty: nodes.length === 0 }));
    });
    tree.catch(() => {}); // its parent awaits it; a walk that fails first must not leave it unhandled
    return { tree };
  }

  /** Walks subdirectory `path`; `node` gives its node once its tree is stored (null: left out). */
  private async walkSubdir(path: string, name: string, stat: FileStat, prev: TreeNode | undefined, rootDev: string): Promise<{ node: Promise<TreeNode | null> }> {
    if (this.opts.oneFileSystem && stat.dev !== rootDev) return { node: Promise.resolve(null) };
    const parentTree = prev?.type === 'dir' ? prev.subtree : null;
    const { tree } = await this.walkDir(path, parentTree, await this.parents.nodes(parentTree), rootDev);
    const node = tree.then(({ id: subtree, empty }) => {
      // With includes, a directory holding nothing included is left out unless it matches itself.
      if (empty && this.included && !this.included(path) && !this.included(path + '/')) return null;
      return this.nodeOrPrev(name, stat, prev, subtree === parentTree, { subtree });
    });
    node.catch(() => {}); // awaited by the directory's tree
    return { node };
  }

  /**
   * Starts storing a large changed file (at most LARGE_FILES_IN_FLIGHT at once) and resolves once it is
   * started or queued, waiting while LARGE_FILES_PENDING are; `stored` settles once `done` got its node.
   */
  private async saveLargeFile(path: string, name: string, stat: FileStat, prev: TreeNode | undefined, done: (node: TreeNode | null) => void): Promise<{ stored: Promise<void> }> {
    while (this.largeFilesPending >= LARGE_FILES_PENDING) await new Promise<void>((resolve) => (this.onLargeFileDone = resolve));
    this.largeFilesPending++;
    const stored = this.largeFileSlots.run(() => this.saveEntry(path, name, stat, prev)).then(done).finally(() => {
      this.largeFilesPending--;
      const wake = this.onLargeFileDone;
      this.onLargeFileDone = undefined;
      wake?.();
    });
    stored.catch(() => {}); // awaited by the directory's tree
    return { stored };
  }

  /** Names (sorted, excluded ones dropped) and the first window's stats; a directory that cannot be read is reported and empty. */
  private async list(dir: string): Promise<Listing> {
    let listed: { names: string[]; stats: EntryStat[]; invalid: string[] };
    try {
      listed = await this.lister.list(dir, STAT_WINDOW);
    } catch (err) {
      this.opts.signal?.throwIfAborted();
      this.error(dir, err);
      return { names: [], stats: [] };
    }
    for (const name of listed.invalid) {
      const path = childPath(dir, name);
      if (!this.excluded(path)) this.error(path, new Error('the name is not valid UTF-8 (bad bytes shown as \\xNN): a tree cannot hold it, so it is not backed up'));
    }
    const statted = new Map<string, EntryStat>();
    for (const [i, stat] of listed.stats.entries()) statted.set(listed.names[i]!, stat);
    const kept = listed.names.filter((name) => !this.excluded(childPath(dir, name)));
    const first = kept.slice(0, STAT_WINDOW);
    // Excluded names in the lister's window push kept ones out of it; those are stat'ed now.
    const missing = first.filter((name) => !statted.has(name));
    for (const [i, stat] of (await this.lister.stat(dir, missing)).entries()) statted.set(missing[i]!, stat);
    return { names: kept, stats: first.map((name) => this.checked(childPath(dir, name), statted.get(name)!)) };
  }

  /** The stats of `names` in `dir` (a later window of a large directory). */
  private async statAll(dir: string, names: string[]): Promise<(FileStat | null)[]> {
    const stats = await this.lister.stat(dir, names);
    return stats.map((stat, i) => this.checked(childPath(dir, names[i]!), stat));
  }

  /** A stat, or null with the error reported. */
  private checked(path: string, stat: EntryStat): FileStat | null {
    if (!(stat instanceof Error)) return stat;
    this.error(path, stat);
    return null;
  }

  /**
   * Lists subdirectories [from, from + DIRS_AHEAD) of `subdirs` ahead of the walk and pre-reads their
   * changed small files (their parent trees load ahead too, parent-trees.ts).
   */
  private listAhead(subdirs: { path: string; prev: TreeNode | undefined }[], from: number): void {
    for (const { path, prev } of subdirs.slice(from, from + DIRS_AHEAD)) {
      if (this.listed.has(path)) continue;
      const listing = this.list(path).then(async (l) => {
        const parent = prev?.type === 'dir' ? await this.parents.peek(prev.subtree) : new Map<string, TreeNode>();
        for (const [i, name] of l.names.slice(0, STAT_WINDOW).entries()) this.prereadIfSmall(childPath(path, name), l.stats[i], parent.get(name));
        return l;
      });
      listing.catch(() => {}); // awaited when the walk gets there
      this.listed.set(path, listing);
    }
  }

  /** Stores a file, link or special file (directories: walkSubdir). */
  private async saveEntry(path: string, name: string, stat: FileStat, prev: TreeNode | undefined): Promise<TreeNode | null> {
    if (stat.kind === 'file') {
      const content = await this.saveFile(path, stat, prev);
      return content && this.nodeOrPrev(name, stat, prev, prev?.type === 'file' && content === prev.content, { content });
    }
    if (this.sameNode(prev, stat)) return prev; // an unchanged link keeps its target (links are replaced, not rewritten), fifos and devices
    if (stat.kind === 'symlink') {
      try {
        return this.node(name, stat, { linkTarget: await readlink(path) });
      } catch (err) {
        this.error(path, err);
        return null;
      }
    }
    if (stat.kind === 'socket') return null; // sockets cannot be restored; skipped like restic does
    return this.node(name, stat, {}); // fifos and devices
  }

  private async saveFile(path: string, stat: FileStat, prev: TreeNode | undefined): Promise<string[] | null> {
    const size = stat.size;
    if (this.unchanged(stat, prev)) {
      this.summary.unchangedFiles++;
      this.count(size, path);
      return prev.content;
    }
    const content: string[] = [];
    const preread = this.preread.get(path);
    this.preread.delete(path);
    if (preread) this.prereadBytes -= preread.size;
    try {
      // Shorter than the minimum chunk: one chunk, read and hashed on a worker thread (most files are).
      // Longer: read, cut and hashed on a chunk worker.
      const limit = this.repo.config.chunker.minSize - 1;
      const small = preread ? await preread.file : size <= limit ? await this.readSlots.run(() => this.repo.smallFile(path, limit)) : 'too large';
      if (small !== 'too large') {
        if (small.data.length > 0) await this.saveChunk(content, small, path);
      } else {
        for await (const chunk of this.repo.hashedChunks({ path }, this.opts.signal)) await this.saveChunk(content, chunk, path);
      }
    } catch (err) {
      this.opts.signal?.throwIfAborted();
      this.error(path, err);
      return null;
    }
    if (prev) this.summary.changedFiles++;
    else this.summary.newFiles++;
    this.count(0, path);
    return content;
  }

  private async saveChunk(content: string[], chunk: HashedChunk, path: string): Promise<void> {
    const length = chunk.data.length; // a handed-over buffer is empty once saved
    const saved = await saveHashedChunk((data, hints) => this.repo.saveBlob('data', data, this.opts.signal, hints), chunk);
    content.push(saved.id);
    if (saved.stored) {
      this.summary.newBlobs++;
      this.added.add(saved);
    }
    this.summary.bytes += length;
    this.report(path);
  }

  /** Unchanged since the parent snapshot (and all its blobs still indexed): not re-read unless `full`. */
  private unchanged(stat: FileStat, prev: TreeNode | undefined): prev is TreeNode & { type: 'file' } {
    if (this.opts.full || !prev || prev.type !== 'file' || !sameFile(prev, stat)) return false;
    return prev.content.every((id) => this.repo.hasBlob(id));
  }

  /**
   * Starts reading a small file that will be stored, a few at a time, so the walk does not wait for one
   * open/read/close round trip through the thread pool after another (a first backup of many small
   * files spent a third of its time idle that way). saveFile takes the bytes; errors surface there.
   */
  private prereadIfSmall(path: string, stat: FileStat | null | undefined, prev: TreeNode | undefined): void {
    if (stat?.kind !== 'file' || stat.size > SMALL_FILE || this.preread.has(path) || (this.included && !this.included(path)) || this.unchanged(stat, prev)) return;
    const size = stat.size;
    if (this.prereadBytes + size > PREREAD_BUDGET) return;
    const read = this.readSlots.run(() => this.repo.smallFile(path, this.repo.config.chunker.minSize - 1));
    read.catch(() => {}); // handled when saveFile awaits it; an abandoned read must not be an unhandled rejection
    this.preread.set(path, { file: read, size });
    this.prereadBytes += size;
  }

  private count(bytes: number, path: string) {
    this.summary.files++;
    this.summary.bytes += bytes;
    this.report(path);
  }

  /**
   * The id of the tree of `nodes`. When every node is the parent's own (nothing in or below the directory
   * changed), that is the parent's tree, neither encoded nor hashed again: about half of an unchanged
   * re-backup's tree work.
   */
  private treeOf(nodes: TreeNode[], parentTree: string | null, parent: Map<string, TreeNode>): Promise<string> {
    const same = parentTree !== null && nodes.length === parent.size && nodes.every((n) => parent.get(n.name) === n) && this.repo.hasBlob(parentTree);
    return same ? Promise.resolve(parentTree) : this.saveTree(nodes);
  }

  private async saveTree(nodes: TreeNode[]): Promise<string> {
    const saved = await this.repo.saveBlob('tree', encodeTree({ nodes }), this.opts.signal);
    if (saved.stored) {
      this.summary.newBlobs++;
      this.added.add(saved);
    }
    return saved.id;
  }

  /** `prev` is what node() would build from `stat` (and prev's content, subtree or target): reused as it is. */
  private sameNode(prev: TreeNode | undefined, stat: FileStat): prev is TreeNode {
    return !this.opts.full && sameNode(prev, stat, this.names);
  }

  /** The parent's node when its content or subtree is `kept` and the rest matches too, else a new one. */
  private nodeOrPrev(name: string, stat: FileStat, prev: TreeNode | undefined, kept: boolean, extra: NodeExtra): TreeNode {
    return kept && this.sameNode(prev, stat) ? prev : this.node(name, stat, extra);
  }

  private node(name: string, stat: FileStat, extra: NodeExtra): TreeNode {
    return rawNodeFromStat(name, stat, { ...extra, names: this.names });
  }

  /** The stat of a path on the way to the roots (a few: through promises here, not the lister). */
  private async stat(path: string): Promise<FileStat | null> {
    try {
      return fileStatOf(await lstat(path, { bigint: true }));
    } catch (err) {
      this.error(path, err);
      return null;
    }
  }

  private error(path: string, err: unknown) {
    const e = err as NodeJS.ErrnoException;
    this.summary.errors.push({ path, message: e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e.message ?? err) });
  }
}

