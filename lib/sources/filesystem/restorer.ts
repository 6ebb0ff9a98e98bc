// Filesystem restorer: writes a snapshot tree (or the part at `from`) into a target directory, restoring
// mode, mtime/atime, ownership (when running as root), symlinks, FIFOs and hard links, and checks every
// restored file on disk against its content ids (the manifest hashes), reporting mismatches.
//
// The data path reads packs, not blobs (as restic does): one request per blob made restores 20-130x
// slower on S3. Steps:
// 1. walk the trees into a plan (restore-plan.ts); 2. create the directories; 3. read every needed blob
// pack by pack, a few merged range reads in flight (blob-fetcher.ts, pack-reads.ts), and write each
// verified blob at every offset of every file holding it, into temp files (open-files.ts caps the open
// handles); 4. as soon as a file has all its pieces, it is re-read and checked (verify-file.ts), given
// its metadata, closed and renamed over its destination, while downloads go on; later names of the same
// inode are then linked to it; 5. directories get their metadata last, deepest first.
// Never writes outside the target: names come from validated tree nodes (no '/', '.', '..'), directories
// on the way are created or must already be real directories (a symlink there is refused), and files are
// written to a fresh temp name with O_EXCL|O_NOFOLLOW, then renamed over the destination entry.
// Errors are per path in the result and the restore goes on; a RestoreError or an abort rejects, after
// every temp file is removed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, rename, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runLimited, Slots } from '../../concurrency';
import type { FileNode, TreeNode } from '../../repo/tree';
import { fetchBlobs, type BlobSource, type FetchedBlob } from './blob-fetcher';
import { OpenFiles, type TempFile } from './open-files';
import { planRestore, type PlannedDir, type PlannedFile, type PlannedLink, type PlannedOther, type RestorePlan } from './restore-plan';
import { RestoreError, type RestoreIssue } from './restore-types';
import { verifyRestoredFile, type Piece } from './verify-file';

export { RestoreError, type RestoreIssue };

/** What the restorer needs from a repository (lib/repo/repository.ts's Repository has it). */
export interface RestoreRepo extends BlobSource {
  /** Hex content id of `data` (keyed hash), to validate what was written. */
  contentIdOf(data: Buffer): string;
}

export type RestoreProgress = { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number; currentPath?: string };
export type RestoreOptions = { from?: string; signal?: AbortSignal; onProgress?: (p: RestoreProgress) => void };
export type RestoreResult = { files: number; dirs: number; bytes: number; verifiedFiles: number; errors: RestoreIssue[]; warnings: RestoreIssue[] };

/** Temp files open for writing at once; files waiting for a later pack are closed and reopened. */
const OPEN_FILES = 64;
/** Completed files re-read and checked at once, overlapping with the downloads. */
const VERIFYING = 4;
/** Symlinks, FIFOs and device warnings created at once. */
const OTHERS_AT_ONCE = 8;
/** Files with a blob the index does not list are restored blob by blob (loadBlob); this many at once. */
const UNINDEXED_AT_ONCE = 4;
const PROGRESS_EVERY_MS = 250;

export async function restoreTree(repo: RestoreRepo, rootTree: string, target: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  try {
    const plan = await planRestore(repo, rootTree, target, opts.from ?? '/', opts.signal);
    await mkdir(target, { recursive: true });
    await assertRealDir(target);
    return await new Restorer(repo, plan, opts).run();
  } catch (err) {
    throw opts.signal?.aborted ? opts.signal.reason : err;
  }
}

/** A regular file restored with data: its temp file, and its pieces once known. */
interface FileJob extends TempFile {
  file: PlannedFile;
  /** Pieces in file order; undefined until known for a file restored blob by blob. */
  pieces?: Piece[];
  /** Pieces not written yet. */
  remaining: number;
  failed: boolean;
}

/** A blob's place in a file. */
type Target = { job: FileJob; offset: number };

