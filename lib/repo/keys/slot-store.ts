/**
 * Key slot objects in a BlobStore: keys/<id>, id = 32 random bytes in hex (docs/repository-format.md §1, §4).
 *
 * - writeKeySlot puts a new slot under a fresh random id (never overwrites: ids are 256-bit random).
 * - readKeySlot throws KeySlotNotFoundError if the slot is gone, KeySlotFormatError if it is malformed.
 * - readAllKeySlots lists keys/ and reads every slot: well-formed ones in `slots` (sorted by id), malformed
 *   ones as errors in `unreadable`. A slot deleted between list and get is skipped (concurrent removal).
 * Storage failures propagate as BlobErrors.
 */
import { randomBytes } from 'node:crypto';
import { getBuffer, isNotFound, type BlobStore } from '../../blob';
import { objectKey } from '../layout';
import { listObjectIds } from '../objects';
import { KeySlotFormatError, KeySlotNotFoundError } from './errors';
import { parseKeySlot, serializeKeySlot, type KeySlot } from './slot-format';

export interface StoredKeySlot {
  id: string;
  slot: KeySlot;
}

export interface AllKeySlots {
  slots: StoredKeySlot[];
  unreadable: KeySlotFormatError[];
}

export function newKeySlotId(): string {
  return randomBytes(32).toString('hex');
}

export async function writeKeySlot(store: BlobStore, slot: KeySlot): Promise<string> {
  const id = newKeySlotId();
  const bytes = serializeKeySlot(slot);
  await store.put(objectKey('keys', id), () => bytes, { contentLength: bytes.length });
  return id;
}

export async function readKeySlot(store: BlobStore, id: string): Promise<KeySlot> {
  let bytes: Buffer;
  try {
    bytes = await getBuffer(store, objectKey('keys', id));
  } catch (err) {
    if (isNotFound(err)) throw new KeySlotNotFoundError(id, store.describe());
    throw err;
  }
  return parseKeySlot(id, bytes);
}

export async function readAllKeySlots(store: BlobStore): Promise<AllKeySlots> {
  const ids = (await listObjectIds(store, 'keys')).sort();
  const read = await Promise.all(ids.map(async (id) => {
    try {
      return { id, slot: await readKeySlot(store, id) };
    } catch (err) {
      if (err instanceof KeySlotNotFoundError) return undefined;
      if (err instanceof KeySlotFormatError) return err;
      throw err;
    }
  }));
  const out: AllKeySlots = { slots: [], unreadable: [] };
  for (const r of read) {
    if (r instanceof KeySlotFormatError) out.unreadable.push(r);
    else if (r) out.slots.push(r);
  }
  return out;
}

export async function deleteKeySlot(store: BlobStore, id: string): Promise<void> {
  await store.delete(objectKey('keys', id));
}
