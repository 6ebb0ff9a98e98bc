// Packs in data/ that no index lists (a backup died after uploading them and before writing its index)
// are read back through their own authenticated headers (format §7) and listed in a new index file, so
// the next backup deduplicates against them instead of uploading the data again. Safe under the format's
// rules: a pack in data/ is complete (puts are atomic), §11.1 holds; the same pack or blob listed by
// several index files is allowed (§7, §8). Headers are read and indexed under a shared lock, so prune
// (exclusive) cannot delete a pack meanwhile. The listing may run while the lock is being taken (a round
// trip saved on S3): a pack listed then and deleted by a prune before the lock was granted is found gone
// and left out. A pack whose header does not open is skipped (reported), never indexed.
import { isNotFound } from '../blob/errors';
import { idFromKey } from './layout';
import { readPackHeader, storePackReader } from './pack';
import { INDEX_FILE_TARGET_BLOBS, writeIndexForPacks, type StoredPack } from './index/index';
import type { Lock } from './lock';
import type { Repository } from './repository';


export type LeftoverResult = { packs: number; blobs: number; bytes: number; skipped: string[] };

/**
 * `lock`: a shared lock the caller holds or is taking (a backup's own; kept held); otherwise one is taken
 * and released here.
 */
export async function indexLeftoverPacks(repo: Repository, signal?: AbortSignal, lock?: Lock | Promise<Lock>): Promise<LeftoverResult> {
  const result: LeftoverResult = { packs: 0, blobs: 0, bytes: 0, skipped: [] };
  const taking = lock ?? repo.lock('backup', { signal });
  Promise.resolve(taking).catch(() => {}); // awaited after the listing; a refusal meanwhile is not "unhandled"
  // The index as loaded when the repository was opened: a pack another backup indexed since then is
  // listed once more, which the format allows (the same pack in several index files).
  const indexed = new Set<string>();
  for (const p of repo.content.masterIndex.packs()) indexed.add(p.id);
  const leftovers: string[] = [];
  try {
    for await (const e of repo.store.list('data/', { signal })) {
      const id = idFromKey('data', e.key);
      if (id && !indexed.has(id)) leftovers.push(id);
    }
  } catch (err) {
    if (!lock) void Promise.resolve(taking).then((held) => held.release(), () => {});
    throw err;
  }
  const held = await taking;
  const locked = { signal: signal ? AbortSignal.any([signal, held.signal]) : held.signal };
  try {
    let batch: StoredPack[] = [];
    let batchBlobs = 0;
    const writeBatch = async () => {
      if (batch.length === 0) return;
      await writeIndexForPacks(repo.store, repo.masterKey, batch, { signal: locked.signal });
      batch = [];
      batchBlobs = 0;
    };
    for (const id of leftovers) {
      let pack: StoredPack;
      try {
        const reader = await storePackReader(repo.store, id, locked.signal);
        pack = { id, size: reader.size, entries: await readPackHeader(repo.masterKey, reader, `pack ${id}`) };
      } catch (err) {
        locked.signal.throwIfAborted();
        if (!isNotFound(err)) result.skipped.push(`pack ${id}: ${(err as Error).message}`); // else deleted by a prune since the listing
        continue;
      }
      if (batchBlobs + pack.entries.length > INDEX_FILE_TARGET_BLOBS) await writeBatch();
      batch.push(pack);
      batchBlobs += pack.entries.length;
      result.packs++;
      result.blobs += pack.entries.length;
      result.bytes += pack.size;
    }
    await writeBatch();
    if (result.packs > 0) await repo.content.load(locked.signal);
    return result;
  } finally {
    if (!lock) await held.release().catch(() => {});
  }
}
