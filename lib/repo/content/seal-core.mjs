// Blob sealing engine shared by the content store's main thread and its seal worker threads
// (seal-worker.mjs): the §2.3 payload encoding and the §2.2 sealed box of one blob (docs/repository-format.md
// §2.2, §2.3, §7), written with as few copies as Node allows. Plain JavaScript importing only node builtins
// and zstd-napi's native binding, so a worker thread can load it with no TypeScript loader (under tsx, vitest,
// or inside the job threads of worker/thread.ts alike).
// Byte compatibility: the payload equals lib/repo/compress.ts encodePayload(plaintext, level) byte for byte
// (same zstd parameters, same "compressed only when smaller" rule), and the box is what
// lib/repo/crypto/sealed-box.ts seal() produces with the raw content id as AAD (seal-core.test.ts checks both).
// Copies: zstd compresses into a per-sealer scratch buffer that keeps byte 0 free for the compression byte;
// an incompressible blob is never copied into a payload (the compression byte and the plaintext are fed to
// the cipher one after the other); the nonce is drawn straight into the destination, and each ciphertext
// piece is copied once into it. The destination is the caller's (a pack buffer, a pooled buffer) or new.
// Not thread-safe: one BlobSealer per thread (it owns a zstd context and the scratch buffer).
import { createCipheriv, randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** @type {typeof import('zstd-napi/binding')} */
const zstd = require('zstd-napi/binding');

export const BOX_FORMAT = 0x01;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const BOX_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;
export const COMPRESSION_NONE = 0x00;
export const COMPRESSION_ZSTD = 0x01;
/** Plaintexts shorter than this are stored uncompressed without trying (as encodePayload does). */
export const MIN_COMPRESS_BYTES = 64;
// Fed to the cipher in pieces of this size; each piece's output is a new buffer. Below glibc's 128 KiB mmap
// threshold those come from the recycled heap; at 128 KiB each one was a fresh mmap (page faults, munmap):
// sealing 1 MiB of random data measured ~870 MB/s with 32 KiB pieces, ~220 MB/s with 128 KiB ones.
const PIECE = 32 * 1024;
const NONE_BYTE = Buffer.of(COMPRESSION_NONE);

/**
 * The largest sealed blob a plaintext of `rawLength` bytes can give: the box overhead, the compression byte
 * and the plaintext (a payload is compressed only when that makes it smaller).
 * @param {number} rawLength
 * @returns {number}
 */
export function maxSealedLength(rawLength) {
  return rawLength + BOX_OVERHEAD + 1;
}

export class BlobSealer {
  /** @type {Buffer} */
  #encKey;
  /** @type {number} */
  #level;
  /** @type {import('zstd-napi/binding').CCtx | undefined} */
  #cctx;
  /** Compression byte + zstd frame; grown to the largest blob seen. */
  #scratch = Buffer.alloc(0);

  /**
   * @param {Uint8Array} encKey 32-byte AES-256-GCM key (copied)
   * @param {number} level zstd compression level
   */
  constructor(encKey, level) {
    if (encKey.length !== 32) throw new RangeError(`BlobSealer: the encryption key must be 32 bytes, got ${encKey.length}`);
    if (!Number.isInteger(level)) throw new RangeError(`compression level must be an integer, got ${level}`);
    this.#encKey = Buffer.from(encKey);
    this.#level = level;
  }

  /**
   * The §2.3 payload of `plaintext` as [compression byte, body]: body is a view of this sealer's scratch
   * buffer (valid until the next call) when compressed, else `plaintext` itself.
   * @param {Uint8Array} plaintext
   * @returns {{ tag: number, body: Uint8Array }}
   */
  encode(plaintext) {
    const n = plaintext.length;
    if (n >= MIN_COMPRESS_BYTES) {
      const bound = 1 + zstd.compressBound(n);
      if (this.#scratch.length < bound) this.#scratch = Buffer.allocUnsafe(bound);
      if (!this.#cctx) {
        // Exactly what zstd-napi's compress(data, { compressionLevel }) does: a context whose parameters
        // are the defaults plus the level, then ZSTD_compress2 into a compressBound-sized buffer.
        this.#cctx = new zstd.CCtx();
        this.#cctx.setParameter(zstd.CParameter.compressionLevel, this.#level);
      }
      const packed = this.#cctx.compress2(this.#scratch.subarray(1, bound), plaintext);
      if (packed < n) {
        this.#scratch[0] = COMPRESSION_ZSTD;
        return { tag: COMPRESSION_ZSTD, body: this.#scratch.subarray(1, 1 + packed) };
      }
    }
    return { tag: COMPRESSION_NONE, body: plaintext };
  }

  /**
   * Seals `plaintext` as a blob whose raw content id is `aad` (the caller derived it). Writes the box at the
   * start of `dest` when given (it must hold maxSealedLength(plaintext.length) bytes) and returns the view of
   * the box; without `dest` returns a new buffer of the exact size.
   * @param {Uint8Array} plaintext
   * @param {Uint8Array} aad the blob's raw 32-byte content id
   * @param {Buffer} [dest]
   * @param {(size: number) => Buffer} [alloc] makes the exact-size buffer when there is no `dest`
   * @returns {Buffer}
   */
  seal(plaintext, aad, dest, alloc = Buffer.allocUnsafe) {
    const { tag, body } = this.encode(plaintext);
    const length = BOX_OVERHEAD + 1 + body.length;
    if (dest && dest.length < maxSealedLength(plaintext.length)) {
      throw new RangeError(`BlobSealer: destination holds ${dest.length} bytes, a ${plaintext.length}-byte blob needs up to ${maxSealedLength(plaintext.length)}`);
    }
    const out = dest ? dest.subarray(0, length) : alloc(length);
    out[0] = BOX_FORMAT;
    const nonce = out.subarray(1, 1 + NONCE_BYTES);
    randomFillSync(nonce);
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, nonce);
    cipher.setAAD(aad);
    let at = 1 + NONCE_BYTES;
    if (tag === COMPRESSION_ZSTD) {
      // The scratch buffer holds the compression byte right before the body: one contiguous payload.
      const payload = this.#scratch.subarray(0, 1 + body.length);
      at = encryptInto(cipher, payload, out, at);
    } else {
      at = encryptInto(cipher, NONE_BYTE, out, at);
      at = encryptInto(cipher, body, out, at);
    }
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
    return out;
  }
}

/**
 * @param {import('node:crypto').CipherGCM} cipher
 * @param {Uint8Array} data
 * @param {Buffer} out
 * @param {number} at
 * @returns {number} the new write position
 */
function encryptInto(cipher, data, out, at) {
  for (let off = 0; off < data.length; off += PIECE) {
    at += cipher.update(data.subarray(off, off + PIECE)).copy(out, at);
  }
  return at;
}
