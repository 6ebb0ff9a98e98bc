// The Lifeboat repository behind a storage target, as the worker opens it. Its password is, in order:
// the target's sealed repositoryPasswordEnc, LIFEBOAT_REPOSITORY_PASSWORD, or a fresh random one that is
// sealed and stored on the target before the repository is created (an admin can reveal it for the
// CLI-only disaster-recovery path). A target without a repository gets one on first use.
import { openBlobStore } from '../blob';
import type { Db } from '../db/client';
import type { StorageTarget } from '../db/generated/client';
import { RepositoryNotFoundError } from '../repo/init';
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
      repo = await Repository.open(opened.store, { passphrase }, opts.signal);
    } catch (err) {
      if (!(err instanceof RepositoryNotFoundError) || !opts.create) throw err;
      await opened.ensureExists(opts.signal);
      repo = await Repository.init(opened.store, { passphrase });
    }
    if (target.repositoryId !== repo.id) await db.storageTarget.update({ where: { id: target.id }, data: { repositoryId: repo.id } });
    return { repo, close: () => opened.close() };
  } catch (err) {
    opened.close();
    throw err;
  }
}