class Restorer {
  readonly result: RestoreResult = { files: 0, dirs: 0, bytes: 0, verifiedFiles: 0, errors: [], warnings: [] };
  private readonly signal: AbortSignal | undefined;
  private readonly isRoot = process.getuid?.() === 0;
  private readonly openFiles = new OpenFiles(OPEN_FILES);
  private readonly verifying = new Slots(VERIFYING);
  /** Completed files being checked and put in place. */
  private readonly finishing = new Set<Promise<void>>();
  /** Jobs whose temp file may exist (not renamed yet): removed at the end, whatever happened. */
  private readonly unfinished = new Set<FileJob>();
  /** Directories that could not be created: nothing is restored below them. */
  private readonly unusable = new Set<PlannedDir>();
  private readonly totals: { files: number; bytes: number };
  private lastReport = 0;

  constructor(
    private readonly repo: RestoreRepo,
    private readonly plan: RestorePlan,
    private readonly opts: RestoreOptions,
  ) {
    this.signal = opts.signal;
    this.totals = { files: plan.fileCount, bytes: plan.files.reduce((n, f) => n + f.node.size, 0) };
  }

  async run(): Promise<RestoreResult> {
    try {
      await this.createDirs();
      await runLimited(this.plan.others.filter((o) => this.usable(o.parent)).map((o) => () => this.restoreOther(o)), OTHERS_AT_ONCE);
      await this.restoreData();
      await this.finishDirs();
    } finally {
      await this.openFiles.closeAll();
      await Promise.all([...this.unfinished].filter((j) => j.created).map((j) => rm(j.tmp, { force: true }).catch(() => {})));
    }
    const byPath = (a: RestoreIssue, b: RestoreIssue) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    this.result.errors.sort(byPath);
    this.result.warnings.sort(byPath);
    this.report(undefined, true);
    return this.result;
  }

  // --- directories and other nodes ---

  private usable(dir: PlannedDir | undefined): boolean {
    return !dir || !this.unusable.has(dir);
  }

  /** Parents before children (plan order); a symlink or non-directory on the way rejects the whole restore. */
  private async createDirs(): Promise<void> {
    for (const dir of this.plan.dirs) {
      if (!this.usable(dir.parent)) {
        this.unusable.add(dir);
        continue;
      }
      this.signal?.throwIfAborted();
      try {
        await mkdir(dir.path).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
        await assertRealDir(dir.path);
      } catch (err) {
        if (err instanceof RestoreError) throw err;
        this.issue(dir.path, err);
        this.unusable.add(dir);
        continue;
      }
      if (dir.error) this.issue(dir.path, dir.error); // created, but its contents could not be listed
      else this.result.dirs++;
    }
  }

  /** Directory metadata last, deepest first: restoring their contents changed their mtimes. */
  private async finishDirs(): Promise<void> {
    const dirs = this.plan.dirs.filter((d) => this.usable(d) && !d.error).sort((a, b) => b.depth - a.depth);
    for (const dir of dirs) {
      this.signal?.throwIfAborted();
      await this.applyMetadata(dir.node, dir.path).catch((err) => this.issue(dir.path, err));
    }
  }

  private async restoreOther({ path, node }: PlannedOther): Promise<void> {
    this.signal?.throwIfAborted();
    try {
      if (node.type === 'symlink') {
        await rm(path, { force: true });
        await symlink(node.linkTarget, path);
      } else if (node.type === 'fifo') {
        await rm(path, { force: true });
        const res = spawnSync('mkfifo', [path]);
        if (res.status !== 0) throw new Error(`mkfifo failed: ${res.stderr}`);
      } else {
        this.result.warnings.push({ path, message: `${node.type} not restored (device nodes need mknod)` });
        return;
      }
      await this.applyMetadata(node, path);
    } catch (err) {
      this.signal?.throwIfAborted();
      this.issue(path, err);
    }
  }

  // --- file data ---

