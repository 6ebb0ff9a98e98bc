// Reading packs (docs/repository-format.md §7) without an index: readPackHeader parses the header from a
// pack's tail, from a Buffer holding the whole pack or through a ranged reader (one head + usually one
// ranged get of the last TAIL_READ bytes). Used by check and by index rebuild from packs.
// Errors: IntegrityError naming the pack for any malformed, truncated or unauthenticated header (a header
// length beyond the pack, a header that does not open under the key, entries that do not add up to the
// blob area exactly); storage errors (lib/blob) propagate unchanged. Stateless, safe under concurrency.
import { getBuffer, type BlobStore } from '../../blob';
import { decodePayload } from '../compress';
import type { MasterKey } from '../crypto/master-key';
import { AAD, BOX_OVERHEAD, IntegrityError, open } from '../crypto/sealed-box';
import { objectKey } from '../layout';
import { decodeHeaderEntries, HEADER_LENGTH_SIZE, type PackEntry } from './format';

/** Random access to one pack's bytes. */
export interface PackRangeReader {
  /** Total pack size in bytes. */
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** First tail read: enough for the header of a pack of ~790 blobs in one request. */
export const TAIL_READ = 32 * 1024;

/** A PackRangeReader over `data/xx/<packId>` in `store` (one head to learn the size). */
export async function storePackReader(store: BlobStore, packId: string, signal?: AbortSignal): Promise<PackRangeReader> {
  const key = objectKey('data', packId);
  const { size } = await store.head(key, { signal });
  return { size, read: (offset, length) => getBuffer(store, key, { range: { offset, length }, signal }) };
}

function bufferReader(bytes: Buffer): PackRangeReader {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

/**
 * Parses the header of a pack given as its bytes or a range reader. `what` names the pack in errors
 * (e.g. "pack <id>" or its key). Entries come back in pack order with their offsets.
 */
export async function readPackHeader(key: MasterKey, source: Buffer | PackRangeReader, what = 'pack'): Promise<PackEntry[]> {
  const reader = Buffer.isBuffer(source) ? bufferReader(source) : source;
  const { size } = reader;
  const minSize = BOX_OVERHEAD + 1 + HEADER_LENGTH_SIZE;
  if (size < minSize) throw new IntegrityError(`${what}: truncated (${size} bytes, a pack has at least ${minSize})`);
  const tailLength = Math.min(size, TAIL_READ);
  let tail = await readExactly(reader, size - tailLength, tailLength, what);
  const headerLength = tail.readUInt32LE(tail.length - HEADER_LENGTH_SIZE);
  if (headerLength < BOX_OVERHEAD + 1 || headerLength > size - HEADER_LENGTH_SIZE) {
    throw new IntegrityError(`${what}: header length ${headerLength} is impossible for a pack of ${size} bytes`);
  }
  const needed = headerLength + HEADER_LENGTH_SIZE;
  if (needed > tail.length) tail = await readExactly(reader, size - needed, needed, what);
  const sealedHeader = tail.subarray(tail.length - needed, tail.length - HEADER_LENGTH_SIZE);
  const box = open(key.encKey, sealedHeader, AAD.packHeader, `${what} header`);
  let payload: Buffer;
  try {
    payload = decodePayload(box, `${what} header`);
  } catch (err) {
    throw new IntegrityError((err as Error).message, { cause: err });
  }
  return decodeHeaderEntries(payload, size - needed, what);
}

async function readExactly(reader: PackRangeReader, offset: number, length: number, what: string): Promise<Buffer> {
  const got = await reader.read(offset, length);
  if (got.length !== length) throw new IntegrityError(`${what}: short read (${got.length} of ${length} bytes at offset ${offset})`);
  return got;
}
