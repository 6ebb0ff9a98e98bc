/**
 * Key slot management (docs/repository-format.md §4): add passphrase and AWS KMS slots, list them (never
 * secrets), remove one, change a passphrase.
 *
 * Guarantees:
 * - A slot is written, read back and opened with the KEK just used (for KMS: through a real Decrypt call)
 *   before an add returns; a slot that does not round-trip is deleted again and the add fails.
 * - A slot is only added for the repository's own master key: when `config` exists it must open with
 *   the key given (MasterKeyMismatchError otherwise). Before init has written config there is nothing to check.
 * - removeKeySlot refuses (KeySlotRefusedError) to remove the last well-formed slot, including the slot the
 *   caller is opened with when no other exists. changePassphrase adds the new slot before removing the old.
 * Concurrency: adds are independent (random ids). Two removals racing on different slots are not
 *   coordinated (S3 has no compare-and-swap here); run key management one at a time.
 */
import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { getBuffer, isNotFound, type BlobStore } from '../../blob';
import { masterKeyBytes, type MasterKey } from '../crypto/master-key';
import { AAD, IntegrityError } from '../crypto/sealed-box';
import { CONFIG_KEY } from '../layout';
import { openJson } from '../objects';
import { KeySlotRefusedError, KeySlotNotFoundError, MasterKeyMismatchError } from './errors';
import type { KmsClientLike } from './kms';
import { DEFAULT_SCRYPT, deriveKek, newSalt, scryptParamsSchema, type ScryptParams } from './passphrase';
import { unwrapMasterKey, wrapMasterKey, type KeySlot, type KeySlotKind } from './slot-format';
import { deleteKeySlot, readAllKeySlots, readKeySlot, writeKeySlot } from './slot-store';

export interface AddSlotOptions {
  label?: string;
  /** Default: os.hostname(). */
  hostname?: string;
}

export interface AddPassphraseSlotOptions extends AddSlotOptions {
  /** scrypt cost; default DEFAULT_SCRYPT (N 32768, r 8, p 1). */
  kdf?: Partial<ScryptParams>;
}

export interface AddKmsSlotOptions extends AddSlotOptions {
  keyId: string;
  region: string;
}

export interface KeySlotInfo {
  id: string;
  kind: KeySlotKind;
  label: string;
  created: string;
  hostname: string;
  kdf?: { algorithm: 'scrypt' } & ScryptParams;
  kms?: { keyId: string; region: string };
}

function commonFields(opts: AddSlotOptions) {
  return { version: 1 as const, created: new Date().toISOString(), label: opts.label ?? '', hostname: opts.hostname ?? hostname() };
}