  private async restoreData(): Promise<void> {
    const targets = new Map<string, Target[]>(); // in order of first use, so packs finishing early files come first
    const blobByBlob: FileJob[] = [];
    for (const planned of this.plan.files) {
      const file = this.withUsableName(planned);
      if (!file) continue;
      const job: FileJob = { file, tmp: tempNameFor(file.path), created: false, remaining: 0, failed: false };
      this.unfinished.add(job);
      job.pieces = this.locatePieces(file.node.content);
      if (!job.pieces) {
        blobByBlob.push(job);
        continue;
      }
      job.remaining = job.pieces.length;
      if (job.remaining === 0) this.complete(job);
      let offset = 0;
      for (const piece of job.pieces) {
        let list = targets.get(piece.id);
        if (!list) targets.set(piece.id, (list = []));
        list.push({ job, offset });
        offset += piece.length;
      }
    }
    try {
      await fetchBlobs(this.repo, targets.keys(), (blob) => this.deliver(blob, targets.get(blob.id)!), { signal: this.signal });
      await runLimited(blobByBlob.map((job) => () => this.restoreBlobByBlob(job)), UNINDEXED_AT_ONCE);
    } finally {
      await Promise.allSettled(this.finishing); // no file completes after the fetch: the set is final here
    }
  }

  /** The file itself, or when its directory could not be created, its first hard link that can be. */
  private withUsableName(file: PlannedFile): PlannedFile | undefined {
    if (this.usable(file.parent)) return file;
    const i = file.links.findIndex((l) => this.usable(l.parent));
    return i < 0 ? undefined : { ...file.links[i]!, links: file.links.slice(i + 1) };
  }

  /** Pieces with their lengths from the index; undefined when the index lacks one (offsets unknown). */
  private locatePieces(ids: readonly string[]): Piece[] | undefined {
    const pieces: Piece[] = [];
    for (const id of ids) {
      const loc = this.repo.locateBlob(id);
      if (!loc) return undefined;
      pieces.push({ id, length: loc.rawLength });
    }
    return pieces;
  }

  /** Writes one fetched blob everywhere it goes (the same blob may fill many files, or one file many times). */
  private async deliver(blob: FetchedBlob, targets: Target[]): Promise<void> {
    for (const { job, offset } of targets) {
      if (job.failed) continue;
      if (blob.error) {
        await this.fail(job, blob.error);
        continue;
      }
      if (!(await this.write(job, blob.data, offset))) continue;
      if (--job.remaining === 0) this.complete(job);
    }
  }

  /** For a file with a blob the index does not list: loadBlob each piece in turn, writing as they come. */
  private async restoreBlobByBlob(job: FileJob): Promise<void> {
    const pieces: Piece[] = [];
    let offset = 0;
    for (const id of job.file.node.content) {
      let data: Buffer;
      try {
        data = await this.repo.loadBlob(id, this.signal);
      } catch (err) {
        this.signal?.throwIfAborted();
        return this.fail(job, err);
      }
      if (!(await this.write(job, data, offset))) return;
      pieces.push({ id, length: data.length });
      offset += data.length;
    }
    job.pieces = pieces;
    this.complete(job);
  }

  /** Positioned write into the job's temp file; false when the job failed (now or earlier). */
  private async write(job: FileJob, data: Buffer, offset: number): Promise<boolean> {
    if (job.failed) return false;
    try {
      await this.openFiles.use(job, (handle) => writeFully(handle, data, offset));
    } catch (err) {
      this.signal?.throwIfAborted();
      await this.fail(job, err);
      return false;
    }
    if (job.failed) return false;
    this.result.bytes += data.length;
    this.report(job.file.path);
    return true;
  }

  /** Every piece is written: check it and put it in place in the background (VERIFYING at once). */
  private complete(job: FileJob): void {
    const done: Promise<void> = this.verifying.run(() => this.putInPlace(job)).finally(() => this.finishing.delete(done));
    this.finishing.add(done);
  }

