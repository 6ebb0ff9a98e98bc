// Blob opening engine, the inverse of seal-core.mjs: authenticated decryption of a §2.2 sealed box, the
// §2.3 payload decoding and the check that the plaintext's keyed hash is the blob's content id
// (docs/repository-format.md §2.2, §2.3, §6). Shared by the main thread (lib/repo/pack/blob.ts) and the
// restore worker threads (lib/sources/filesystem/restore-worker.mjs); plain JavaScript importing only node
// builtins and zstd-napi's native binding, so a worker thread loads it with no TypeScript loader.
// Copies: the ciphertext is decrypted piece by piece into a scratch buffer, and a zstd payload is
// decompressed straight into a second one sized from the index's raw length, so opening a blob allocates
// nothing once the buffers have grown to the largest blob. The plaintext returned is a view of the
// opener's scratch memory, valid until the next open(). `inPlace` decrypts over the ciphertext instead of
// into scratch (the restore's pack reads, each opened once: a worker then keeps one scratch buffer, not two).
// Errors: every mismatch (truncated box, unknown format, failed authentication, bad payload, wrong length,
// wrong content id) throws a BlobIntegrityError whose message names the blob (`what`).
// Not thread-safe: one BlobOpener per thread.
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { BOX_FORMAT, BOX_OVERHEAD, COMPRESSION_NONE, COMPRESSION_ZSTD, NONCE_BYTES, TAG_BYTES } from './seal-core.mjs';

const require = createRequire(import.meta.url);
/** @type {typeof import('zstd-napi/binding')} */
const zstd = require('zstd-napi/binding');

// Same piece size as sealing (seal-core.mjs): each piece's output buffer comes from the recycled heap.
const PIECE = 32 * 1024;

export class BlobIntegrityError extends Error {
  name = 'BlobIntegrityError';
}

export class BlobOpener {
  /** @type {Buffer} */
  #encKey;
  /** @type {Buffer} */
  #idKey;
  /** @type {import('zstd-napi/binding').DCtx | undefined} */
  #dctx;
  /** The decrypted payload (compression byte + body). */
  #payload = Buffer.alloc(0);
  /** Decompressed plaintext. */
  #plain = Buffer.alloc(0);
  /** Scratch buffers are allocated this large at once (untouched pages cost nothing). */
  #scratchBytes;

  /**
   * @param {Uint8Array} encKey 32-byte AES-256-GCM key (copied)
   * @param {Uint8Array} idKey content-id HMAC key (copied)
   * @param {number} [largestBlob] the chunker's maximum chunk size: the scratch buffers are allocated
   *   that large on first use instead of growing blob by blob (each outgrown buffer is garbage that a
   *   worker thread's small heap may keep for a long time)
   */
  constructor(encKey, idKey, largestBlob = 0) {
    if (encKey.length !== 32) throw new RangeError(`BlobOpener: the encryption key must be 32 bytes, got ${encKey.length}`);
    this.#encKey = Buffer.from(encKey);
    this.#idKey = Buffer.from(idKey);
    this.#scratchBytes = largestBlob + BOX_OVERHEAD + 1;
  }

