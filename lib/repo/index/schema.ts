// Index file JSON (docs/repository-format.md §8) and its validation. parseIndexFile checks a decrypted
// index file with zod plus the rules zod cannot express (every blob lies inside its pack's blob area) and
// throws IndexFormatError naming the object (e.g. "index/<id>") and every bad field. indexFileFor builds
// the JSON for freshly stored packs. Pure functions.
import { z } from 'zod';
import { HEADER_LENGTH_SIZE, MAX_UINT32, MIN_SEALED_BLOB, type PackEntry } from '../pack/format';

export const INDEX_VERSION = 1;

/** Blobs per index file that writers aim for (§8): readers load files one by one in bounded memory. */
export const INDEX_FILE_TARGET_BLOBS = 50_000;

export class IndexFormatError extends Error {
  name = 'IndexFormatError';
}

const hexId = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
const uint32 = z.number().int().min(0).max(MAX_UINT32);

const blobSchema = z.object({
  id: hexId,
  type: z.enum(['data', 'tree']),
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  // A sealed blob is at least a box (29 bytes) around the compression byte.
  length: uint32.min(MIN_SEALED_BLOB),
  rawLength: uint32,
});

const packSchema = z.object({
  id: hexId,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  blobs: z.array(blobSchema).min(1, 'a pack lists at least one blob'),
});

export const indexFileSchema = z.object({
  version: z.literal(INDEX_VERSION),
  supersedes: z.array(hexId),
  packs: z.array(packSchema),
});

export type IndexFile = z.output<typeof indexFileSchema>;
export type IndexPack = IndexFile['packs'][number];
export type IndexBlob = IndexPack['blobs'][number];

/** Validates a decrypted index file; `what` names it in errors (e.g. "index/<id>"). */
export function parseIndexFile(value: unknown, what: string): IndexFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IndexFormatError(`${what}: not an index file (expected a JSON object)`);
  }
  const version = (value as { version?: unknown }).version;
  if (version !== INDEX_VERSION) {
    throw new IndexFormatError(`${what}: unsupported index version ${JSON.stringify(version)} (this Lifeboat reads version ${INDEX_VERSION})`);
  }
  let file: IndexFile;
  if (isPlainValidIndexFile(value)) file = value;
  else {
    const parsed = indexFileSchema.safeParse(value);
    if (!parsed.success) throw new IndexFormatError(`${what}: invalid index file:\n${z.prettifyError(parsed.error)}`);
    file = parsed.data;
  }
  file.packs.forEach((pack, p) => {
    const blobArea = pack.size - HEADER_LENGTH_SIZE - MIN_SEALED_BLOB; // the header is at least that big too
    pack.blobs.forEach((b, i) => {
      if (b.offset + b.length > blobArea) {
        throw new IndexFormatError(`${what}: packs[${p}].blobs[${i}] (offset ${b.offset}, length ${b.length}) lies outside pack ${pack.id} of ${pack.size} bytes`);
      }
    });
  });
  return file;
}

// The quick path before zod, which took ~40 ms of every command's start on the bench's 17k blobs: true only
// for exactly what indexFileSchema accepts unchanged (no unknown keys, which zod would strip); anything
// else goes through zod, which also names what is wrong.
const HEX_ID = /^[0-9a-f]{64}$/;
const isUint = (v: unknown, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const hasOnly = (o: object, n: number) => Object.keys(o).length === n;

function isPlainValidBlob(b: unknown): boolean {
  if (typeof b !== 'object' || b === null || Array.isArray(b) || !hasOnly(b, 5)) return false;
  const { id, type, offset, length, rawLength } = b as Record<string, unknown>;
  return typeof id === 'string' && HEX_ID.test(id) && (type === 'data' || type === 'tree') && isUint(offset, Number.MAX_SAFE_INTEGER)
    && isUint(length, MAX_UINT32) && (length as number) >= MIN_SEALED_BLOB && isUint(rawLength, MAX_UINT32);
}

function isPlainValidPack(p: unknown): boolean {
  if (typeof p !== 'object' || p === null || Array.isArray(p) || !hasOnly(p, 3)) return false;
  const { id, size, blobs } = p as Record<string, unknown>;
  return typeof id === 'string' && HEX_ID.test(id) && isUint(size, Number.MAX_SAFE_INTEGER) && Array.isArray(blobs) && blobs.length > 0 && blobs.every(isPlainValidBlob);
}

export function isPlainValidIndexFile(v: unknown): v is IndexFile {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !hasOnly(v, 3)) return false;
  const { version, supersedes, packs } = v as Record<string, unknown>;
  return version === INDEX_VERSION && Array.isArray(supersedes) && supersedes.every((s) => typeof s === 'string' && HEX_ID.test(s))
    && Array.isArray(packs) && packs.every(isPlainValidPack);
}

/** A pack that is completely stored, as the index needs it. */
export interface StoredPack {
  id: string;
  size: number;
  entries: readonly PackEntry[];
}

/** The index file listing `packs` (which MUST already be stored, §11.1). */
export function indexFileFor(packs: readonly StoredPack[], supersedes: readonly string[] = []): IndexFile {
  return {
    version: INDEX_VERSION,
    supersedes: [...supersedes],
    packs: packs.map((p) => ({
      id: p.id,
      size: p.size,
      blobs: p.entries.map(({ id, type, offset, length, rawLength }) => ({ id, type, offset, length, rawLength })),
    })),
  };
}
