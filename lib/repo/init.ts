/**
 * Creating and opening a repository (docs/repository-format.md §3-§5).
 *
 * initRepository writes, in this order: one key slot, the sealed config, the marker LAST. A prefix with a
 * marker is refused (RepositoryExistsError). Without a marker, leftovers of an interrupted init (keys/ and
 * config only) are deleted first and init proceeds; if any other repository object is present (index/,
 * snapshots/, data/, locks/), init refuses (RepositoryExistsError): that is a repository that lost its marker,
 * and its data must not be lost. After writing the marker, init reads it back and fails if a concurrent init
 * won the race. Objects of other software under the prefix are left alone.
 *
 * openRepository: no marker -> RepositoryNotFoundError; unknown version -> RepositoryFormatError (from
 * config.ts); wrong passphrase -> WrongPasswordError, KMS failure -> KmsError (keys/); config whose id is
 * not the marker's -> RepositoryFormatError. Read-only; safe to call concurrently.
 */
import { randomBytes } from 'node:crypto';
import { isNotFound, type BlobStore } from '../blob';
import { generateMasterKey, type MasterKey } from './crypto/master-key';
import { newConfig, readConfig, readMarker, RepositoryFormatError, writeConfig, writeMarker, type RepositoryConfig } from './config';
import {
  addKmsSlot, addPassphraseSlot, openWithKms, openWithPassphrase, type AddPassphraseSlotOptions, type KmsClientFactory,
  type KmsClientLike,
} from './keys';
import { CONFIG_KEY, MARKER_KEY, objectKey } from './layout';

export class RepositoryNotFoundError extends Error {
  readonly code = 'REPO_NOT_FOUND' as const;
  constructor(where: string) {
    super(`no Lifeboat repository at ${where} (run \`lifeboat init\`)`);
    this.name = 'RepositoryNotFoundError';
  }
}

export class RepositoryExistsError extends Error {
  readonly code = 'REPO_EXISTS' as const;
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryExistsError';
  }
}

export type InitCredentials = { passphrase: string } | { kms: KmsClientLike; keyId: string; region: string };
/** For KMS, one client for every slot or a factory choosing one per slot's key and region. */
export type OpenCredentials = { passphrase: string } | { kms: KmsClientLike | KmsClientFactory };

export interface InitOptions {
  /** Label of the first key slot (default "initial"). */
  label?: string;
  /** scrypt cost of a passphrase slot (default N 32768, r 8, p 1). */
  kdf?: AddPassphraseSlotOptions['kdf'];
}

export interface OpenedRepository {
  id: string;
  masterKey: MasterKey;
  config: RepositoryConfig;
  /** The key slot that opened (or was created). */
  slotId: string;
}

const DATA_DIRS = ['index/', 'snapshots/', 'data/', 'locks/', 'wal/'] as const;

async function firstKey(store: BlobStore, prefix: string): Promise<string | undefined> {
  for await (const entry of store.list(prefix)) return entry.key;
  return undefined;
}

async function exists(store: BlobStore, key: string): Promise<boolean> {
  try {
    await store.head(key);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Refuses an existing repository; removes what an interrupted init left (keys/ and config only). */
async function prepareEmptyLocation(store: BlobStore): Promise<void> {
  const where = store.describe();
  if (await exists(store, MARKER_KEY)) throw new RepositoryExistsError(`a Lifeboat repository already exists at ${where}`);
  for (const dir of DATA_DIRS) {
    const found = await firstKey(store, dir);
    if (found !== undefined) {
      throw new RepositoryExistsError(
        `${where} has no ${MARKER_KEY} marker but holds repository objects (${found}): refusing to initialise over what ` +
          'may be a repository that lost its marker; use an empty location',
      );
    }
  }
  for await (const entry of store.list('keys/')) await store.delete(entry.key);
  await store.delete(CONFIG_KEY);
}

export async function initRepository(store: BlobStore, credentials: InitCredentials, opts: InitOptions = {}): Promise<OpenedRepository> {
  await prepareEmptyLocation(store);
  const id = randomBytes(32).toString('hex');
  const masterKey = generateMasterKey();
  const label = opts.label ?? 'initial';
  const slotId = 'passphrase' in credentials
    ? await addPassphraseSlot(store, masterKey, credentials.passphrase, { label, kdf: opts.kdf })
    : await addKmsSlot(store, masterKey, credentials.kms, { label, keyId: credentials.keyId, region: credentials.region });
  const config = newConfig(id);
  await writeConfig(store, masterKey, config);
  await writeMarker(store, id);
  await checkInitWon(store, id, masterKey, slotId);
  return { id, masterKey, config, slotId };
}

/** Best-effort detection of a concurrent init of the same location: everything read back must be ours. */
async function checkInitWon(store: BlobStore, id: string, masterKey: MasterKey, slotId: string): Promise<void> {
  const lost = (what: string) => new RepositoryExistsError(
    `another init of ${store.describe()} ran at the same time (${what}); check the location and open or re-run init`,
  );
  const marker = await readMarker(store);
  if (marker?.id !== id) throw lost(`marker id ${marker?.id ?? 'missing'}`);
  const config = await readConfig(store, masterKey).catch(() => undefined);
  if (config?.id !== id) throw lost('the config is not this init\'s');
  if (!(await exists(store, objectKey('keys', slotId)))) throw lost('this init\'s key slot is gone');
}

export async function openRepository(store: BlobStore, credentials: OpenCredentials): Promise<OpenedRepository> {
  // The marker and the key slots are read at once (each request is a round trip, 5-50 ms on S3); a
  // missing marker still wins over whatever the key slots said.
  const [markerRead, keyOpened] = await Promise.allSettled([
    readMarker(store),
    'passphrase' in credentials ? openWithPassphrase(store, credentials.passphrase) : openWithKms(store, credentials.kms),
  ]);
  if (markerRead.status === 'rejected') throw markerRead.reason;
  const marker = markerRead.value;
  if (!marker) throw new RepositoryNotFoundError(store.describe());
  if (keyOpened.status === 'rejected') throw keyOpened.reason;
  const { masterKey, slotId } = keyOpened.value;
  const config = await readConfig(store, masterKey);
  if (config.id !== marker.id) {
    throw new RepositoryFormatError(
      `${CONFIG_KEY} of ${store.describe()} belongs to repository ${config.id}, but the ${MARKER_KEY} marker says ${marker.id}: the repository is damaged or was mixed with another`,
    );
  }
  return { id: marker.id, masterKey, config, slotId };
}
