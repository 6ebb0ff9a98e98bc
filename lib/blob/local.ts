/**
 * LocalBlobStore: a BlobStore over a local directory (tests, air-gapped targets, a NAS mount).
 *
 * Guarantees (see types.ts for the shared contract):
 * - put is atomic and durable: bytes go to a temp file in the target directory, the file is fsynced,
 *   renamed over the key, then the directory (and any directories just created) is fsynced. Temp files
 *   (".lifeboat-tmp-*") are never listed and are removed when a put fails.
 * - get honours ranges within the blob; list walks recursively in S3 order (UTF-8 byte order of keys),
 *   ignoring symlinks and other non-regular files; delete of a missing key succeeds and prunes parent
 *   directories left empty (best effort).
 * - A directory cannot be both a blob and a parent of blobs: putting "a" while "a/b" exists (or the
 *   reverse) rejects with PermanentBlobError. Key segments may not start with ".lifeboat-tmp-".
 * Errors: ENOENT/ENOTDIR -> BlobNotFoundError; EACCES/EPERM/EROFS/ENOSPC and conflicts -> PermanentBlobError;
 * EMFILE/ENFILE/EAGAIN/EBUSY/EINTR/EIO/ETIMEDOUT -> TransientBlobError.
 * Concurrency: safe for concurrent calls in one or several processes; a put racing a delete that prunes
 * its directory recreates the directory and tries again.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import {
  BlobError, BlobNotFoundError, InvalidBlobKeyError, InvalidRangeError, PermanentBlobError, TransientBlobError,
  type BlobOp,
} from './errors';
import { guardStream, openBody, withAbortSignal } from './io';
import { errCode, fsyncDir, mkdirs } from './local-fs';
import { compareKeys, validateKey, validatePrefix } from './keys';
import type {
  BlobBody, BlobListEntry, BlobMetadata, BlobStore, ByteRange, DeleteOptions, GetOptions, HeadOptions,
  ListOptions, PutOptions, PutResult,
} from './types';

const TMP = '.lifeboat-tmp-';
const TRANSIENT_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'EIO', 'ETIMEDOUT']);

export interface LocalBlobStoreOptions {
  /** fsync files and directories on put (default true). Only tests may turn it off. */
  fsync?: boolean;
}

export class LocalBlobStore implements BlobStore {
  readonly root: string;
  private readonly fsync: boolean;

  constructor(root: string, opts: LocalBlobStoreOptions = {}) {
    this.root = resolve(root);
    this.fsync = opts.fsync ?? true;
  }

  describe(): string {
    return `local:${this.root}`;
  }

  /** Creates the root directory if missing. */
  async ensureExists(): Promise<void> {
    try {
      await mkdirs(this.root);
    } catch (err) {
      throw this.translate(err, 'put', '');
    }
  }

  async put(key: string, body: BlobBody, opts: PutOptions = {}): Promise<PutResult> {
    const file = this.pathOf(key);
    opts.signal?.throwIfAborted();
    const opened = openBody(key, body, opts.contentLength);
    if (opened.kind === 'stream' && opts.signal) withAbortSignal(opts.signal, opened.stream);
    let fh: FileHandle | undefined;
    let tmp: string | undefined;
    try {
      const created = await this.openTemp(dirname(file), key);
      ({ fh, tmp } = created);
      let size = 0;
      if (opened.kind === 'buffer') {
        await fh.writeFile(opened.buffer);
        size = opened.buffer.length;
      } else {
        for await (const chunk of opened.stream) await fh.write(chunk as Buffer);
        size = opened.bytes();
      }
      opts.signal?.throwIfAborted();
      if (this.fsync) await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, file);
      tmp = undefined;
      if (this.fsync) for (const d of created.dirsToSync) await fsyncDir(d);
      return { size };
    } catch (err) {
      if (opened.kind === 'stream') opened.stream.destroy();
      await fh?.close().catch(() => {});
      if (tmp) await unlink(tmp).catch(() => {});
      if (opts.signal?.aborted) throw opts.signal.reason;
      const bodyErr = opened.kind === 'stream' ? opened.bodyError() : undefined;
      if (bodyErr) throw bodyErr;
      throw (await this.rootProblem(err, key)) ?? this.translate(err, 'put', key);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const file = this.pathOf(key);
    opts.signal?.throwIfAborted();
    let fh: FileHandle | undefined;
    try {
      fh = await open(file, 'r');
      const st = await fh.stat();
      if (!st.isFile()) throw new BlobNotFoundError(key, { op: 'get', store: this.describe() });
      const { offset, length } = checkRange(key, st.size, opts.range, this.describe());
      if (length === 0) {
        await fh.close();
        return Readable.from([]);
      }
      const raw = fh.createReadStream({ start: offset, end: offset + length - 1 });
      fh = undefined; // the stream owns (and closes) the handle now
      const out = guardStream(raw, {
        mapError: (err) => this.translate(err, 'get', key),
        onEnd: (n) => n === length ? undefined
          : new TransientBlobError(`get "${key}": read ${n} of ${length} bytes from ${this.describe()}`, { key, op: 'get' }),
      });
      return opts.signal ? withAbortSignal(opts.signal, out) : out;
    } catch (err) {
      await fh?.close().catch(() => {});
      throw this.translate(err, 'get', key);
    }
  }

