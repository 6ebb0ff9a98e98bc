/**
 * Opening a repository's master key from its key slots (docs/repository-format.md §4).
 *
 * - openWithPassphrase tries every passphrase slot (scrypt parameters read from each slot), at most
 *   SCRYPT_CONCURRENCY at a time (scrypt takes ~32 MiB and a libuv thread each with the default cost),
 *   and stops starting new attempts once one slot opens. Fails with WrongPasswordError "wrong password
 *   (tried N key slots)" when none opens; a slot whose bytes were altered is indistinguishable from a
 *   wrong passphrase (AES-GCM), and malformed slots are named in that error. With no passphrase slot at
 *   all it fails with NoKeySlotError.
 * - openWithKms tries every aws-kms slot in turn (KMS Decrypt of its ciphertextBlob, then the sealed box);
 *   fails with KmsError listing each slot's failure, or NoKeySlotError when there is none.
 * A malformed slot never prevents opening through another, well-formed one.
 * Stateless; safe to call concurrently. KEKs are zeroed after use.
 */
import type { BlobStore } from '../../blob';
import type { MasterKey } from '../crypto/master-key';
import { IntegrityError } from '../crypto/sealed-box';
import { countSlots, KmsError, NoKeySlotError, WrongPasswordError } from './errors';
import type { KmsClientFactory, KmsClientLike } from './kms';
import { deriveKek } from './passphrase';
import { unwrapMasterKey, type KeySlotKind, type KmsSlot, type PassphraseSlot } from './slot-format';
import { readAllKeySlots, type AllKeySlots, type StoredKeySlot } from './slot-store';

export interface OpenedKey {
  masterKey: MasterKey;
  /** The slot that opened; pass it as currentSlotId to removeKeySlot / changePassphrase. */
  slotId: string;
}

export const SCRYPT_CONCURRENCY = 2;

type Stored<S> = { id: string; slot: S };

function ofKind<K extends KeySlotKind>(all: AllKeySlots, kind: K, store: BlobStore): Stored<Extract<PassphraseSlot | KmsSlot, { kind: K }>>[] {
  const found = all.slots.filter((s: StoredKeySlot) => s.slot.kind === kind) as Stored<Extract<PassphraseSlot | KmsSlot, { kind: K }>>[];
  if (found.length > 0) return found;
  if (all.slots.length === 0 && all.unreadable[0]) throw all.unreadable[0];
  const others = all.slots.length === 0 ? 'it has no key slots at all (keys/ is empty)'
    : `it has ${countSlots(all.slots.length)} of another kind (${[...new Set(all.slots.map((s) => s.slot.kind))].join(', ')})`;
  throw new NoKeySlotError(`no ${kind} key slot in ${store.describe()}: ${others}`);
}

/** Runs fn over items, at most `limit` at once, until one returns a value; returns it (or undefined). */
async function firstResult<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R | undefined>): Promise<R | undefined> {
  let next = 0;
  let found: R | undefined;
  const worker = async () => {
    while (found === undefined && next < items.length) {
      const r = await fn(items[next++]!);
      if (r !== undefined) found ??= r;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return found;
}

async function tryPassphrase(id: string, slot: PassphraseSlot, passphrase: string): Promise<OpenedKey | undefined> {
  const kek = await deriveKek(passphrase, Buffer.from(slot.kdf.salt, 'base64'), slot.kdf);
  try {
    return { masterKey: unwrapMasterKey(id, kek, slot.wrapped), slotId: id };
  } catch (err) {
    if (err instanceof IntegrityError) return undefined;
    throw err;
  } finally {
    kek.fill(0);
  }
}

export async function openWithPassphrase(store: BlobStore, passphrase: string): Promise<OpenedKey> {
  const all = await readAllKeySlots(store);
  const candidates = ofKind(all, 'passphrase', store);
  const opened = await firstResult(candidates, SCRYPT_CONCURRENCY, (c) => tryPassphrase(c.id, c.slot, passphrase));
  if (!opened) throw new WrongPasswordError(candidates.length, all.unreadable);
  return opened;
}

async function tryKms(id: string, slot: KmsSlot, client: KmsClientLike): Promise<OpenedKey> {
  const kek = await client.decrypt(Buffer.from(slot.kms.ciphertextBlob, 'base64'), slot.kms.keyId);
  try {
    return { masterKey: unwrapMasterKey(id, kek, slot.wrapped), slotId: id };
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    throw new IntegrityError(`the wrapped master key does not open with the data key KMS returned (slot altered or corrupted)`);
  } finally {
    kek.fill(0);
  }
}

/** `kms` is one client for every slot, or a factory choosing one per slot (keyId, region). */
export async function openWithKms(store: BlobStore, kms: KmsClientLike | KmsClientFactory): Promise<OpenedKey> {
  const all = await readAllKeySlots(store);
  const candidates = ofKind(all, 'aws-kms', store);
  const failures: string[] = [];
  for (const { id, slot } of candidates) {
    const client = typeof kms === 'function' ? kms({ keyId: slot.kms.keyId, region: slot.kms.region }) : kms;
    try {
      return await tryKms(id, slot, client);
    } catch (err) {
      failures.push(`keys/${id} (key ${slot.kms.keyId} in ${slot.kms.region}): ${(err as Error).message}`);
    }
  }
  failures.push(...all.unreadable.map((e) => e.message));
  throw new KmsError(`could not open any of ${countSlots(candidates.length)} of kind aws-kms in ${store.describe()}: ${failures.join('; ')}`);
}