  /** HMAC-SHA-256 content id of `data` (raw 32 bytes). */
  /** @param {Uint8Array} data */
  contentId(data) {
    return createHmac('sha256', this.#idKey).update(data).digest();
  }

  /** An HMAC-SHA-256 under the content-id key, to hash a blob's plaintext piece by piece. */
  contentIdHash() {
    return createHmac('sha256', this.#idKey);
  }

  /**
   * Opens the sealed box of the blob whose raw content id is `rawId` and returns its plaintext, a view of
   * this opener's scratch memory valid until the next call.
   * @param {Uint8Array} box the sealed box as stored in the pack
   * @param {Uint8Array} rawId the blob's raw 32-byte content id (the box's AAD)
   * @param {number | undefined} rawLength the plaintext length the index records, checked when given
   * @param {string} what names the blob in errors
   * @param {boolean} [inPlace] decrypt over the ciphertext in `box` (destroyed, whatever the outcome), not into scratch
   * @param {boolean} [checkId] hash the plaintext against rawId. Only a caller that checks the same bytes
   *   again before trusting them (the file restorer re-reads every file; a base backup's files are checked
   *   against its manifest) passes false: the GCM tag, whose AAD is the id, still authenticates the box.
   * @param {Buffer} [into] where the plaintext goes when it is decompressed (room for rawLength bytes): the
   *   result is then a view of `into`, with no copy from scratch memory
   * @returns {Buffer}
   */
  open(box, rawId, rawLength, what, inPlace = false, checkId = true, into = undefined) {
    const payload = this.#decrypt(box, rawId, what, inPlace);
    const plaintext = this.#decode(payload, rawLength, what, into);
    if (rawLength !== undefined && plaintext.length !== rawLength) {
      throw new BlobIntegrityError(`${what}: plaintext is ${plaintext.length} bytes, expected ${rawLength}`);
    }
    if (checkId && !timingSafeEqual(this.contentId(plaintext), rawId)) {
      throw new BlobIntegrityError(`${what}: content does not match its id (HMAC differs): wrong blob or corrupted data`);
    }
    return plaintext;
  }

  /**
   * @param {Uint8Array} box
   * @param {Uint8Array} aad
   * @param {string} what
   * @param {boolean} inPlace
   * @returns {Buffer} the payload, a view of #payload or (inPlace) of `box`
   */
  #decrypt(box, aad, what, inPlace) {
    if (box.length < BOX_OVERHEAD) throw new BlobIntegrityError(`${what}: truncated (${box.length} bytes, a sealed box has at least ${BOX_OVERHEAD})`);
    if (box[0] !== BOX_FORMAT) throw new BlobIntegrityError(`${what}: unknown box format 0x${box[0].toString(16)}`);
    const decipher = createDecipheriv('aes-256-gcm', this.#encKey, box.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
    const ct = box.subarray(1 + NONCE_BYTES, box.length - TAG_BYTES);
    if (!inPlace && this.#payload.length < ct.length) this.#payload = Buffer.allocUnsafe(Math.max(ct.length, this.#scratchBytes));
    // GCM gives back as many bytes as it takes, so in place each piece lands where its ciphertext was read.
    const into = inPlace ? Buffer.from(ct.buffer, ct.byteOffset, ct.length) : this.#payload;
    let at = 0;
    for (let off = 0; off < ct.length; off += PIECE) at += decipher.update(ct.subarray(off, off + PIECE)).copy(into, at);
    try {
      at += decipher.final().copy(into, at);
    } catch {
      throw new BlobIntegrityError(`${what}: authentication failed (wrong key, or the data was altered or corrupted)`);
    }
    return into.subarray(0, at);
  }

  /**
   * @param {Buffer} payload
   * @param {number | undefined} rawLength
   * @param {string} what
   * @param {Buffer | undefined} into
   * @returns {Buffer}
   */
  #decode(payload, rawLength, what, into) {
    if (payload.length < 1) throw new BlobIntegrityError(`${what}: empty payload`);
    const tag = payload[0];
    const body = payload.subarray(1);
    if (tag === COMPRESSION_NONE) return body;
    if (tag !== COMPRESSION_ZSTD) throw new BlobIntegrityError(`${what}: unknown compression byte 0x${tag.toString(16).padStart(2, '0')}`);
    let size;
    try {
      size = zstd.getFrameContentSize(body);
    } catch (err) {
      throw new BlobIntegrityError(`${what}: corrupt zstd data (${/** @type {Error} */ (err).message})`);
    }
    // Frames written by the sealer always record their size; a frame that does not, or disagrees with the
    // index, is damage (reported as the wrong length, as the index is the reference).
    if (size === null || size === undefined) throw new BlobIntegrityError(`${what}: corrupt zstd data (the frame does not record its size)`);
    if (rawLength !== undefined && size !== rawLength) throw new BlobIntegrityError(`${what}: plaintext is ${size} bytes, expected ${rawLength}`);
    const direct = into !== undefined && into.length >= size;
    if (!direct && this.#plain.length < size) this.#plain = Buffer.allocUnsafe(Math.max(size, this.#scratchBytes));
    const dest = direct ? into.subarray(0, size) : this.#plain.subarray(0, size);
    this.#dctx ??= new zstd.DCtx();
    let n;
    try {
      n = this.#dctx.decompress(dest, body);
    } catch (err) {
      throw new BlobIntegrityError(`${what}: corrupt zstd data (${/** @type {Error} */ (err).message})`);
    }
    if (n !== size) throw new BlobIntegrityError(`${what}: corrupt zstd data (${n} bytes decompressed, the frame says ${size})`);
    return dest.subarray(0, n);
  }
}
