// Checks an unpacked base backup against its backup_manifest (PostgreSQL 13+, JSON) from what the extractor
// saw (tar-extract.ts: each file's size and CRC-32C as its bytes passed), so nothing is read twice. Same
// verdicts as pg_verifybackup: the manifest's own SHA-256 must hold; every file it lists must have been
// restored with its size and checksum; every restored file must be listed. It runs before anything in the
// data directory is changed, so unlike pg_verifybackup it skips nothing but the manifest itself.
// Checksums: CRC32C (pg_basebackup's default, written as the hex of the CRC's little-endian bytes: the
// server's memory order on the x86 and ARM machines this runs on). A manifest with another algorithm
// (SHA-*) is left to pg_verifybackup ('other algorithm'); one without checksums (NONE) is refused, since the
// restore relies on this check to verify every byte.
import { createHash } from 'node:crypto';
import type { ExtractedFile } from './tar-extract';

export type ManifestVerdict = { checked: number } | 'other algorithm';

export class ManifestMismatchError extends Error {
  name = 'ManifestMismatchError';
}

type ManifestFile = { Path?: string; 'Encoded-Path'?: string; Size: number; 'Checksum-Algorithm'?: string; Checksum?: string };

/** Throws a ManifestMismatchError naming what differs (the first few), or says how many files matched. */
export function checkAgainstManifest(manifest: Buffer, files: ReadonlyMap<string, ExtractedFile>, what: string): ManifestVerdict {
  const text = manifest.toString('utf8');
  const at = text.lastIndexOf('"Manifest-Checksum"');
  let parsed: { Files?: ManifestFile[]; 'Manifest-Checksum'?: string };
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ManifestMismatchError(`${what}: backup_manifest is not valid JSON (${(err as Error).message})`);
  }
  if (at < 0 || !parsed['Manifest-Checksum'] || !Array.isArray(parsed.Files)) throw new ManifestMismatchError(`${what}: backup_manifest has no file list or no Manifest-Checksum`);
  const actual = createHash('sha256').update(manifest.subarray(0, Buffer.byteLength(text.slice(0, at)))).digest('hex');
  if (actual !== parsed['Manifest-Checksum']) throw new ManifestMismatchError(`${what}: backup_manifest is damaged (its checksum is ${parsed['Manifest-Checksum']}, its content hashes to ${actual})`);

  const problems: string[] = [];
  const listed = new Set<string>();
  for (const f of parsed.Files) {
    const algorithm = (f['Checksum-Algorithm'] ?? 'NONE').toUpperCase();
    const path = f.Path ?? Buffer.from(f['Encoded-Path'] ?? '', 'hex').toString('utf8');
    // The restore trusts this check instead of hashing every blob again: a file without a checksum would
    // go unverified. Lifeboat runs pg_basebackup with its default, CRC32C, so this is not its manifest.
    if (algorithm === 'NONE') throw new ManifestMismatchError(`${what}: backup_manifest records no checksum for ${path}, so its files cannot be verified`);
    if (algorithm !== 'CRC32C') return 'other algorithm';
    listed.add(path);
    const got = files.get(path);
    if (!got) problems.push(`${path} is in the manifest but was not restored`);
    else if (got.size !== f.Size) problems.push(`${path} has ${got.size} bytes, the manifest says ${f.Size}`);
    else if (crcHex(got.crc32c) !== f.Checksum?.toLowerCase()) problems.push(`${path} has checksum ${crcHex(got.crc32c)}, the manifest says ${f.Checksum}`);
  }
  for (const path of files.keys()) if (path !== 'backup_manifest' && !listed.has(path)) problems.push(`${path} was restored but is not in the manifest`);
  if (problems.length) {
    const shown = problems.slice(0, 5).join('; ');
    throw new ManifestMismatchError(`${what} does not match its backup_manifest: ${shown}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
  }
  return { checked: listed.size };
}

/** The manifest's form of a CRC-32C: the hex of its four bytes, little-endian. */
function crcHex(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(crc >>> 0);
  return b.toString('hex');
}
