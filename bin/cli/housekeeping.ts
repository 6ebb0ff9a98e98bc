// Housekeeping at the start of `lifeboat backup`, so an interrupted run (kill -9, power loss) costs nothing
// but time:
// - indexLeftoverPacks (lib/repo/leftover-packs.ts, shared with the worker): packs left unindexed by a
//   killed backup are indexed so the next backup reuses them.
// - abortStaleUploads: S3 only; aborts incomplete multipart uploads under the repository prefix older than
//   LIFEBOAT_STALE_UPLOAD_AGE (default 1h). Younger ones may belong to a backup still running elsewhere.
// Both are best effort: the caller turns a failure into a warning and the backup goes on.
// After the backup, tidyUpAfterBackup merges index files once there are many.
import { parseBlobStoreConfig } from '../../lib/blob';
import { repositoryLocation } from '../../lib/repo/location';
import { indexLeftoverPacks } from '../../lib/repo/leftover-packs';
import type { Lock } from '../../lib/repo/lock';
import type { CompactIndexResult } from '../../lib/repo/index';
import { mergeIndexAfterBackup } from '../../lib/repo/maintenance';
import type { Repository } from '../../lib/repo/repository';
export { indexLeftoverPacks, type LeftoverResult } from '../../lib/repo/leftover-packs';
import type { GlobalOptions } from './context';
import { describeError, UsageError } from './errors';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "2d" or plain milliseconds -> milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new UsageError(`${what} must be a duration such as 30m, 1h or 90s, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

export const DEFAULT_STALE_UPLOAD_AGE = '1h';

/** LIFEBOAT_STALE_UPLOAD_AGE in milliseconds (UsageError when malformed). */
export function staleUploadAge(env: Record<string, string | undefined> = process.env): number {
  return parseDuration(env.LIFEBOAT_STALE_UPLOAD_AGE || DEFAULT_STALE_UPLOAD_AGE, 'LIFEBOAT_STALE_UPLOAD_AGE');
}

/** Returns null for local repositories; otherwise how many stale uploads were aborted and how many kept. */
export async function abortStaleUploads(opts: GlobalOptions, env = process.env, signal?: AbortSignal): Promise<{ aborted: number; kept: number } | null> {
  const olderThanMs = staleUploadAge(env);
  const config = parseBlobStoreConfig(repositoryLocation(opts, env));
  if (config.kind !== 's3') return null;
  const { kind: _kind, ...s3config } = config;
  const { S3BlobStore } = await import('../../lib/blob/s3'); // the AWS SDK, for S3 repositories only
  const s3 = new S3BlobStore(s3config);
  try {
    const { aborted, kept } = await s3.abortStaleMultipartUploads(olderThanMs, { signal });
    return { aborted: aborted.length, kept };
  } finally {
    s3.destroy();
  }
}

/** Both of the above, before a backup; failures become warnings on stderr (the backup goes on). */
export async function tidyUpBeforeBackup(repo: Parameters<typeof indexLeftoverPacks>[0], opts: GlobalOptions, signal: AbortSignal, lock?: Lock | Promise<Lock>) {
  const out = { abortedUploads: 0, leftoverPacks: 0, leftoverBytes: 0, warnings: [] as string[] };
  const warn = (what: string, err: unknown) => {
    signal.throwIfAborted();
    const line = `${what}: ${describeError(err)}`;
    out.warnings.push(line);
    process.stderr.write(`lifeboat: warning: ${line}\n`);
  };
  // Independent listings: run at once (each is a round trip or more on S3); reported in this order.
  const [uploads, leftovers] = await Promise.allSettled([abortStaleUploads(opts, process.env, signal), indexLeftoverPacks(repo, signal, lock)]);
  // A lock the caller was taking and did not get: it reports that, and a failure here is only its echo.
  if (lock instanceof Promise && (await lock.then(() => false, () => true))) return out;
  if (uploads.status === 'fulfilled') out.abortedUploads = uploads.value?.aborted ?? 0;
  else if (uploads.reason instanceof UsageError) throw uploads.reason;
  else warn('could not clean up stale multipart uploads', uploads.reason);
  if (leftovers.status === 'fulfilled') {
    out.leftoverPacks = leftovers.value.packs;
    out.leftoverBytes = leftovers.value.bytes;
    for (const s of leftovers.value.skipped) warn('left a leftover pack alone', new Error(s));
  } else {
    warn('could not index packs left by an interrupted backup', leftovers.reason);
  }
  return out;
}

/**
 * After a backup, once its lock is released: merges the index when it has grown (lib/repo/maintenance.ts).
 * Best effort: a failure becomes a warning; null when nothing was merged.
 */
export function tidyUpAfterBackup(repo: Pick<Repository, 'store' | 'masterKey'>, signal: AbortSignal): Promise<CompactIndexResult | null> {
  return mergeIndexAfterBackup(repo, signal, (err) => {
    signal.throwIfAborted();
    process.stderr.write(`lifeboat: warning: could not merge index files: ${describeError(err)}\n`);
  });
}

export function describeCompaction(c: CompactIndexResult | null): string[] {
  return c && c.written.length ? [`merged ${c.removed.length} index files into ${c.written.length}`] : [];
}
