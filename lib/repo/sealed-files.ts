// Named files kept whole in a repository, each object `<dir>/<group>/<name>`: a sealed box (§2.2) whose
// payload (§2.3) is the file, zstd-compressed, and whose AAD is `lifeboat/v1/<dir>/<group>/<name>`, so a file
// renamed, moved to another group or altered fails authentication instead of being used. Unlike packs and
// snapshots the names are not hashes: the files are asked for by name (PostgreSQL's WAL, MySQL binlogs).
// Guarantees: push never replaces a file with different content; re-pushing identical content succeeds (a
// crash between the upload and the caller's bookkeeping); fetch returns null only when the file is not there
// and throws on anything else.
import { getBuffer, BlobNotFoundError, type BlobStore } from '../blob';
import { decodePayload, encodePayload } from './compress';
import { open, seal } from './crypto/sealed-box';
import type { MasterKey } from './crypto/master-key';

export type ArchivedFile = { name: string; size: number; time: Date };

export type SealedFilesLayout = {
  /** Top-level directory: "wal", "binlog". */
  dir: string;
  /** Throws (with the caller's error type) unless `name` is a file name of this archive; returns it. */
  checkName: (name: string) => string;
  isName: (name: string) => boolean;
  isGroup: (group: string) => boolean;
  /** The error for a push whose name is taken by different content. */
  conflict: (name: string, group: string, existing: Buffer, data: Buffer) => Error;
};

export class SealedFiles {
  constructor(
    protected readonly store: BlobStore,
    private readonly key: MasterKey,
    private readonly layout: SealedFilesLayout,
    readonly group: string,
    private readonly compressionLevel = 3,
  ) {}

  keyOf(name: string): string {
    return `${this.layout.dir}/${this.group}/${this.layout.checkName(name)}`;
  }

  private aad(name: string): Buffer {
    return Buffer.from(`lifeboat/v1/${this.keyOf(name)}`);
  }

  /** Archives `data` as `name`: 'stored', or 'already-archived' when the archive holds the same bytes. */
  async push(name: string, data: Buffer, signal?: AbortSignal): Promise<'stored' | 'already-archived'> {
    const existing = await this.fetch(name, signal);
    if (existing) {
      if (existing.equals(data)) return 'already-archived';
      throw this.layout.conflict(name, this.group, existing, data);
    }
    const box = seal(this.key.encKey, encodePayload(data, this.compressionLevel), this.aad(name));
    await this.store.put(this.keyOf(name), () => box, { contentLength: box.length, signal });
    return 'stored';
  }

  /** The archived file, authenticated and decompressed; null when the archive does not hold it. */
  async fetch(name: string, signal?: AbortSignal): Promise<Buffer | null> {
    const key = this.keyOf(name);
    let box: Buffer;
    try {
      box = await getBuffer(this.store, key, { signal });
    } catch (err) {
      if (err instanceof BlobNotFoundError) return null;
      throw err;
    }
    return decodePayload(open(this.key.encKey, box, this.aad(name), key), key);
  }

  /** Every archived file of this group, sorted by name, with the time it was archived (the object's modification time). */
  async list(signal?: AbortSignal): Promise<ArchivedFile[]> {
    return (await listSealedFiles(this.store, this.layout, this.group, signal)).get(this.group) ?? [];
  }

  async delete(name: string, signal?: AbortSignal): Promise<void> {
    await this.store.delete(this.keyOf(name), { signal });
  }
}

/** The files of every group (or of `group`), by group, each sorted by name, in one listing. */
export async function listSealedFiles(store: BlobStore, layout: SealedFilesLayout, group?: string, signal?: AbortSignal): Promise<Map<string, ArchivedFile[]>> {
  const out = new Map<string, ArchivedFile[]>();
  for await (const e of store.list(`${layout.dir}/${group ? `${group}/` : ''}`, { signal })) {
    const [, id, name, ...rest] = e.key.split('/');
    if (!id || !layout.isGroup(id) || !name || rest.length || !layout.isName(name)) continue;
    let files = out.get(id);
    if (!files) out.set(id, (files = []));
    files.push({ name, size: e.size, time: e.lastModified });
  }
  for (const files of out.values()) files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
