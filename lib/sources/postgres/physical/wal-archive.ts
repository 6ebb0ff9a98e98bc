// The WAL archive of a PostgreSQL cluster inside a repository (docs/repository-format.md §9.5).
// Every file PostgreSQL hands to archive_command (WAL segments, timeline history files, backup history
// files, .partial segments) is one object `wal/<system identifier>/<file name>`: a sealed box (§2.2) whose
// payload (§2.3) is the file, zstd-compressed, and whose AAD is `lifeboat/v1/wal/<system id>/<file name>`,
// so a segment renamed, moved to another cluster's archive or altered fails authentication instead of being
// replayed. Unlike packs and snapshots the name is not a hash: PostgreSQL asks for files by name.
// Guarantees (../../../repo/sealed-files.ts): push never replaces an archived file with different content
// (PostgreSQL's archive_command contract); re-pushing identical content succeeds (a crash between upload and
// PostgreSQL's bookkeeping); fetch returns null only when the file is not in the archive and throws on
// anything else.
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../../../blob';
import type { MasterKey } from '../../../repo/crypto/master-key';
import { SealedFiles, listSealedFiles, type ArchivedFile, type SealedFilesLayout } from '../../../repo/sealed-files';

export const WAL_DIR = 'wal';

/** A file PostgreSQL archives: segment, .partial segment, backup history or timeline history. */
const WAL_FILE = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;
const SEGMENT = /^[0-9A-F]{24}$/;
const SYSTEM_ID = /^[1-9][0-9]{0,19}$/;

export class WalConflictError extends Error {
  name = 'WalConflictError';
}

export class WalNameError extends Error {
  name = 'WalNameError';
}

export function isWalFileName(name: string): boolean {
  return WAL_FILE.test(name);
}

export function isSegmentName(name: string): boolean {
  return SEGMENT.test(name);
}

export function checkWalFileName(name: string): string {
  if (!WAL_FILE.test(name)) {
    throw new WalNameError(`"${name}" is not a WAL file name PostgreSQL archives (a 24-hex-digit segment, optionally .partial, a backup history file or a timeline .history file)`);
  }
  return name;
}

export function checkSystemId(id: string): string {
  if (!SYSTEM_ID.test(id)) throw new WalNameError(`"${id}" is not a PostgreSQL system identifier (a decimal number)`);
  return id;
}

/** The database system identifier from <pgdata>/global/pg_control (its first 8 bytes, native byte order). */
export async function systemIdOfDataDir(pgdata: string): Promise<string> {
  const file = join(pgdata, 'global', 'pg_control');
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file} to learn the cluster's system identifier (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); run from the data directory or pass --pgdata`);
  }
  if (bytes.length < 8) throw new Error(`${file} is too short to be a pg_control file`);
  return (endianness() === 'LE' ? bytes.readBigUInt64LE(0) : bytes.readBigUInt64BE(0)).toString();
}

/** Timeline, log and segment numbers of a segment name: TTTTTTTT LLLLLLLL SSSSSSSS. */
export function parseSegmentName(name: string): { timeline: number; log: number; seg: number } {
  if (!SEGMENT.test(name.slice(0, 24))) throw new WalNameError(`"${name}" is not a WAL segment name`);
  return { timeline: parseInt(name.slice(0, 8), 16), log: parseInt(name.slice(8, 16), 16), seg: parseInt(name.slice(16, 24), 16) };
}

/** The segment holding `lsn` ("16/B374D848") on `timeline`, for the default 16 MiB segment size. */
export function segmentOfLsn(lsn: string, timeline: number, segmentSize = 16 * 1024 * 1024): string {
  const value = parseLsn(lsn);
  const perLog = 0x1_0000_0000n / BigInt(segmentSize);
  const segNo = value / BigInt(segmentSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segNo / perLog)}${hex(segNo % perLog)}`;
}

export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new WalNameError(`"${lsn}" is not an LSN (two hexadecimal numbers separated by "/", like 0/3000028)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export type ArchivedWal = ArchivedFile;

const LAYOUT: SealedFilesLayout = {
  dir: WAL_DIR,
  checkName: checkWalFileName,
  isName: isWalFileName,
  isGroup: (id) => SYSTEM_ID.test(id),
  conflict: (name, systemId, existing, data) =>
    new WalConflictError(`the archive already holds a different ${name} for system ${systemId} (${existing.length} bytes, this one ${data.length}); refusing to overwrite it. Two clusters with the same system identifier (a restored copy with archiving on?) may be archiving into one repository.`),
};

export class WalArchive extends SealedFiles {
  constructor(store: BlobStore, key: MasterKey, readonly systemId: string, compressionLevel = 3) {
    super(store, key, LAYOUT, checkSystemId(systemId), compressionLevel);
  }
}

/** The WAL archives of every cluster in this repository, by system identifier, in one listing. */
export function walBySystem(store: BlobStore, signal?: AbortSignal): Promise<Map<string, ArchivedWal[]>> {
  return listSealedFiles(store, LAYOUT, undefined, signal);
}