/** Throws MasterKeyMismatchError if `config` exists and does not open with masterKey. */
async function assertRepositoryKey(store: BlobStore, masterKey: MasterKey): Promise<void> {
  let box: Buffer;
  try {
    box = await getBuffer(store, CONFIG_KEY);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  try {
    openJson(masterKey, AAD.config, box, CONFIG_KEY);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    throw new MasterKeyMismatchError(`the master key given does not open the config of ${store.describe()}: refusing to add a key slot for another key`);
  }
}

/** Writes the slot, then reads it back and opens it with kek; deletes it again if that fails. */
async function writeVerified(store: BlobStore, slot: KeySlot, kek: Buffer, masterKey: MasterKey): Promise<string> {
  const id = await writeKeySlot(store, slot);
  try {
    const back = await readKeySlot(store, id);
    const opened = masterKeyBytes(unwrapMasterKey(id, kek, back.wrapped));
    if (!timingSafeEqual(opened, masterKeyBytes(masterKey))) throw new IntegrityError(`keys/${id}: read back a different key`);
    return id;
  } catch (err) {
    await deleteKeySlot(store, id).catch(() => {});
    throw err;
  }
}

export async function addPassphraseSlot(store: BlobStore, masterKey: MasterKey, passphrase: string, opts: AddPassphraseSlotOptions = {}): Promise<string> {
  if (passphrase.normalize('NFC').length === 0) throw new KeySlotRefusedError('refusing to add a passphrase key slot with an empty passphrase');
  const parsed = scryptParamsSchema.safeParse({ ...DEFAULT_SCRYPT, ...opts.kdf });
  if (!parsed.success) throw new KeySlotRefusedError(`invalid scrypt parameters: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const params = parsed.data;
  await assertRepositoryKey(store, masterKey);
  const salt = newSalt();
  const kek = await deriveKek(passphrase, salt, params);
  try {
    const slot: KeySlot = {
      ...commonFields(opts),
      kind: 'passphrase',
      kdf: { algorithm: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') },
      wrapped: wrapMasterKey(kek, masterKey),
    };
    return await writeVerified(store, slot, kek, masterKey);
  } finally {
    kek.fill(0);
  }
}

export async function addKmsSlot(store: BlobStore, masterKey: MasterKey, kms: KmsClientLike, opts: AddKmsSlotOptions): Promise<string> {
  if (!opts.keyId || !opts.region) throw new KeySlotRefusedError('an aws-kms key slot needs a keyId and a region');
  await assertRepositoryKey(store, masterKey);
  const dataKey = await kms.generateDataKey(opts.keyId);
  const kek = dataKey.plaintext;
  try {
    const slot: KeySlot = {
      ...commonFields(opts),
      kind: 'aws-kms',
      kms: { keyId: opts.keyId, region: opts.region, ciphertextBlob: dataKey.ciphertextBlob.toString('base64') },
      wrapped: wrapMasterKey(kek, masterKey),
    };
    // Prove that Decrypt works too (a role allowed GenerateDataKey but not Decrypt would lock us out).
    const again = await kms.decrypt(dataKey.ciphertextBlob, opts.keyId);
    const same = again.length === kek.length && timingSafeEqual(again, kek);
    if (again !== kek) again.fill(0);
    if (!same) throw new KeySlotRefusedError(`KMS key ${opts.keyId}: Decrypt did not return the data key GenerateDataKey made; slot not added`);
    return await writeVerified(store, slot, kek, masterKey);
  } finally {
    kek.fill(0);
  }
}

function info(id: string, slot: KeySlot): KeySlotInfo {
  const base = { id, kind: slot.kind, label: slot.label, created: slot.created, hostname: slot.hostname };
  if (slot.kind === 'passphrase') return { ...base, kdf: { algorithm: 'scrypt', N: slot.kdf.N, r: slot.kdf.r, p: slot.kdf.p } };
  return { ...base, kms: { keyId: slot.kms.keyId, region: slot.kms.region } };
}

/** Every slot, sorted by id, without secrets. Throws KeySlotFormatError (naming keys/<id>) for a malformed slot. */
export async function listKeySlots(store: BlobStore): Promise<KeySlotInfo[]> {
  const { slots, unreadable } = await readAllKeySlots(store);
  if (unreadable[0]) throw unreadable[0];
  return slots.map((s) => info(s.id, s.slot));
}

export async function removeKeySlot(store: BlobStore, id: string, opts: { currentSlotId?: string } = {}): Promise<void> {
  const { slots, unreadable } = await readAllKeySlots(store);
  const exists = slots.some((s) => s.id === id) || unreadable.some((e) => e.slotId === id);
  if (!exists) throw new KeySlotNotFoundError(id, store.describe());
  if (!slots.some((s) => s.id !== id)) {
    const why = id === opts.currentSlotId
      ? 'it is the slot this session opened the repository with and no other usable key slot exists'
      : `it is the last usable key slot of ${store.describe()}`;
    throw new KeySlotRefusedError(`refusing to remove keys/${id}: ${why}; without it the repository could never be opened again (add another slot first)`);
  }
  await deleteKeySlot(store, id);
}

/** Adds a passphrase slot for newPassphrase (same label unless given), then removes currentSlotId. Returns the new slot id. */
export async function changePassphrase(
  store: BlobStore, masterKey: MasterKey, currentSlotId: string, newPassphrase: string, opts: AddPassphraseSlotOptions = {},
): Promise<string> {
  const current = await readKeySlot(store, currentSlotId);
  if (current.kind !== 'passphrase') {
    throw new KeySlotRefusedError(`keys/${currentSlotId} is an ${current.kind} slot, not a passphrase slot: add a passphrase slot instead`);
  }
  const newId = await addPassphraseSlot(store, masterKey, newPassphrase, { ...opts, label: opts.label ?? current.label });
  await removeKeySlot(store, currentSlotId, { currentSlotId: newId });
  return newId;
}
