// Index files in storage (docs/repository-format.md §8, §11): index/<sha256 of the stored bytes>, sealed
// JSON with AAD lifeboat/v1/index.
// - readIndexFile: loadObject (hash, then authenticated decryption) + parseIndexFile; errors name
//   "index/<id>" (IntegrityError for damage, IndexFormatError for a bad or unknown format).
// - writeIndexFile: the caller MUST have completely stored every pack listed (§11.1); writing is atomic.
// - loadMasterIndex: lists index/, reads the files with bounded concurrency (each parsed file is dropped
//   once merged, so memory holds the MasterIndex plus `concurrency` files), honours `supersedes`.
//   Any unreadable index file fails the load (nothing is silently ignored); aborts reject with the reason.
import type { BlobStore } from '../../blob';
import type { MasterKey } from '../crypto/master-key';
import { AAD } from '../crypto/sealed-box';
import { listObjectIds, loadObject, saveObject } from '../objects';
import { MasterIndex } from './master';
import { indexFileFor, parseIndexFile, type IndexFile, type StoredPack } from './schema';

export async function readIndexFile(store: BlobStore, key: MasterKey, id: string, signal?: AbortSignal): Promise<IndexFile> {
  const value = await loadObject<unknown>(store, 'index', key, AAD.index, id, signal);
  return parseIndexFile(value, `index/${id}`);
}

/** Stores `file` and returns its id. */
export async function writeIndexFile(store: BlobStore, key: MasterKey, file: IndexFile, signal?: AbortSignal): Promise<string> {
  return saveObject(store, 'index', key, AAD.index, file, signal);
}

/** Builds and stores the index file for packs that are already stored; returns its id and content. */
export async function writeIndexForPacks(
  store: BlobStore, key: MasterKey, packs: readonly StoredPack[], opts: { supersedes?: readonly string[]; signal?: AbortSignal } = {},
): Promise<{ id: string; file: IndexFile }> {
  const file = indexFileFor(packs, opts.supersedes);
  return { id: await writeIndexFile(store, key, file, opts.signal), file };
}

export interface LoadIndexOptions {
  signal?: AbortSignal;
  /** Index files read at once (default 8). */
  concurrency?: number;
}

export async function loadMasterIndex(store: BlobStore, key: MasterKey, opts: LoadIndexOptions = {}): Promise<MasterIndex> {
  const { signal } = opts;
  const ids = await listObjectIds(store, 'index', signal);
  const index = new MasterIndex();
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < ids.length && !failed) {
      const id = ids[next++]!;
      try {
        index.add(id, await readIndexFile(store, key, id, signal), { deferPurge: true });
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, ids.length)) }, worker);
  await Promise.all(workers);
  index.purge();
  return index;
}
