// Local cache of tree blobs (docs/repository-format.md §12), one directory per repository id. Re-backups
// read every parent tree and restores read every tree before any data; from the bucket that is one small
// ranged GET per directory, which dominates an unchanged re-backup (~50 ms each on a radosgw with Nagle,
// 10-50 ms on real S3). restic and Kopia keep the same kind of cache.
// What is stored: the blob sealed again under the repository key (encrypted and authenticated with the
// content id as AAD, exactly like a blob in a pack), so the cache leaks nothing the bucket does not.
// Every read is verified (decrypt + HMAC against the id); a damaged entry is deleted and the caller falls
// back to the bucket. The cache is an optimisation only: every failure to read or write it is swallowed,
// a backup or restore never fails because of it, and deleting the directory at any time is safe.
// Reads are synchronous: entries are a few KiB in the page cache, where open, read and close take a few
// microseconds, while each promise-based call cost the walking thread ~50 us. Writes go to a worker thread
// (cache-write-worker.mjs): creating a file takes 0.2-0.3 ms on ext4 here, too long for the walking thread,
// and the promise-based open, write, close, rename and mkdir of each new tree cost it ~0.3 s per 577 trees.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { MasterKey } from '../crypto/master-key';
import { isObjectId } from '../layout';
import { openBlobFromPack, sealBlob } from '../pack/blob';
import { WorkerPool, type Reply } from '../../worker-pool';

const CACHEDIR_TAG = 'Signature: 8a477f597d28d172789f06886806bc55\n# This directory holds the Lifeboat cache; backup tools that honour CACHEDIR.TAG skip it.\n';

/**
 * The cache root from the environment: LIFEBOAT_CACHE_DIR ("off" disables), else $XDG_CACHE_HOME/lifeboat,
 * else ~/.cache/lifeboat. Returns null when disabled.
 */
export function resolveCacheRoot(env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = env.LIFEBOAT_CACHE_DIR?.trim();
  if (explicit) return explicit === 'off' ? null : explicit;
  const base = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(base, 'lifeboat');
}

export class TreeCache {
  private readonly dir: string;
  private ready: boolean | undefined;
  private writer: WorkerPool | undefined;

  constructor(
    private readonly root: string,
    repositoryId: string,
    private readonly key: MasterKey,
    private readonly compressionLevel: number,
  ) {
    if (!isObjectId(repositoryId)) throw new Error(`tree cache: invalid repository id ${JSON.stringify(repositoryId)}`);
    this.dir = join(root, repositoryId, 'trees');
  }

  /** The verified plaintext of tree `id`, or undefined when it is not cached (or the entry was damaged). */
  get(id: string, rawLength?: number): Buffer | undefined {
    let sealed: Buffer;
    try {
      sealed = readFileSync(this.path(id));
    } catch {
      return undefined;
    }
    try {
      return openBlobFromPack(this.key, sealed, id, { pack: 'local cache', rawLength });
    } catch {
      try {
        rmSync(this.path(id), { force: true });
      } catch {
        // left for the next write to replace
      }
      return undefined;
    }
  }

  /** Stores tree `id` given its plaintext (sealed here); resolves when written (or given up: never rejects). */
  put(id: string, plaintext: Buffer): Promise<void> {
    return this.putSealed(id, sealBlob(this.key, plaintext, this.compressionLevel, Buffer.from(id, 'hex')).sealed);
  }

  /**
   * Stores tree `id` given its sealed bytes as a pack holds them (same key, same AAD: the content id), on
   * the writer thread. `sealed` is handed over when it owns its whole buffer (then left empty), else copied.
   * Resolves when written (or given up: never rejects).
   */
  putSealed(id: string, sealed: Buffer): Promise<void> {
    if (!this.prepare()) return Promise.resolve();
    const path = this.path(id);
    const whole = sealed.byteOffset === 0 && sealed.buffer instanceof ArrayBuffer && sealed.buffer.byteLength === sealed.length;
    const bytes = whole ? (sealed.buffer as ArrayBuffer) : new Uint8Array(sealed).buffer; // a copy of its own
    this.writer ??= new WorkerPool({ workers: 1, workerUrl: new URL('./cache-write-worker.mjs', import.meta.url), name: 'tree cache writer' });
    return this.writer.run<Reply>({ dir: join(this.dir, id.slice(0, 2)), path, bytes, length: sealed.length }, [bytes], 0).then(
      () => {},
      () => {},
    );
  }

  private path(id: string): string {
    if (!isObjectId(id)) throw new Error(`tree cache: invalid blob id ${JSON.stringify(id)}`);
    return join(this.dir, id.slice(0, 2), id);
  }

  private prepare(): boolean {
    if (this.ready === undefined) {
      try {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        try {
          writeFileSync(join(this.root, 'CACHEDIR.TAG'), CACHEDIR_TAG, { flag: 'wx' });
        } catch {
          // already there
        }
        this.ready = true;
      } catch {
        this.ready = false;
      }
    }
    return this.ready;
  }
}