  async head(key: string, opts: HeadOptions = {}): Promise<BlobMetadata> {
    const file = this.pathOf(key);
    opts.signal?.throwIfAborted();
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new BlobNotFoundError(key, { op: 'head', store: this.describe() });
      return { size: st.size, lastModified: st.mtime };
    } catch (err) {
      throw this.translate(err, 'head', key);
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncGenerator<BlobListEntry> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dir = slash >= 0 ? prefix.slice(0, slash) : '';
    yield* this.walk(dir, prefix.slice(slash + 1), opts);
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<void> {
    const file = this.pathOf(key);
    opts.signal?.throwIfAborted();
    try {
      await unlink(file);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return;
      throw this.translate(err, 'delete', key);
    }
    // Prune directories left empty, up to (not including) the root. Best effort: stops at the first failure.
    for (let d = dirname(file); d.length > this.root.length && d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        break;
      }
    }
  }

  private async *walk(relDir: string, namePrefix: string, opts: ListOptions): AsyncGenerator<BlobListEntry> {
    let entries;
    try {
      entries = await readdir(relDir ? join(this.root, relDir) : this.root, { withFileTypes: true });
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.translate(err, 'list', relDir);
    }
    const items = entries
      .filter((e) => e.name.startsWith(namePrefix) && !e.name.startsWith(TMP) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ name: e.name, isDir: e.isDirectory(), sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    const after = opts.startAfter;
    for (const item of items) {
      opts.signal?.throwIfAborted();
      const key = relDir ? `${relDir}/${item.name}` : item.name;
      if (item.isDir) {
        const sub = `${key}/`;
        if (after !== undefined && !after.startsWith(sub) && compareKeys(sub, after) < 0) continue;
        yield* this.walk(key, '', opts);
        continue;
      }
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      let st;
      try {
        st = await stat(join(this.root, key));
      } catch (err) {
        if (errCode(err) === 'ENOENT') continue; // deleted while listing
        throw this.translate(err, 'list', key);
      }
      yield { key, size: st.size, lastModified: st.mtime };
    }
  }

  /** Creates the target directory if needed and opens a fresh temp file in it. */
  private async openTemp(dir: string, key: string): Promise<{ fh: FileHandle; tmp: string; dirsToSync: string[] }> {
    for (let attempt = 0; ; attempt++) {
      const first = await mkdirs(dir);
      const tmp = join(dir, `${TMP}${randomBytes(8).toString('hex')}`);
      try {
        const fh = await open(tmp, 'wx', 0o600);
        // fsync the key's directory, and every directory we just created plus the parent of the first one.
        const dirsToSync = [dir];
        if (first !== undefined) {
          for (let d = dirname(dir); d.length >= dirname(first).length; d = dirname(d)) {
            dirsToSync.push(d);
            if (d === dirname(d)) break;
          }
        }
        return { fh, tmp, dirsToSync };
      } catch (err) {
        // A concurrent delete pruned the directory between mkdir and open: try again.
        if (errCode(err) === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** When a put fails because the root itself is unusable, says so (rather than blaming the key). */
  private async rootProblem(err: unknown, key: string): Promise<PermanentBlobError | undefined> {
    if (!['ENOENT', 'ENOTDIR', 'EEXIST'].includes(errCode(err) ?? '')) return undefined;
    const isDir = await stat(this.root).then((st) => st.isDirectory(), () => false);
    if (isDir) return undefined;
    return new PermanentBlobError(
      `put "${key}" in ${this.describe()} failed: the store's root is not a directory and cannot be created (${errCode(err)})`,
      { key, op: 'put', store: this.describe(), cause: err });
  }

  private pathOf(key: string): string {
    validateKey(key);
    if (key.split('/').some((s) => s.startsWith(TMP))) {
      throw new InvalidBlobKeyError(key, `segments starting with "${TMP}" are reserved by the local store`);
    }
    return join(this.root, ...key.split('/'));
  }

  private translate(err: unknown, op: BlobOp, key: string): Error {
    if (err instanceof BlobError) return err;
    if (err instanceof Error && err.name === 'AbortError') return err;
    const code = errCode(err) ?? 'unknown';
    const store = this.describe();
    const details = { key, op, store, cause: err };
    const what = `${op} "${key}" in ${store}`;
    if ((code === 'ENOENT' || code === 'ENOTDIR') && (op === 'get' || op === 'head')) {
      return new BlobNotFoundError(key, details);
    }
    if (op === 'put' && ['EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY'].includes(code)) {
      return new PermanentBlobError(
        `${what}: conflicts with an existing key (a local store cannot hold both "a" and "a/b") (${code})`, details);
    }
    const msg = err instanceof Error ? err.message : String(err);
    if (TRANSIENT_CODES.has(code)) return new TransientBlobError(`${what} failed, may work if retried: ${msg}`, details);
    return new PermanentBlobError(`${what} failed: ${msg}`, details);
  }
}

function checkRange(key: string, size: number, range: ByteRange | undefined, store: string): ByteRange {
  if (!range) return { offset: 0, length: size };
  const { offset, length } = range;
  const ok = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
  if (!ok || offset + length > size) {
    throw new InvalidRangeError(
      `get "${key}": range offset ${offset} length ${length} is outside the blob (size ${size}) in ${store}`,
      { key, op: 'get', store });
  }
  return { offset, length };
}
