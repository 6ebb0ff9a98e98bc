// Pack file format (docs/repository-format.md §7): sealed blobs back to back, then the sealed header and
// its length as uint32 LE. This module holds the byte-level layout of the header payload: n entries of
// 41 bytes (type, stored length, raw length, content id). Pure functions; errors are IntegrityErrors
// naming the pack (`what`) and the entry at fault.
import { BOX_OVERHEAD, IntegrityError } from '../crypto/sealed-box';

export type BlobType = 'data' | 'tree';

/** One blob of a pack as listed in its header and in index files (§7, §8). */
export interface PackEntry {
  /** Content id, 64 lowercase hex characters. */
  id: string;
  type: BlobType;
  /** Byte offset of the sealed blob inside the pack. */
  offset: number;
  /** Stored (sealed) length in bytes. */
  length: number;
  /** Length of the blob's plaintext. */
  rawLength: number;
}

export const HEADER_ENTRY_SIZE = 41;
export const HEADER_LENGTH_SIZE = 4;
export const MAX_UINT32 = 0xffff_ffff;
/** A sealed blob is at least a box around the compression byte. */
export const MIN_SEALED_BLOB = BOX_OVERHEAD + 1;
const TYPE_BYTE: Record<BlobType, number> = { data: 0x00, tree: 0x01 };

export function isBlobType(t: unknown): t is BlobType {
  return t === 'data' || t === 'tree';
}

/** Header payload bytes (before the compression byte) for `entries`, in pack order. */
export function encodeHeaderEntries(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(entries.length * HEADER_ENTRY_SIZE);
  entries.forEach((e, i) => {
    const at = i * HEADER_ENTRY_SIZE;
    out[at] = TYPE_BYTE[e.type];
    out.writeUInt32LE(e.length, at + 1);
    out.writeUInt32LE(e.rawLength, at + 5);
    const written = out.write(e.id, at + 9, 32, 'hex');
    if (written !== 32) throw new Error(`pack entry ${i}: content id "${e.id}" is not 64 hex characters`);
  });
  return out;
}

/**
 * Parses header payload bytes into entries, computing offsets. `blobBytes` is the size of the pack's
 * blob area (pack size - sealed header - 4); the stored lengths MUST add up to exactly that.
 */
export function decodeHeaderEntries(payload: Buffer, blobBytes: number, what: string): PackEntry[] {
  if (payload.length === 0) throw new IntegrityError(`${what}: pack header lists no blobs`);
  if (payload.length % HEADER_ENTRY_SIZE !== 0) {
    throw new IntegrityError(`${what}: pack header is ${payload.length} bytes, not a multiple of ${HEADER_ENTRY_SIZE}`);
  }
  const entries: PackEntry[] = [];
  let offset = 0;
  for (let at = 0; at < payload.length; at += HEADER_ENTRY_SIZE) {
    const i = at / HEADER_ENTRY_SIZE;
    const typeByte = payload[at]!;
    const type = typeByte === 0x00 ? 'data' : typeByte === 0x01 ? 'tree' : undefined;
    if (!type) throw new IntegrityError(`${what}: pack header entry ${i} has unknown blob type 0x${typeByte.toString(16)}`);
    const length = payload.readUInt32LE(at + 1);
    if (length < MIN_SEALED_BLOB) throw new IntegrityError(`${what}: pack header entry ${i} has stored length ${length}, below the minimum ${MIN_SEALED_BLOB}`);
    const rawLength = payload.readUInt32LE(at + 5);
    const id = payload.toString('hex', at + 9, at + 41);
    entries.push({ id, type, offset, length, rawLength });
    offset += length;
  }
  if (offset !== blobBytes) {
    throw new IntegrityError(`${what}: pack header lists ${offset} bytes of blobs but the pack holds ${blobBytes}`);
  }
  return entries;
}
