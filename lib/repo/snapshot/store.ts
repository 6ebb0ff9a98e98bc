// Snapshot objects in the repository (docs/repository-format.md §9, §11): `snapshots/<id>`, sealed JSON with
// AAD `lifeboat/v1/snapshot`, id = SHA-256 of the stored bytes.
// - saveSnapshot validates before writing (a bad manifest is never stored) and returns the new id. Callers
//   MUST write it last, after every pack and index it depends on (§11.2-3).
// - loadSnapshot throws IntegrityError (hash, key or AAD mismatch), SnapshotFormatError (valid box, bad
//   JSON shape) or BlobNotFoundError, each naming `snapshots/<id>`.
// - listSnapshots loads every snapshot with bounded concurrency and returns them oldest first (ties by id).
//   Snapshots deleted while listing (a concurrent forget) are skipped; an unreadable one rejects the whole
//   listing unless `onError` is given, which then receives it and the listing goes on without it.
// - deleteSnapshot removes one manifest (retention "forget"); data stays until prune. Idempotent.
// All functions are safe to run concurrently with each other and with other processes.
import { isNotFound, type BlobStore } from '../../blob';
import type { MasterKey } from '../crypto/master-key';
import { AAD } from '../crypto/sealed-box';
import { deleteObject, listObjectIds, loadObject, saveObject } from '../objects';
import { objectKey } from '../layout';
import { parseSnapshot, type Snapshot } from './schema';

export interface SnapshotEntry {
  id: string;
  snapshot: Snapshot;
}

export interface ListSnapshotsOptions {
  signal?: AbortSignal;
  /** Parallel loads (default 8). */
  concurrency?: number;
  /** Called for a snapshot that cannot be loaded; without it, such a snapshot fails the listing. */
  onError?: (id: string, err: unknown) => void;
}

export async function saveSnapshot(store: BlobStore, key: MasterKey, snapshot: Snapshot, signal?: AbortSignal): Promise<string> {
  const valid = parseSnapshot(snapshot, 'snapshot to save');
  return saveObject(store, 'snapshots', key, AAD.snapshot, valid, signal);
}

export async function loadSnapshot(store: BlobStore, key: MasterKey, id: string, signal?: AbortSignal): Promise<Snapshot> {
  const value = await loadObject<unknown>(store, 'snapshots', key, AAD.snapshot, id, signal);
  return parseSnapshot(value, objectKey('snapshots', id));
}

export async function deleteSnapshot(store: BlobStore, id: string, signal?: AbortSignal): Promise<void> {
  await deleteObject(store, 'snapshots', id, signal);
}

export async function listSnapshots(store: BlobStore, key: MasterKey, opts: ListSnapshotsOptions = {}): Promise<SnapshotEntry[]> {
  const ids = await listObjectIds(store, 'snapshots', opts.signal);
  const loaded = await mapBounded(ids, opts.concurrency ?? 8, async (id): Promise<SnapshotEntry | null> => {
    try {
      return { id, snapshot: await loadSnapshot(store, key, id, opts.signal) };
    } catch (err) {
      if (isNotFound(err)) return null; // forgotten while we listed
      if (!opts.onError || opts.signal?.aborted) throw err;
      opts.onError(id, err);
      return null;
    }
  }, opts.signal);
  return loaded.filter((e): e is SnapshotEntry => e !== null).sort(compareEntries);
}

/** Oldest first by `time`, then by id so equal times still give one stable order. */
export function compareEntries(a: SnapshotEntry, b: SnapshotEntry): number {
  const dt = Date.parse(a.snapshot.time) - Date.parse(b.snapshot.time);
  if (dt !== 0) return dt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Maps with at most `limit` calls in flight; rejects with the first failure (remaining items are not started). */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
