// Groups the blobs a restore needs into ranged reads of their packs. A pack is its blobs back to back
// followed by a header (docs/repository-format.md §7), so the blobs of one pack that a restore needs are
// read with one request (or a few) instead of one request per blob: on S3 every request costs 10-50 ms
// whatever its size, which is what made a blob-by-blob restore 20-130x slower than restic.
// Pure functions, no I/O.
import type { BlobLocation } from '../../repo/index';

const MiB = 1024 * 1024;

/**
 * Needed blobs less than this far apart in a pack are read in one request, bytes in between included:
 * 1 MiB costs ~3-7 ms at 150-350 MB/s, less than one more request.
 */
export const MERGE_GAP = MiB;

/**
 * Largest read (it bounds memory: one buffer of this size per read in flight). A default pack (16 MiB
 * target plus at most one 8 MiB chunk) takes two reads; a single blob larger than this is still read
 * whole, alone. With 24 MiB (a whole pack per read) the 1 GiB bench restore peaked at 286-306 MB, over
 * the 300 MB target; with 12 MiB ~25 MB lower, at about the same speed (local repository, 3 runs each).
 */
export const MAX_READ = 12 * MiB;

export interface NeededBlob {
  id: string;
  loc: BlobLocation;
}

/** Bytes [offset, offset + length) of a pack, holding `blobs` (in offset order). */
export interface PackRead {
  packId: string;
  offset: number;
  length: number;
  blobs: NeededBlob[];
}

export interface ReadLimits {
  gap: number;
  maxRead: number;
}

/**
 * Plans the reads for `ids` (duplicates ignored). Packs come in the order of their first needed blob, so
 * a caller passing ids in restore order gets the packs that complete the first files first; within a pack
 * reads go by offset. Ids the index does not know are returned in `unlocated` (read them one by one).
 */
export function planPackReads(
  ids: Iterable<string>,
  locate: (id: string) => BlobLocation | undefined,
  limits: ReadLimits = { gap: MERGE_GAP, maxRead: MAX_READ },
): { reads: PackRead[]; unlocated: string[] } {
  const byPack = new Map<string, NeededBlob[]>();
  const seen = new Set<string>();
  const unlocated: string[] = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const loc = locate(id);
    if (!loc) {
      unlocated.push(id);
      continue;
    }
    let blobs = byPack.get(loc.packId);
    if (!blobs) byPack.set(loc.packId, (blobs = []));
    blobs.push({ id, loc });
  }
  const reads: PackRead[] = [];
  for (const [packId, blobs] of byPack) reads.push(...mergeRanges(packId, blobs, limits));
  return { reads, unlocated };
}

/** Covers `blobs` of one pack with as few reads as the gap and size limits allow. */
export function mergeRanges(packId: string, blobs: readonly NeededBlob[], limits: ReadLimits = { gap: MERGE_GAP, maxRead: MAX_READ }): PackRead[] {
  const sorted = [...blobs].sort((a, b) => a.loc.offset - b.loc.offset);
  const reads: PackRead[] = [];
  let cur: PackRead | undefined;
  for (const blob of sorted) {
    const start = blob.loc.offset;
    const end = start + blob.loc.length;
    if (cur && start - (cur.offset + cur.length) < limits.gap && end - cur.offset <= limits.maxRead) {
      cur.length = Math.max(cur.length, end - cur.offset);
      cur.blobs.push(blob);
    } else {
      cur = { packId, offset: start, length: blob.loc.length, blobs: [blob] };
      reads.push(cur);
    }
  }
  return reads;
}