  /**
   * Re-reads the temp file through its write handle and checks it against the backup, gives it its
   * metadata (mode, times, owner), closes it and renames it over the destination; then links its other
   * names. Renaming keeps the file's mode and times, so they may be set before.
   */
  private async putInPlace(job: FileJob): Promise<void> {
    if (this.signal?.aborted) return; // the temp file is removed at the end
    const { file } = job;
    let metadataError: unknown;
    try {
      await this.openFiles.use(job, async (handle) => {
        await verifyRestoredFile(handle, job.pieces!, (data) => this.repo.contentIdOf(data), this.signal);
        await this.applyFileMetadata(handle, file.node).catch((err) => (metadataError = err));
      });
      await this.openFiles.close(job);
      await rename(job.tmp, file.path);
      this.unfinished.delete(job);
    } catch (err) {
      if (!this.signal?.aborted) await this.fail(job, err);
      return;
    }
    this.result.verifiedFiles++;
    this.result.files++;
    if (metadataError) this.issue(file.path, metadataError);
    for (const name of file.links) await this.linkName(name, file.path);
    this.report(file.path);
  }

  /** A later name of a restored inode: a hard link to the first one. */
  private async linkName(name: PlannedLink, first: string): Promise<void> {
    if (!this.usable(name.parent) || this.signal?.aborted) return;
    try {
      await rm(name.path, { force: true });
      await link(first, name.path);
      this.result.files++;
      await this.applyMetadata(name.node, name.path);
    } catch (err) {
      this.issue(name.path, err);
    }
  }

  /** Gives up on a file (and its hard links): reports why and drops its temp file; other files go on. */
  private async fail(job: FileJob, err: unknown): Promise<void> {
    if (job.failed) return;
    job.failed = true;
    this.issue(job.file.path, err);
    for (const name of job.file.links) if (this.usable(name.parent)) this.issue(name.path, err);
    await this.openFiles.close(job).catch(() => {});
    if (job.created) await rm(job.tmp, { force: true }).catch(() => {}); // and again at the end, in case a late writer re-created it
  }

  // --- shared ---

  private issue(path: string, err: unknown): void {
    this.result.errors.push({ path, message: err instanceof Error ? err.message : String(err) });
  }

  private report(currentPath?: string, force = false): void {
    if (!this.opts.onProgress || (!force && Date.now() - this.lastReport < PROGRESS_EVERY_MS)) return;
    this.lastReport = Date.now();
    const { files, bytes } = this.result;
    this.opts.onProgress({ filesDone: files, filesTotal: this.totals.files, bytesDone: bytes, bytesTotal: this.totals.bytes, currentPath });
  }

  /** applyMetadata for a regular file, through its open handle (same calls, same order). */
  private async applyFileMetadata(handle: FileHandle, node: FileNode): Promise<void> {
    if (this.isRoot && node.uid !== undefined && node.gid !== undefined) await handle.chown(node.uid, node.gid);
    await handle.chmod(node.mode & 0o7777);
    await handle.utimes(mtimeSeconds(node), mtimeSeconds(node));
  }

  private async applyMetadata(node: TreeNode, dest: string): Promise<void> {
    const mtime = mtimeSeconds(node);
    if (this.isRoot && node.uid !== undefined && node.gid !== undefined) {
      if (node.type === 'symlink') await lchown(dest, node.uid, node.gid);
      else await chown(dest, node.uid, node.gid);
    }
    if (node.type === 'symlink') {
      await lutimes(dest, mtime, mtime);
      return;
    }
    await chmod(dest, node.mode & 0o7777);
    await utimes(dest, mtime, mtime);
  }
}

/** The node's mtime in seconds, to the millisecond (atime is set to it too, as before). */
function mtimeSeconds(node: TreeNode): number {
  return Number(BigInt(node.mtimeNs) / 1_000_000n) / 1000;
}

async function assertRealDir(path: string): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) throw new RestoreError(`refusing to restore through ${path}: it is a symbolic link`);
  if (!st.isDirectory()) throw new RestoreError(`cannot restore into ${path}: it exists and is not a directory`);
}

/** A fresh hidden name next to `dest`; drops the original name when it would exceed NAME_MAX (255 bytes). */
function tempNameFor(dest: string): string {
  const name = basename(dest);
  const tag = `.lifeboat-${randomBytes(4).toString('hex')}`;
  return join(dirname(dest), Buffer.byteLength(name) + tag.length + 1 <= 255 ? `.${name}${tag}` : tag);
}

/** write() may write less than asked; loop until all of `data` is at `position`. */
async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
