// withObjectCache: a BlobStore decorator that keeps local copies of the repository's immutable,
// content-addressed objects (index/<sha256>, snapshots/<sha256>: docs/repository-format.md §12), so
// opening a repository and finding the parent snapshot cost a LIST each instead of one GET per object.
// A copy is served only when its SHA-256 still matches its name; otherwise it is deleted and the object
// is fetched again. Listings always come from the bucket, so an object deleted elsewhere is never
// "found" in the cache. Objects this process writes are cached as they are stored. Every cache failure is swallowed: the cache can only save requests.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { getBuffer, type BlobStore } from '../../blob';

const CACHED_KEY = /^(index|snapshots)\/([0-9a-f]{64})$/;

export function withObjectCache(inner: BlobStore, dir: string): BlobStore {
  const pathOf = (key: string) => join(dir, key);

  async function cached(key: string, id: string): Promise<Buffer | undefined> {
    try {
      const bytes = await readFile(pathOf(key));
      if (createHash('sha256').update(bytes).digest('hex') === id) return bytes;
      await rm(pathOf(key), { force: true });
    } catch {
      // missing or unreadable: fetch it
    }
    return undefined;
  }

  async function remember(key: string, bytes: Buffer): Promise<void> {
    try {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, bytes, { mode: 0o600 });
      await rename(tmp, path);
    } catch {
      // a full disk only costs the next run a GET
    }
  }

  return {
    async get(key, opts) {
      const m = CACHED_KEY.exec(key);
      if (!m || opts?.range) return inner.get(key, opts);
      const hit = await cached(key, m[2]!);
      if (hit) return Readable.from([hit]);
      const bytes = await getBuffer(inner, key, opts);
      await remember(key, bytes);
      return Readable.from([bytes]);
    },
    async delete(key, opts) {
      await inner.delete(key, opts);
      if (CACHED_KEY.test(key)) await rm(pathOf(key), { force: true }).catch(() => {});
    },
    async put(key, body, opts) {
      const result = await inner.put(key, body, opts);
      if (CACHED_KEY.test(key)) {
        const bytes = body(); // index and snapshot bodies are in-memory buffers; a stream is not re-read
        if (Buffer.isBuffer(bytes)) await remember(key, bytes);
        else bytes.destroy();
      }
      return result;
    },
    head: (key, o) => inner.head(key, o),
    list: (prefix, o) => inner.list(prefix, o),
    describe: () => inner.describe(),
  };
}
