// Housekeeping at the start of `lifeboat backup`, so an interrupted run (kill -9, power loss) costs nothing
// but time:
// - indexLeftoverPacks: packs in data/ that no index lists (a backup died after uploading them and before
//   writing its index) are read back through their own authenticated headers (format §7) and listed in a
//   new index file, so the next backup deduplicates against them instead of uploading the data again.
//   Safe under the format's rules: a pack in data/ is complete (puts are atomic), §11.1 holds; the same pack
//   or blob listed by several index files is allowed (§7, §8). Runs under a shared lock, so prune (exclusive)
//   cannot delete a pack while it is being listed. A pack whose header does not open is skipped (reported),
//   never indexed.
// - abortStaleUploads: S3 only; aborts incomplete multipart uploads under the repository prefix older than
//   LIFEBOAT_STALE_UPLOAD_AGE (default 1h). Younger ones may belong to a backup still running elsewhere.
// Both are best effort: the caller turns a failure into a warning and the backup goes on.
import { parseBlobStoreConfig, S3BlobStore } from '../../lib/blob';
import { idFromKey } from '../../lib/repo/layout';
import { readPackHeader, storePackReader } from '../../lib/repo/pack';
import { writeIndexForPacks, type StoredPack } from '../../lib/repo/index';
import { repositoryLocation } from '../../lib/repo/location';
import type { Repository } from '../../lib/repo/repository';
import type { GlobalOptions } from './context';
import { UsageError } from './errors';

/** Index files written here stay within the format's recommended size (§8). */
const MAX_BLOBS_PER_INDEX = 50_000;

export type LeftoverResult = { packs: number; blobs: number; bytes: number; skipped: string[] };

export async function indexLeftoverPacks(repo: Repository, signal?: AbortSignal): Promise<LeftoverResult> {
  const result: LeftoverResult = { packs: 0, blobs: 0, bytes: 0, skipped: [] };
  const held = await repo.lock('backup', { signal });
  const lock = { signal: signal ? AbortSignal.any([signal, held.signal]) : held.signal };
  try {
    await repo.content.load(lock.signal); // another backup may have indexed packs since the repository was opened
    const indexed = new Set<string>();
    for (const p of repo.content.masterIndex.packs()) indexed.add(p.id);
    const leftovers: string[] = [];
    for await (const e of repo.store.list('data/', { signal: lock.signal })) {
      const id = idFromKey('data', e.key);
      if (id && !indexed.has(id)) leftovers.push(id);
    }
    let batch: StoredPack[] = [];
    let batchBlobs = 0;
    const writeBatch = async () => {
      if (batch.length === 0) return;
      await writeIndexForPacks(repo.store, repo.masterKey, batch, { signal: lock.signal });
      batch = [];
      batchBlobs = 0;
    };
    for (const id of leftovers) {
      let pack: StoredPack;
      try {
        const reader = await storePackReader(repo.store, id, lock.signal);
        pack = { id, size: reader.size, entries: await readPackHeader(repo.masterKey, reader, `pack ${id}`) };
      } catch (err) {
        lock.signal.throwIfAborted();
        result.skipped.push(`pack ${id}: ${(err as Error).message}`);
        continue;
      }
      if (batchBlobs + pack.entries.length > MAX_BLOBS_PER_INDEX) await writeBatch();
      batch.push(pack);
      batchBlobs += pack.entries.length;
      result.packs++;
      result.blobs += pack.entries.length;
      result.bytes += pack.size;
    }
    await writeBatch();
    if (result.packs > 0) await repo.content.load(lock.signal);
    return result;
  } finally {
    await held.release().catch(() => {});
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "2d" or plain milliseconds -> milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new UsageError(`${what} must be a duration such as 30m, 1h or 90s, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

export const DEFAULT_STALE_UPLOAD_AGE = '1h';

/** Returns null for local repositories; otherwise how many stale uploads were aborted and how many kept. */
export async function abortStaleUploads(opts: GlobalOptions, env = process.env, signal?: AbortSignal): Promise<{ aborted: number; kept: number } | null> {
  const olderThanMs = parseDuration(env.LIFEBOAT_STALE_UPLOAD_AGE || DEFAULT_STALE_UPLOAD_AGE, 'LIFEBOAT_STALE_UPLOAD_AGE');
  const config = parseBlobStoreConfig(repositoryLocation(opts, env));
  if (config.kind !== 's3') return null;
  const { kind: _kind, ...s3config } = config;
  const s3 = new S3BlobStore(s3config);
  try {
    const { aborted, kept } = await s3.abortStaleMultipartUploads(olderThanMs, { signal });
    return { aborted: aborted.length, kept };
  } finally {
    s3.destroy();
  }
}
