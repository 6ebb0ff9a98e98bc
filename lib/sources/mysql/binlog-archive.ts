// The binary-log archive of a MySQL/MariaDB source inside a repository (docs/repository-format.md §9.6): every
// closed binlog file `binlog push` finds on the server is one object `binlog/<source name>/<file name>`, kept
// whole like a WAL segment (../../repo/sealed-files.ts: zstd, sealed, the key in the AAD). A dump's restore
// point records the binlog file and position of its snapshot; replaying the archive from there up to a moment
// is point-in-time recovery (binlog-replay.ts).
import type { BlobStore } from '../../blob';
import type { MasterKey } from '../../repo/crypto/master-key';
import { SealedFiles, type ArchivedFile, type SealedFilesLayout } from '../../repo/sealed-files';

export const BINLOG_DIR = 'binlog';

/** A binlog file name: basename, a dot, a sequence number of at least 6 digits (binlog.000042, mysql-bin.000001). */
const BINLOG_FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\.[0-9]{6,}$/;
/** A source name usable as a key part (the CLI's --source-name). */
const SOURCE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class BinlogArchiveError extends Error {
  name = 'BinlogArchiveError';
}

export const isBinlogFileName = (name: string) => BINLOG_FILE.test(name);
export const isBinlogSourceName = (source: string) => SOURCE.test(source);

export function checkBinlogFileName(name: string): string {
  if (!BINLOG_FILE.test(name)) throw new BinlogArchiveError(`"${name}" is not a binary log file name (a base name, a dot and a sequence number, like binlog.000042)`);
  return name;
}

export function checkBinlogSource(source: string): string {
  if (!SOURCE.test(source)) throw new BinlogArchiveError(`source name "${source}" cannot name a binlog archive: use letters, digits, ".", "_" and "-" (at most 128), starting with a letter or digit`);
  return source;
}

const LAYOUT: SealedFilesLayout = {
  dir: BINLOG_DIR,
  checkName: checkBinlogFileName,
  isName: isBinlogFileName,
  isGroup: (g) => SOURCE.test(g),
  conflict: (name, source, existing, data) =>
    new BinlogArchiveError(`the archive of source ${source} already holds a different ${name} (${existing.length} bytes, this one ${data.length}); refusing to overwrite it. Is another server archiving under the same --source-name, or was the binary log reset (RESET MASTER)?`),
};

export type ArchivedBinlog = ArchivedFile;

export class BinlogArchive extends SealedFiles {
  constructor(store: BlobStore, key: MasterKey, readonly source: string, compressionLevel = 3) {
    super(store, key, LAYOUT, checkBinlogSource(source), compressionLevel);
  }
}

/** The binlog's sequence number (the digits after the last dot). */
export function binlogSequence(name: string): number {
  return Number(checkBinlogFileName(name).slice(name.lastIndexOf('.') + 1));
}

/**
 * The archived files a replay starting in `startFile` needs, in order: `startFile` and every later file of
 * the same base name, which must follow each other without a gap (a missing file would silently lose the
 * transactions in it). Throws BinlogArchiveError naming what is missing.
 */
export function replayFiles(archived: readonly ArchivedBinlog[], startFile: string): ArchivedBinlog[] {
  const base = startFile.slice(0, startFile.lastIndexOf('.'));
  const first = binlogSequence(startFile);
  const run = archived.filter((f) => f.name.slice(0, f.name.lastIndexOf('.')) === base && binlogSequence(f.name) >= first).sort((a, b) => binlogSequence(a.name) - binlogSequence(b.name));
  if (run[0]?.name !== startFile) throw new BinlogArchiveError(`the binlog archive does not hold ${startFile}, where the dump's snapshot was taken: was \`lifeboat database binlog push\` running since before that backup?`);
  for (let i = 1; i < run.length; i++) {
    if (binlogSequence(run[i]!.name) !== binlogSequence(run[i - 1]!.name) + 1) throw new BinlogArchiveError(`the binlog archive has a gap after ${run[i - 1]!.name} (next archived: ${run[i]!.name}): transactions after it cannot be replayed`);
  }
  return run;
}
