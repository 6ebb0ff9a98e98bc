// Blobs inside packs (docs/repository-format.md §2.2, §2.3, §6, §7): a blob is stored as a sealed box whose
// AAD is its raw 32-byte content id and whose payload is the §2.3 encoding of its plaintext.
// - sealBlob: content id = HMAC-SHA-256(idKey, plaintext), then the §2.3 payload in a sealed box, through
//   the content layer's sealing engine (content/seal-core.mjs, the code its seal workers run); the payload
//   and box are those of encodePayload + seal (checked by content/seal-core.test.ts).
// - openBlobFromPack: opens, decodes and re-derives the content id from the plaintext (content/open-core.mjs,
//   the code the restore workers run); any mismatch
//   (wrong key, flipped bit, a box of another blob, a wrong length) throws IntegrityError naming the blob
//   and the pack. Stateless, safe under any concurrency.
import { BlobSealer } from '../content/seal-core.mjs';
import { BlobIntegrityError, BlobOpener } from '../content/open-core.mjs';
import { contentId, type MasterKey } from '../crypto/master-key';
import { IntegrityError } from '../crypto/sealed-box';
import { isObjectId } from '../layout';

export interface SealedBlob {
  /** Raw 32-byte content id. */
  id: Buffer;
  /** The sealed box as stored in a pack. */
  sealed: Buffer;
}

/** Seals `plaintext` whose content id is `id` (pass it when already computed, else it is derived). */
export function sealBlob(key: MasterKey, plaintext: Buffer, compressionLevel: number, id = contentId(key, plaintext)): SealedBlob {
  return { id, sealed: sealerFor(key, compressionLevel).seal(plaintext, id) };
}

/** One sealer (zstd context + scratch buffer) per key and level, reused across calls on this thread. */
const sealers = new WeakMap<Buffer, Map<number, BlobSealer>>();
function sealerFor(key: MasterKey, level: number): BlobSealer {
  let byLevel = sealers.get(key.encKey);
  if (!byLevel) sealers.set(key.encKey, (byLevel = new Map()));
  let sealer = byLevel.get(level);
  if (!sealer) byLevel.set(level, (sealer = new BlobSealer(key.encKey, level)));
  return sealer;
}

export interface OpenBlobOptions {
  /** Pack id (or key) named in errors. */
  pack?: string;
  /** Expected plaintext length (from the index or the pack header); checked when given. */
  rawLength?: number;
}

/** Opens one sealed blob read from a pack and verifies that its plaintext hashes to `id` (hex). */
export function openBlobFromPack(key: MasterKey, sealed: Buffer, id: string, opts: OpenBlobOptions = {}): Buffer {
  const what = `blob ${id}${opts.pack ? ` in pack ${opts.pack}` : ''}`;
  if (!isObjectId(id)) throw new IntegrityError(`${what}: invalid content id (expected 64 lowercase hex characters)`);
  try {
    // The opener returns a view of its scratch memory: the caller gets its own copy.
    return Buffer.from(openerFor(key).open(sealed, Buffer.from(id, 'hex'), opts.rawLength, what));
  } catch (err) {
    if (err instanceof BlobIntegrityError) throw new IntegrityError(err.message, { cause: err });
    throw err;
  }
}

/** One opener (zstd context + scratch buffers) per key, reused across calls on this thread. */
const openers = new WeakMap<Buffer, BlobOpener>();
function openerFor(key: MasterKey): BlobOpener {
  let opener = openers.get(key.encKey);
  if (!opener) openers.set(key.encKey, (opener = new BlobOpener(key.encKey, key.idKey)));
  return opener;
}
