// What every repository command needs: the store from --repo / LIFEBOAT_REPOSITORY, the password from
// LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE or --password-file, and the opened repository. Errors name the
// missing setting; nothing here prints or logs a secret.
import { readFileSync } from 'node:fs';
import { openBlobStore, type BlobStore } from '../../lib/blob';
import { resolveCacheRoot } from '../../lib/repo/cache/tree-cache';
import type { RepositoryConfig } from '../../lib/repo/config';
import type { MasterKey } from '../../lib/repo/crypto/master-key';
import { openRepository, type OpenedRepository } from '../../lib/repo/init';
import { Repository } from '../../lib/repo/repository';
import { repositoryLocation, type LocationOptions } from '../../lib/repo/location';
import { prestartRestorePool } from '../../lib/sources/filesystem/restore-pool';
import { UsageError } from './errors';

export type GlobalOptions = LocationOptions & { passwordFile?: string; json?: boolean; cacheDir?: string; cache?: boolean };

/** --no-cache wins, then --cache-dir, then the environment (resolveCacheRoot). */
export function cacheRootFor(opts: GlobalOptions): string | null {
  if (opts.cache === false) return null;
  return opts.cacheDir ?? resolveCacheRoot();
}

export function openStore(opts: GlobalOptions): { store: BlobStore; ensureExists: () => Promise<void>; close: () => void } {
  const opened = openBlobStore(repositoryLocation(opts));
  return { store: opened.store, ensureExists: () => opened.ensureExists(), close: () => opened.close() };
}

export function readPassword(opts: { passwordFile?: string }, env = process.env, names = { value: 'LIFEBOAT_PASSWORD', file: 'LIFEBOAT_PASSWORD_FILE' }): string {
  const file = opts.passwordFile ?? env[names.file];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the password file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const password = text.replace(/\r?\n$/, '');
    if (!password) throw new UsageError(`the password file ${file} is empty`);
    return password;
  }
  const value = env[names.value];
  if (!value) throw new UsageError(`no password: set ${names.value} or ${names.file} (or pass --password-file)`);
  return value;
}

/**
 * The repository, opened with the password. `restore`: the command goes on to restore, so the restore
 * workers boot as soon as the key is unlocked, while the index loads (restore-pool.ts).
 */
export async function openRepo(opts: GlobalOptions, how: { restore?: boolean } = {}): Promise<{ repo: Repository; close: () => void }> {
  const { store, close } = openStore(opts);
  try {
    const onUnlocked = how.restore ? (key: MasterKey, config: RepositoryConfig) => prestartRestorePool(key, config.chunker.maxSize) : undefined;
    const repo = await Repository.open(store, { passphrase: readPassword(opts) }, { cacheRoot: cacheRootFor(opts), listEarly: true, onUnlocked });
    return { repo, close };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * The repository's key and config only: no index, no cache. For commands PostgreSQL runs once per WAL file
 * (wal-push, wal-fetch), where loading the index would cost more than the work.
 */
export async function openRepoKey(opts: GlobalOptions): Promise<{ store: BlobStore; opened: OpenedRepository; close: () => void }> {
  const { store, close } = openStore(opts);
  try {
    const opened = await openRepository(store, { passphrase: readPassword(opts) });
    return { store, opened, close };
  } catch (err) {
    close();
    throw err;
  }
}
