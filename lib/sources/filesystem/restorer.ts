// Filesystem restorer: writes a snapshot tree (or the part at `from`) into a target directory, restoring
// mode, mtime/atime, ownership (when running as root), symlinks, FIFOs and hard links, and checks every
// restored file on disk against its content ids (the manifest hashes), reporting mismatches.
//
// The data path reads packs, not blobs (as restic does): one request per blob made restores 20-130x
// slower on S3. Steps:
// 1. walk the trees (restore-plan.ts), creating directories as they come and gathering files into batches
// of a few thousand, so the restore holds the plan of two batches, not of the whole snapshot (the next one
// is walked while one is restored); for each batch: 2. read every blob it needs pack by pack, a few merged
// range reads in flight (blob-fetcher.ts, pack-reads.ts), into shared memory; 3. restore worker threads
// (restore-pool.ts, restore-worker.mjs) open and verify each blob in place and write it at every offset
// of every file holding it, into temp files; a file made of one blob (most small files) is finished there
// at once; 4. as soon as a longer file has all its pieces, a worker re-reads and checks it against its
// content ids (the manifest hashes), gives it its metadata and renames it over its destination, while
// reads go on; later names of the same inode are then linked to it, in whatever batch they come.
// 5. Directories get their metadata last, deepest first. This thread only plans, reads packs and keeps
// count: decrypting, decompressing, hashing and the per-file system calls (synchronous there) were 2x
// restic's CPU here.
// Blobs that fail to verify, and blobs the index does not list, are read alone (loadBlob tries every copy)
// and written from this thread (open-files.ts caps the open handles).
// Never writes outside the target: names come from validated tree nodes (no '/', '.', '..'), directories
// on the way are created or must already be real directories (a symlink there is refused), and files are
// written to a fresh temp name with O_EXCL|O_NOFOLLOW, then renamed over the destination entry.
// Errors are per path in the result and the restore goes on; a RestoreError or an abort rejects, after
// every temp file is removed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, lstatSync, mkdirSync } from 'node:fs';
import { chmod, chown, lchown, link, lutimes, mkdir, open, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { runLimited, Slots } from '../../concurrency';
import { collectWhenGrown } from '../../gc-on-demand.mjs';
import type { MasterKey } from '../../repo/crypto/master-key';
import type { TreeNode } from '../../repo/tree';
import { loadAlone, otherCopyMayHelp, readPacks, ReadBuffers, READS_IN_FLIGHT, type BlobSource, type FetchedBlob, type PackReadResult } from './blob-fetcher';
import { OpenFiles, type TempFile } from './open-files';
import { NO_LINKS, walkRestorePlan, type PlanItem, type PlannedDir, type PlannedFile, type PlannedLink, type PlannedOther } from './restore-plan';
import { RestoreError, type RestoreIssue } from './restore-types';
import { IS_ROOT, RestorePool, type BlobJob, type FileMeta, type Finished, type Piece } from './restore-pool';

export { RestoreError, type RestoreIssue };

/** What the restorer needs from a repository (lib/repo/repository.ts's Repository has it). */
export interface RestoreRepo extends BlobSource {
  /** The keys the restore workers open blobs and check files with. */
  readonly masterKey: MasterKey;
  /** No data blob is larger than the chunker's maxSize: the workers' scratch buffers are sized to it. */
  readonly config: { readonly chunker: { readonly maxSize: number } };
}

export type RestoreProgress = { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number; currentPath?: string };
export type RestoreOptions = {
  from?: string;
  signal?: AbortSignal;
  onProgress?: (p: RestoreProgress) => void;
  /** Restore worker threads (default: one per core, restore-pool.ts). */
  workers?: number;
  /**
   * What the restore will hold, for progress while the walk is still going (the snapshot's summary for a
   * whole snapshot); without it the totals are what the walk has found so far. Exact once it is done.
   */
  expected?: { files: number; bytes: number };
  /** Files (or blob pieces) restored per batch; tests make it small. */
  batch?: { files: number; pieces: number };
};
export type RestoreResult = { files: number; dirs: number; bytes: number; verifiedFiles: number; errors: RestoreIssue[]; warnings: RestoreIssue[] };

/** Temp files open for writing at once; files waiting for a later pack are closed and reopened. */
const OPEN_FILES = 64;
/** Completed files handed to the workers to check and put in place at once, overlapping with the reads. */
const VERIFYING = 4;
/** Symlinks, FIFOs and device warnings created at once. */
const OTHERS_AT_ONCE = 8;
/**
 * Files planned and restored per batch, and their blob pieces: ~1 KB a file while planned and restored.
 * Two batches are restored at once, so the reads of one follow the other's without a pause (one batch at a
 * time left the workers idle at each boundary: the 1 GiB harness restore took ~8% longer), and a third is
 * walked meanwhile.
 */
const BATCH = { files: 4096, pieces: 16384 };
const BATCHES_AT_ONCE = 2;
/** Symlinks and the like are gathered up to this many, then created (OTHERS_AT_ONCE at a time). */
const OTHERS_BATCH = 256;
/** Files with a blob the index does not list are restored blob by blob (loadBlob); this many at once. */
const UNINDEXED_AT_ONCE = 4;
const PROGRESS_EVERY_MS = 250;

/**
 * Progress totals known before the walk: the snapshot's summary, when the restore takes all of it (the
 * whole tree, or the snapshot's only path).
 */
export function expectedTotals(snapshot: { paths: readonly string[]; summary: { files: number; bytes: number } }, from: string | undefined): RestoreOptions['expected'] {
  const whole = from === undefined || from === '/' || (snapshot.paths.length === 1 && snapshot.paths[0] === from);
  return whole ? { files: snapshot.summary.files, bytes: snapshot.summary.bytes } : undefined;
}

export async function restoreTree(repo: RestoreRepo, rootTree: string, target: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  // Batches' plans and jobs live long enough to be promoted, then die (gc-on-demand.mjs). A fifth, not half
  // (measured when the whole plan was held: 2 GiB peak RSS 255-263 MB against 271-284). With batches, a
  // 2 GiB restore's main thread spends as long collecting as before (~0.45 s, --cpu-prof).
  const stopCollecting = collectWhenGrown({ growth: 0.2 });
  // The workers boot while the trees are read (started after, the restore waited ~0.3 s for them).
  const pool = RestorePool.take(repo.masterKey, { workers: opts.workers, largestBlob: repo.config.chunker.maxSize });
  pool.start();
  try {
    const walk = walkRestorePlan(repo, rootTree, target, opts.from ?? '/', opts.signal);
    // The start of the walk first: a path not in the snapshot creates no target directory.
    const first = await walk.next();
    await mkdir(target, { recursive: true });
    assertRealDir(target);
    return await new Restorer(repo, target, pool, opts).run(first, walk);
  } catch (err) {
    throw opts.signal?.aborted ? opts.signal.reason : err;
  } finally {
    await pool.close();
    stopCollecting();
  }
}

/**
 * A regular file restored with data: its temp file, and its pieces once known. A class with every field set
 * in the constructor, and the temp name made on first use: a restore holds one per file from start to end
 * (each ~490 bytes as a plain object with its name made up front, 15 MB of a 32k-file restore's heap).
 */
class FileJob implements TempFile {
  created = false;
  failed = false;
  /** Pieces not written yet. */
  remaining = 0;
  /** Settles once the temp file a worker writes pieces into exists (createTemp). */
  creating: Promise<void> | undefined = undefined;
  private tmpName: string | undefined = undefined;

  constructor(
    readonly file: PlannedFile,
    private readonly dir: string,
    /** Pieces in file order; undefined until known for a file restored blob by blob. */
    public pieces: Piece[] | undefined,
  ) {}

  get tmp(): string {
    return (this.tmpName ??= tempNameFor(this.dir, this.file.node.name));
  }
}

/** A blob's place in a file. */
type Target = { job: FileJob; offset: number };

class Restorer {
  readonly result: RestoreResult = { files: 0, dirs: 0, bytes: 0, verifiedFiles: 0, errors: [], warnings: [] };
  private readonly signal: AbortSignal | undefined;
  private readonly openFiles = new OpenFiles(OPEN_FILES);
  private readonly verifying = new Slots(VERIFYING);
  /** Completed files being checked and put in place, and later names being linked. */
  private readonly finishing = new Set<Promise<void>>();
  /** Jobs whose temp file may exist (not renamed yet): removed at the end, whatever happened. */
  private readonly unfinished = new Set<FileJob>();
  /** Every directory, for its metadata at the end (directories are far fewer than files). */
  private readonly dirs: PlannedDir[] = [];
  /** Directories that could not be created: nothing is restored below them. */
  private readonly unusable = new Set<PlannedDir>();
  /** What the walk has found so far (regular file names, hard links included; their bytes). */
  private readonly found = { files: 0, bytes: 0 };
  private walked = false;
  private readonly batchSize: { files: number; pieces: number };
  /**
   * Every batch reads into the same buffers, of the largest read size (MAX_READ): with a set per batch, the
   * 1 GiB harness restore held 66-77 MB of array buffers at its peak instead of 56. Pages are only touched
   * as far as reads fill them.
   */
  private readonly readBuffers = new ReadBuffers();
  /** Pack reads in flight, whichever batch they are for. */
  private readonly readSlots = new Slots(READS_IN_FLIGHT);
  private lastReport = 0;

  constructor(
    private readonly repo: RestoreRepo,
    private readonly target: string,
    private readonly pool: RestorePool,
    private readonly opts: RestoreOptions,
  ) {
    this.signal = opts.signal;
    this.batchSize = opts.batch ?? BATCH;
  }

  async run(first: IteratorResult<PlanItem, void>, walk: AsyncGenerator<PlanItem, void, undefined>): Promise<RestoreResult> {
    const restoring: Promise<void>[] = [];
    const startBatch = async (files: PlannedFile[]) => {
      if (restoring.length >= BATCHES_AT_ONCE) await restoring.shift();
      const batch = this.restoreBatch(files);
      batch.catch(() => {}); // awaited in turn, or at the end
      restoring.push(batch);
    };
    try {
      let batch: PlannedFile[] = [];
      let pieces = 0;
      const others: PlannedOther[] = [];
      for (let step = first; !step.done; step = await walk.next()) {
        const item = step.value;
        if (item.kind === 'dir') this.createDir(item.dir);
        else if (item.kind === 'other') {
          others.push(item.other);
          if (others.length >= OTHERS_BATCH) await this.restoreOthers(others.splice(0));
        } else if (item.kind === 'link') {
          this.found.files++;
          this.laterName(item.link, item.first, batch);
        } else {
          this.found.files++;
          this.found.bytes += item.file.node.size;
          batch.push(item.file);
          pieces += item.file.node.content.length;
          if (batch.length >= this.batchSize.files || pieces >= this.batchSize.pieces) {
            await startBatch(batch);
            batch = [];
            pieces = 0;
          }
        }
      }
      this.walked = true;
      await startBatch(batch);
      await this.restoreOthers(others);
      while (restoring.length > 0) await restoring.shift();
    } finally {
      await Promise.allSettled(restoring);
      // Finishing files may start linking their other names: wait until nothing is left.
      while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
      await this.openFiles.closeAll();
      await Promise.all([...this.unfinished].filter((j) => j.created).map((j) => rm(j.tmp, { force: true }).catch(() => {})));
    }
    await this.finishDirs();
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

  /**
   * Parents come before children (walk order); a symlink or non-directory on the way rejects the whole
   * restore. Synchronous calls: a round trip through libuv's pool for each mkdir and lstat kept the 1 GiB
   * bench restore (545 directories) waiting 0.35 s before its first read.
   */
  private createDir(dir: PlannedDir): void {
    this.dirs.push(dir);
    if (!this.usable(dir.parent)) {
      this.unusable.add(dir);
      return;
    }
    this.signal?.throwIfAborted();
    try {
      mkdirIfMissing(dir.path);
      assertRealDir(dir.path);
    } catch (err) {
      if (err instanceof RestoreError) throw err;
      this.issue(dir.path, err);
      this.unusable.add(dir);
      return;
    }
    if (dir.error) this.issue(dir.path, dir.error); // created, but its contents could not be listed
    else this.result.dirs++;
  }

  /** Directory metadata last, deepest first: restoring their contents changed their mtimes. */
  private async finishDirs(): Promise<void> {
    const dirs = this.dirs.filter((d) => this.usable(d) && !d.error).sort((a, b) => b.depth - a.depth);
    for (const dir of dirs) {
      this.signal?.throwIfAborted();
      await this.applyMetadata(dir.node, dir.path).catch((err) => this.issue(dir.path, err));
    }
  }

  private async restoreOthers(others: PlannedOther[]): Promise<void> {
    await runLimited(others.filter((o) => this.usable(o.parent)).map((o) => () => this.restoreOther(o)), OTHERS_AT_ONCE);
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

  /** One batch of files: every blob they need read pack by pack, then files with unindexed blobs blob by blob. */
  private async restoreBatch(files: PlannedFile[]): Promise<void> {
    const targets = new Map<string, Target[]>(); // in order of first use, so packs finishing early files come first
    const blobByBlob: FileJob[] = [];
    const empty: FileJob[] = [];
    // From here the jobs hold the files, and `targets` the jobs: both let go of each as it is restored.
    for (const planned of files.splice(0)) {
      const file = this.withUsableName(planned);
      if (!file) continue;
      const job = new FileJob(file, file.parent?.path ?? this.target, this.locatePieces(file.node.content));
      this.unfinished.add(job);
      if (!job.pieces) {
        blobByBlob.push(job);
        continue;
      }
      job.remaining = job.pieces.length;
      if (job.remaining === 0) empty.push(job);
      let offset = 0;
      for (const piece of job.pieces) {
        const list = targets.get(piece.id);
        if (list) list.push({ job, offset });
        else targets.set(piece.id, [{ job, offset }]); // a literal: exactly one slot, where push() on [] reserves 17
        offset += piece.length;
      }
    }
    for (const job of empty) this.complete(job);
    await readPacks(this.repo, targets.keys(), {
      onRead: (r) => this.restoreRead(r, targets),
      onUnlocated: async (id) => this.deliver(await loadAlone(this.repo, id, this.signal), takeTargets(targets, id)),
    }, { signal: this.signal, buffers: this.readBuffers, readSlots: this.readSlots });
    await runLimited(blobByBlob.map((job) => () => this.restoreBlobByBlob(job)), UNINDEXED_AT_ONCE);
  }

  /**
   * A later name of an inode: linked to its first name once that is restored (now, when it already is), or
   * reported with the first one's failure. When no earlier name could be used, this one becomes the first.
   */
  private laterName(link: PlannedLink, first: PlannedFile, batch: PlannedFile[]): void {
    const outcome = first.outcome;
    if (!outcome) {
      if (first.links === NO_LINKS) first.links = [];
      first.links.push(link);
    } else if (outcome.kind === 'placed') {
      this.track(this.linkName(link, first.path));
    } else if (outcome.kind === 'failed') {
      if (this.usable(link.parent)) this.issue(link.path, outcome.message);
    } else {
      Object.assign(first, { path: link.path, node: link.node, parent: link.parent, links: NO_LINKS, outcome: undefined });
      this.found.bytes += link.node.size;
      batch.push(first);
    }
  }

  /**
   * One pack read: its blobs are opened and written by a restore worker, straight from the read's shared
   * buffer. A file made of one blob is finished there too; pieces of longer files go into temp files
   * created here first. Blobs that do not verify, and the blobs of a failed read, are read again alone.
   */
  private async restoreRead(r: PackReadResult, targets: Map<string, Target[]>): Promise<void> {
    this.signal?.throwIfAborted();
    const { read } = r;
    if (!r.bytes) {
      for (const { id } of read.blobs) {
        this.signal?.throwIfAborted();
        const list = takeTargets(targets, id);
        await this.deliver(otherCopyMayHelp(r.error) ? await loadAlone(this.repo, id, this.signal) : { id, error: asError(r.error) }, list);
      }
      return;
    }
    const live = (list: Target[]) => list.filter((t) => !t.job.failed);
    const sent = read.blobs.map(({ id, loc }) => {
      const all = takeTargets(targets, id);
      const list = live(all);
      const whole = list.filter((t) => t.job.pieces!.length === 1);
      const pieces = list.filter((t) => t.job.pieces!.length > 1);
      return { id, loc, all, whole, pieces };
    });
    await Promise.all(sent.flatMap((b) => b.pieces.map((t) => this.createTemp(t.job))));
    for (const b of sent) b.pieces = b.pieces.filter((t) => !t.job.failed); // exactly the writes sent
    const jobs: BlobJob[] = sent.map(({ id, loc, whole, pieces }) => ({
      id,
      start: loc.offset - read.offset,
      length: loc.length,
      rawLength: loc.rawLength,
      writes: pieces.map((t) => ({ tmp: t.job.tmp, position: t.offset })),
      files: whole.map((t) => {
        t.job.created = true; // by the worker
        return { tmp: t.job.tmp, dest: t.job.file.path, meta: metaOf(t.job.file.node) };
      }),
    }));
    const outcomes = await this.pool.restore(r.bytes, read.packId, jobs);
    for (const [i, out] of outcomes.entries()) {
      const { id, loc, all, whole, pieces } = sent[i]!;
      if (out.error !== undefined) {
        // Nothing was written for this blob: its files still wait for it.
        for (const t of whole) t.job.created = false;
        await this.deliver(out.integrity ? await loadAlone(this.repo, id, this.signal) : { id, error: new Error(out.error) }, all);
        continue;
      }
      for (const [j, t] of pieces.entries()) {
        const error = out.writes[j];
        if (error !== null && error !== undefined) await this.fail(t.job, new Error(error));
        else this.written(t.job, loc.rawLength);
      }
      for (const [j, t] of whole.entries()) this.placed(t.job, out.files[j]!, loc.rawLength);
    }
  }

  /**
   * Creates an empty temp file for a file whose pieces restore workers will write (O_EXCL: never an
   * existing one). Every read touching the file waits for the same creation.
   */
  private createTemp(job: FileJob): Promise<void> {
    if (job.created || job.failed) return job.creating ?? Promise.resolve();
    job.created = true;
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
    job.creating = open(job.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
      .then((handle) => handle.close())
      .catch(async (err: unknown) => {
        this.signal?.throwIfAborted();
        await this.fail(job, err);
      });
    return job.creating;
  }

  /**
   * The file itself, or when its directory could not be created, its first hard link so far that can be
   * (in place: a later name found by the walk still finds it); undefined, and marked skipped, when none can.
   */
  private withUsableName(file: PlannedFile): PlannedFile | undefined {
    if (this.usable(file.parent)) return file;
    const i = file.links.findIndex((l) => this.usable(l.parent));
    if (i < 0) {
      file.outcome = { kind: 'skipped' };
      return undefined;
    }
    const links = file.links.slice(i + 1);
    return Object.assign(file, { ...file.links[i]!, links: links.length > 0 ? links : NO_LINKS });
  }

  /** Pieces with their lengths from the index; undefined when the index lacks one (offsets unknown). */
  private locatePieces(ids: readonly string[]): Piece[] | undefined {
    const pieces = new Array<Piece>(ids.length); // exactly its length: most files have one piece
    for (const [i, id] of ids.entries()) {
      const loc = this.repo.locateBlob(id);
      if (!loc) return undefined;
      pieces[i] = { id, length: loc.rawLength };
    }
    return pieces;
  }

  /** Writes a blob read here (a fallback) everywhere it goes (the same blob may fill many files, or one file many times). */
  private async deliver(blob: FetchedBlob, targets: Target[]): Promise<void> {
    for (const { job, offset } of targets) {
      if (job.failed) continue;
      if (blob.error) {
        await this.fail(job, blob.error);
        continue;
      }
      if (await this.write(job, blob.data, offset)) this.written(job, 0);
    }
  }

  /** One more piece of `job` is in its temp file (`bytes` not counted yet); the last one completes it. */
  private written(job: FileJob, bytes: number): void {
    if (job.failed) return;
    this.result.bytes += bytes;
    this.report(job.file.path);
    if (--job.remaining === 0) this.complete(job);
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

  /** Positioned write into the job's temp file (a fallback: workers write the rest); false when the job failed (now or earlier). */
  private async write(job: FileJob, data: Buffer, offset: number): Promise<boolean> {
    if (job.failed) return false;
    try {
      await job.creating;
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

  /** Every piece is written: a worker checks it and puts it in place, in the background (VERIFYING at once). */
  private complete(job: FileJob): void {
    this.track(this.verifying.run(() => this.putInPlace(job)));
  }

  /**
   * Closes the temp file's handle here (fallback writes), then a restore worker re-reads it and checks it
   * against the backup, gives it its metadata (mode, times, owner), and renames it over the destination.
   */
  private async putInPlace(job: FileJob): Promise<void> {
    if (this.signal?.aborted || job.failed) return; // the temp file is removed at the end
    const create = !job.created;
    job.created = true;
    let finished: Finished;
    try {
      await this.openFiles.close(job);
      finished = await this.pool.finish({ tmp: job.tmp, dest: job.file.path, create, pieces: job.pieces!, meta: metaOf(job.file.node) });
    } catch (err) {
      if (!this.signal?.aborted) await this.fail(job, err);
      return;
    }
    this.placed(job, finished, 0);
  }

  /** A worker finished `job` (or could not): bookkeeping, then its other names are linked to it. */
  private placed(job: FileJob, finished: Finished, bytes: number): void {
    if (finished.error !== undefined) {
      void this.fail(job, new Error(finished.error));
      return;
    }
    this.unfinished.delete(job);
    this.result.bytes += bytes;
    this.result.verifiedFiles++;
    this.result.files++;
    const { file } = job;
    file.outcome = { kind: 'placed' }; // later names the walk finds from now on are linked at once
    if (finished.metadataError !== undefined) this.issue(file.path, new Error(finished.metadataError));
    this.report(file.path);
    if (file.links.length === 0) return;
    const links = file.links;
    file.links = NO_LINKS;
    this.track((async () => {
      for (const name of links) await this.linkName(name, file.path);
    })());
  }

  /** Background work the restore waits for before it ends. */
  private track(work: Promise<void>): void {
    const done: Promise<void> = work.finally(() => this.finishing.delete(done));
    this.finishing.add(done);
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
    job.file.outcome = { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
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
    const expected = this.walked ? undefined : this.opts.expected;
    const filesTotal = Math.max(this.found.files, expected?.files ?? 0, files);
    const bytesTotal = Math.max(this.found.bytes, expected?.bytes ?? 0, bytes);
    this.opts.onProgress({ filesDone: files, filesTotal, bytesDone: bytes, bytesTotal, currentPath });
  }

  private async applyMetadata(node: TreeNode, dest: string): Promise<void> {
    const mtime = mtimeSeconds(node);
    if (IS_ROOT && node.uid !== undefined && node.gid !== undefined) {
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

/** A blob's places, removed from `targets`: each blob is read once (pack-reads.ts), and its jobs may then go once placed. */
function takeTargets(targets: Map<string, Target[]>, id: string): Target[] {
  const list = targets.get(id)!;
  targets.delete(id);
  return list;
}

/** What a restore worker applies to a finished file. */
function metaOf(node: TreeNode): FileMeta {
  return { mode: node.mode, uid: node.uid, gid: node.gid, mtime: mtimeSeconds(node) };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The node's mtime in seconds, to the millisecond (atime is set to it too, as before). */
function mtimeSeconds(node: TreeNode): number {
  return Number(BigInt(node.mtimeNs) / 1_000_000n) / 1000;
}

function mkdirIfMissing(path: string): void {
  try {
    mkdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function assertRealDir(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) throw new RestoreError(`refusing to restore through ${path}: it is a symbolic link`);
  if (!st.isDirectory()) throw new RestoreError(`cannot restore into ${path}: it exists and is not a directory`);
}

/**
 * A fresh hidden name for file `name` in `dir`; drops the original name when it would exceed NAME_MAX (255
 * bytes). Built from the two strings, not from the file's path, whose string stays shared with its directory's.
 */
function tempNameFor(dir: string, name: string): string {
  const tag = `.lifeboat-${randomBytes(4).toString('hex')}`;
  return `${dir.endsWith('/') ? dir : `${dir}/`}${Buffer.byteLength(name) + tag.length + 1 <= 255 ? `.${name}${tag}` : tag}`;
}

/** write() may write less than asked; loop until all of `data` is at `position`. */
async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
