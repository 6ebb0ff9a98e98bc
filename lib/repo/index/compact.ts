// Index compaction (docs/repository-format.md §8, §11.4): every backup adds an index file, and loading the
// master index costs a GET and a decryption per file, so small files are merged into files of up to
// `targetBlobs` blobs. The caller MUST hold the repository's exclusive lock: files are deleted.
// Crash safety, whatever is interrupted when:
// - A merged file is written before anything is deleted and lists the files it replaces (and everything
//   they superseded) in `supersedes`, so old and new together load as the new alone.
// - A file only ever supersedes files whose entries it holds, so no interruption can drop an entry.
// - Files superseded by a present file are dead: never merged (that would revive locations a prune dropped),
//   only deleted.
// Memory: the small files of at most `maxBatches` merged files are held at once; more wait for the next run.
import type { BlobStore } from '../../blob';
import { runLimited } from '../../concurrency';
import type { MasterKey } from '../crypto/master-key';
import { deleteObject, listObjectIds } from '../objects';
import { readIndexFile, writeIndexFile } from './io';
import { INDEX_FILE_TARGET_BLOBS, INDEX_VERSION, type IndexBlob, type IndexFile } from './schema';

export interface CompactIndexOptions {
  signal?: AbortSignal;
  /** Blobs per merged file (default 50,000, §8). Files already holding half of this are left alone. */
  targetBlobs?: number;
  /** Merged files written per run at most (default 4, bounding memory to ~4 x targetBlobs entries). */
  maxBatches?: number;
  /** Index files read at once (default 8). */
  concurrency?: number;
}

export interface CompactIndexResult {
  /** Index files present before. */
  before: number;
  /** Index files present after. */
  after: number;
  /** Ids of the merged files written. */
  written: string[];
  /** Ids of the files deleted: merged ones and dead (superseded) ones. */
  removed: string[];
}

interface FileSummary {
  id: string;
  blobs: number;
  supersedes: readonly string[];
  /** Kept only for files small enough to merge. */
  file?: IndexFile;
}

export async function compactIndex(store: BlobStore, key: MasterKey, opts: CompactIndexOptions = {}): Promise<CompactIndexResult> {
  const targetBlobs = opts.targetBlobs ?? INDEX_FILE_TARGET_BLOBS;
  const maxBatches = opts.maxBatches ?? 4;
  if (!Number.isSafeInteger(targetBlobs) || targetBlobs < 2) throw new RangeError(`targetBlobs must be an integer of at least 2, got ${targetBlobs}`);
  if (!Number.isSafeInteger(maxBatches) || maxBatches < 1) throw new RangeError(`maxBatches must be a positive integer, got ${maxBatches}`);
  const ids = await listObjectIds(store, 'index', opts.signal);
  const summaries = await readSummaries(store, key, ids, Math.floor(targetBlobs / 2), opts);

  const present = new Set(ids);
  const dead = new Set(summaries.flatMap((s) => s.supersedes).filter((id) => present.has(id)));
  const batches = planBatches(summaries.filter((s) => !dead.has(s.id) && s.file), targetBlobs, maxBatches);

  const written: string[] = [];
  for (const batch of batches) {
    opts.signal?.throwIfAborted();
    written.push(await writeIndexFile(store, key, mergeFiles(batch, present), opts.signal));
  }
  // Dead files first: until the files superseding them are gone, they stay dead whatever happens next.
  const removed = [...dead, ...batches.flat().map((s) => s.id)];
  for (const id of removed) await deleteObject(store, 'index', id, opts.signal);
  return { before: ids.length, after: ids.length + written.length - removed.length, written, removed };
}

async function readSummaries(
  store: BlobStore, key: MasterKey, ids: readonly string[], smallBelow: number, opts: CompactIndexOptions,
): Promise<FileSummary[]> {
  const out: FileSummary[] = new Array(ids.length);
  const read = async (i: number) => {
    const file = await readIndexFile(store, key, ids[i]!, opts.signal);
    const blobs = file.packs.reduce((n, p) => n + p.blobs.length, 0);
    out[i] = { id: ids[i]!, blobs, supersedes: file.supersedes, file: blobs < smallBelow ? file : undefined };
  };
  await runLimited(ids.map((_, i) => () => read(i)), opts.concurrency ?? 8);
  return out;
}

/** Groups small files, smallest first, into batches of at most targetBlobs; a batch of one merges nothing. */
function planBatches(small: FileSummary[], targetBlobs: number, maxBatches: number): FileSummary[][] {
  const batches: FileSummary[][] = [];
  let batch: FileSummary[] = [];
  let blobs = 0;
  const close = () => {
    if (batch.length > 1) batches.push(batch);
    batch = [];
    blobs = 0;
  };
  for (const s of [...small].sort((a, b) => a.blobs - b.blobs || (a.id < b.id ? -1 : 1))) {
    if (blobs + s.blobs > targetBlobs) close();
    if (batches.length === maxBatches) break;
    batch.push(s);
    blobs += s.blobs;
  }
  if (batches.length < maxBatches) close();
  return batches;
}

/**
 * One file with every pack entry of `batch` (a pack listed by several files once, each blob location once).
 * It supersedes the batch and whatever the batch superseded that is still present (ids already deleted are
 * not carried on, or the lists would grow with every run).
 */
function mergeFiles(batch: readonly FileSummary[], present: ReadonlySet<string>): IndexFile {
  const packs = new Map<string, { id: string; size: number; blobs: IndexBlob[]; seen: Set<string> }>();
  const supersedes = new Set<string>();
  for (const { id, file } of batch) {
    supersedes.add(id);
    for (const s of file!.supersedes) if (present.has(s)) supersedes.add(s);
    for (const p of file!.packs) {
      let pack = packs.get(p.id);
      if (!pack) packs.set(p.id, (pack = { id: p.id, size: p.size, blobs: [], seen: new Set() }));
      for (const b of p.blobs) {
        const at = `${b.id}@${b.offset}`;
        if (pack.seen.has(at)) continue;
        pack.seen.add(at);
        pack.blobs.push(b);
      }
    }
  }
  return {
    version: INDEX_VERSION,
    supersedes: [...supersedes].sort(),
    packs: [...packs.values()].map(({ id, size, blobs }) => ({ id, size, blobs })),
  };
}
