// A base backup's own check, for verify's test restore: its tar stream is read from the repository and
// parsed to the end (tar-extract.ts with no destination: nothing is written), and every file's CRC-32C is
// compared with backup_manifest (manifest-check.ts). A test restore of the tree alone proves that base.tar
// comes back as stored; this proves that what was stored is a whole base backup that matches what the
// server said it sent, which is what a recovery needs. (A lost stretch of the stream, as a chunk worker
// stopped mid-stream once caused, shows up here and not there.)
import type { Snapshot } from '../../../repo/snapshot';
import { findFile } from '../../tree-file';
import { readHeldContent, type BlobReader } from '../streams';
import { physicalMetaOf, type PhysicalMeta } from './format';
import { checkAgainstManifest, ManifestMismatchError } from './manifest-check';
import { extractTar } from './tar-extract';
import { TarFormatError } from './tar-header';

export type BaseBackupCheck = { files: number; bytes: number; manifestChecked: boolean };

export class BaseBackupCheckError extends Error {
  name = 'BaseBackupCheckError';
}

export async function checkBaseBackupContent(
  repo: BlobReader,
  snapshot: Pick<Snapshot, 'tree'>,
  meta: PhysicalMeta,
  what: string,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<BaseBackupCheck> {
  const node = await findFile(repo, snapshot.tree, meta.file, what, opts.signal, (m) => new BaseBackupCheckError(m));
  let r;
  try {
    r = await extractTar(readHeldContent(repo, node.content, opts.signal), null, { signal: opts.signal, onBytes: opts.onBytes });
  } catch (err) {
    if (err instanceof TarFormatError) throw new BaseBackupCheckError(`${what}: ${err.message}`);
    throw err;
  }
  if (r.bytes !== node.size) throw new BaseBackupCheckError(`${what}: read ${r.bytes} bytes of ${meta.file}, expected ${node.size}`);
  if (!meta.manifest) return { files: r.files.size, bytes: r.bytes, manifestChecked: false };
  if (!r.manifest) throw new BaseBackupCheckError(`${what}: the snapshot says it has a backup_manifest, but its tar stream holds none`);
  try {
    const verdict = checkAgainstManifest(r.manifest, r.files, what);
    return { files: r.files.size, bytes: r.bytes, manifestChecked: verdict !== 'other algorithm' };
  } catch (err) {
    if (err instanceof ManifestMismatchError) throw new BaseBackupCheckError(err.message);
    throw err;
  }
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
