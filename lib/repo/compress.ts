// Payload encoding (docs/repository-format.md §2.3): one compression byte, then the bytes. zstd through the
// native zstd-napi binding; a payload is stored compressed only when that makes it smaller, so
// incompressible data (already-compressed files, encrypted dumps) costs one byte, not a failed attempt on read.
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';

export const COMPRESSION_NONE = 0x00;
export const COMPRESSION_ZSTD = 0x01;

export class CompressionError extends Error {
  name = 'CompressionError';
}

/** Returns [compression byte] + payload, zstd-compressed at `level` when smaller. */
export function encodePayload(raw: Buffer, level = 3): Buffer {
  if (raw.length >= 64) {
    const packed = zstdCompress(raw, { compressionLevel: level });
    if (packed.length + 1 < raw.length + 1) return Buffer.concat([Buffer.of(COMPRESSION_ZSTD), packed]);
  }
  return Buffer.concat([Buffer.of(COMPRESSION_NONE), raw]);
}

/** Inverse of encodePayload; `what` names the object in errors. */
export function decodePayload(payload: Buffer, what: string): Buffer {
  if (payload.length < 1) throw new CompressionError(`${what}: empty payload`);
  const tag = payload[0];
  const body = payload.subarray(1);
  if (tag === COMPRESSION_NONE) return body;
  if (tag === COMPRESSION_ZSTD) {
    try {
      return zstdDecompress(body);
    } catch (err) {
      throw new CompressionError(`${what}: corrupt zstd data (${(err as Error).message})`);
    }
  }
  throw new CompressionError(`${what}: unknown compression byte 0x${tag!.toString(16).padStart(2, '0')}`);
}
