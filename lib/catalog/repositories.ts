// The Lifeboat repository behind a storage target, as the worker opens it. Its password is, in order:
// the target's sealed repositoryPasswordEnc, LIFEBOAT_REPOSITORY_PASSWORD, or a fresh random one that is
// sealed and stored on the target before the repository is created (an admin can reveal it for the
// CLI-only disaster-recovery path). A target without a repository gets one on first use.
import { openBlobStore, parseBlobStoreConfig } from '../blob';
import { S3BlobStore } from '../blob/s3';
import type { Db } from '../db/client';
import type { StorageTarget } from '../db/generated/client';
import { RepositoryNotFoundError } from '../repo/init';
import { resolveCacheRoot } from '../repo/cache/tree-cache';
import { Repository } from '../repo/repository';
import { repositoryPassword } from './repository-password';
import { blobConfigFor } from '../storage-targets/catalog';

export type OpenedTargetRepository = { repo: Repository; close: () => void };

export async function openTargetRepository(db: Db, target: StorageTarget, secretKey: string, opts: { create: boolean; signal?: AbortSignal }): Promise<OpenedTargetRepository> {
  const opened = openBlobStore(blobConfigFor(target, secretKey));
  try {
    const passphrase = await repositoryPassword(db, target, secretKey);
    let repo: Repository;
    try {
      repo = await Repository.open(opened.store, { passphrase }, { signal: opts.signal, cacheRoot: resolveCacheRoot() });
    } catch (err) {
      if (!(err instanceof RepositoryNotFoundError) || !opts.create) throw err;
      await opened.ensureExists(opts.signal);
      repo = await Repository.init(opened.store, { passphrase }, { cacheRoot: resolveCacheRoot() });
    }
    if (target.repositoryId !== repo.id) await db.storageTarget.update({ where: { id: target.id }, data: { repositoryId: repo.id } });
    return { repo, close: () => opened.close() };
  } catch (err) {
    opened.close();
    throw err;
  }
}

/**
 * Aborts incomplete multipart uploads older than `olderThanMs` under an S3 target's prefix (left by a
 * worker killed mid-upload). Younger ones may belong to a backup still running. Local targets: nothing to do.
 */
export async function abortStaleUploadsFor(target: StorageTarget, secretKey: string, olderThanMs = 3_600_000, signal?: AbortSignal): Promise<number> {
  const config = parseBlobStoreConfig(blobConfigFor(target, secretKey));
  if (config.kind !== 's3') return 0;
  const { kind: _kind, ...s3 } = config;
  const store = new S3BlobStore(s3);
  try {
    return (await store.abortStaleMultipartUploads(olderThanMs, { signal })).aborted.length;
  } finally {
    store.destroy();
  }
}
