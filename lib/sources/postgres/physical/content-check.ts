// A base backup read back the way a recovery needs it: its tar stream from the repository, parsed to the
// end (tar-extract.ts), each file's CRC-32C compared with backup_manifest (manifest-check.ts). Into a data
// directory (recover.ts), or into nothing, as verify's test restore: a test restore of the tree alone
// proves that base.tar comes back as stored; this proves that what was stored is a whole base backup that
// matches what the server said it sent. (A lost stretch of the stream, as a chunk worker stopped
// mid-stream once caused, shows up here and not there.)
import type { Snapshot } from '../../../repo/snapshot';
import { findFile } from '../../tree-file';
import { readHeldContent, type BlobReader } from '../streams';
import { physicalMetaOf, type PhysicalMeta } from './format';
import { checkAgainstManifest, ManifestMismatchError } from './manifest-check';
import { extractTar, type ExtractOptions } from './tar-extract';
import { TarFormatError } from './tar-header';

export type BaseBackupCheck = { files: number; bytes: number; manifestChecked: boolean };

export class BaseBackupCheckError extends Error {
  name = 'BaseBackupCheckError';
}

export type UnpackOptions = ExtractOptions & {
  /** Compare every file with backup_manifest (when the backup has one); default true. */
  verify?: boolean;
  /**
   * Rely on that comparison instead of hashing every blob against its id too (recover.ts: ~0.8 s of CPU
   * per GB). Only where a manifest that cannot be checked here (SHA) is then checked some other way.
   */
  endToEnd?: boolean;
};

/**
 * Reads the base backup of `snapshot` into `dest` (null: nowhere) and checks it against its manifest.
 * Throws a BaseBackupCheckError naming what is wrong; manifestChecked false means there was no manifest to
 * check against, or (SHA checksums) one this cannot check.
 */
export async function unpackBaseBackup(repo: BlobReader, snapshot: Pick<Snapshot, 'tree'>, meta: PhysicalMeta, what: string, dest: string | null, opts: UnpackOptions = {}): Promise<BaseBackupCheck> {
  const verify = meta.manifest && opts.verify !== false;
  const node = await findFile(repo, snapshot.tree, meta.file, what, opts.signal, (m) => new BaseBackupCheckError(m));
  let r;
  try {
    r = await extractTar(readHeldContent(repo, node.content, opts.signal, { endToEnd: verify && opts.endToEnd }), dest, opts);
  } catch (err) {
    if (err instanceof TarFormatError) throw new BaseBackupCheckError(`${what}: ${err.message}`);
    throw err;
  }
  if (r.bytes !== node.size) throw new BaseBackupCheckError(`${what}: read ${r.bytes} bytes of ${meta.file}, expected ${node.size}`);
  if (!verify) return { files: r.files.size, bytes: r.bytes, manifestChecked: false };
  if (!r.manifest) throw new BaseBackupCheckError(`${what}: the snapshot says it has a backup_manifest, but its tar stream holds none`);
  try {
    const verdict = checkAgainstManifest(r.manifest, r.files, what);
    return { files: r.files.size, bytes: r.bytes, manifestChecked: verdict !== 'other algorithm' };
  } catch (err) {
    if (err instanceof ManifestMismatchError) throw new BaseBackupCheckError(err.message);
    throw err;
  }
}

/** The check alone: nothing is written, and every blob is also hashed against its id. */
export function checkBaseBackupContent(
  repo: BlobReader,
  snapshot: Pick<Snapshot, 'tree'>,
  meta: PhysicalMeta,
  what: string,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<BaseBackupCheck> {
  return unpackBaseBackup(repo, snapshot, meta, what, null, opts);
}

/**
 * For a test restore: null when `snapshot` is not a base backup or its content checks out, else what is
 * wrong with it (other failures, such as an unreadable repository, throw).
 */
export async function baseBackupProblem(
  repo: BlobReader,
  snapshot: Pick<Snapshot, 'tree' | 'source' | 'meta'>,
  id: string,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<string | null> {
  const meta = physicalMetaOf(snapshot);
  if (!meta) return null;
  let done = 0;
  try {
    await checkBaseBackupContent(repo, snapshot, meta, `base backup ${id.slice(0, 8)}`, { signal: opts.signal, onBytes: (n) => opts.onProgress?.((done += n), meta.bytes) });
    return null;
  } catch (err) {
    if (err instanceof BaseBackupCheckError) return err.message;
    throw err;
  }
}
