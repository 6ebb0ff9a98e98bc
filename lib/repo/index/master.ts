// MasterIndex (docs/repository-format.md §8): the in-memory union of index files, minus the index files
// listed in any loaded file's `supersedes`. Maps a content id (hex) to where the blob is stored.
// Guarantees:
// - A blob listed by several live index files (or several packs) keeps every location; lookup() returns
//   one, lookupAll() all distinct ones (a reader may fall back on another copy).
// - Superseding is order-independent: a file read before the file that supersedes it is dropped when the
//   superseding one is added (at once, or at purge() when adding with deferPurge).
// - Pack ids are interned: every blob of a pack shares one string.
// Memory: one Map entry (~170-200 bytes) per blob: fine for millions of blobs, ~2 GB at 10 million.
// Concurrency: plain synchronous data structure; callers serialise mutation (one event loop suffices).
import type { BlobType } from '../pack/format';
import type { IndexFile } from './schema';

/** Where a blob lives. */
export interface BlobLocation {
  readonly packId: string;
  readonly type: BlobType;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

export interface PackInfo {
  readonly id: string;
  readonly size: number;
  /** Every blob the index lists in it is a tree (trees get packs of their own, lib/repo/content/store.ts). */
  readonly treesOnly: boolean;
}

interface Slot extends BlobLocation {
  /** Ordinal of the index file listing this location. */
  readonly src: number;
  /** Another location of the same blob. */
  alt: Slot | undefined;
}

export class MasterIndex {
  private readonly blobs = new Map<string, Slot>();
  private packMap = new Map<string, PackInfo>();
  private readonly sources: string[] = [];
  private readonly srcOf = new Map<string, number>();
  private readonly superseded = new Set<string>();
  private purgeNeeded = false;

  /** Number of distinct blobs. */
  get size(): number {
    return this.blobs.size;
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  lookup(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  lookupAll(id: string): BlobLocation[] {
    const out: BlobLocation[] = [];
    for (let s = this.blobs.get(id); s; s = s.alt) if (!out.some((o) => sameLocation(o, s!))) out.push(s);
    return out;
  }

  /** A pack referenced by live index files. */
  pack(id: string): PackInfo | undefined {
    return this.packMap.get(id);
  }

  /** Packs referenced by live index files. */
  packs(): IterableIterator<PackInfo> {
    return this.packMap.values();
  }

  /** Every blob with one of its locations. */
  *entries(): IterableIterator<[string, BlobLocation]> {
    yield* this.blobs.entries();
  }

  /** Ids of the loaded index files that are not superseded. */
  indexIds(): string[] {
    return this.sources.filter((id) => !this.superseded.has(id));
  }

  /**
   * Merges one index file. A file that is itself superseded contributes only its `supersedes` list.
   * With deferPurge, dropping locations of newly superseded files waits for purge() (bulk loading).
   */
  add(indexId: string, file: IndexFile, opts: { deferPurge?: boolean } = {}): void {
    if (this.srcOf.has(indexId)) return;
    for (const s of file.supersedes) {
      if (this.superseded.has(s)) continue;
      this.superseded.add(s);
      if (this.srcOf.has(s)) this.purgeNeeded = true;
    }
    const src = this.sources.push(indexId) - 1;
    this.srcOf.set(indexId, src);
    if (!this.superseded.has(indexId)) this.merge(src, file);
    if (!opts.deferPurge) this.purge();
  }

  /** Drops every location listed only by superseded index files (no-op when nothing changed). */
  purge(): void {
    if (!this.purgeNeeded) return;
    this.purgeNeeded = false;
    const dead = new Set<number>([...this.superseded].flatMap((id) => this.srcOf.get(id) ?? []));
    const live = new Map<string, PackInfo>();
    for (const [id, head] of this.blobs) {
      const kept: Slot[] = [];
      for (let s: Slot | undefined = head; s; s = s.alt) {
        if (dead.has(s.src) || kept.some((k) => sameLocation(k, s!))) continue;
        kept.push(s);
        const pack = this.packMap.get(s.packId);
        if (pack) live.set(pack.id, pack);
      }
      kept.forEach((k, i) => (k.alt = kept[i + 1]));
      if (kept[0]) this.blobs.set(id, kept[0]);
      else this.blobs.delete(id);
    }
    this.packMap = live;
  }

  private merge(src: number, file: IndexFile): void {
    for (const p of file.packs) {
      let pack = this.packMap.get(p.id) as { id: string; size: number; treesOnly: boolean } | undefined;
      if (!pack) {
        pack = { id: p.id, size: p.size, treesOnly: true };
        this.packMap.set(p.id, pack);
      }
      for (const b of p.blobs) {
        if (b.type !== 'tree') pack.treesOnly = false;
        const slot: Slot = { packId: pack.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength, src, alt: undefined };
        const head = this.blobs.get(b.id);
        if (!head) {
          this.blobs.set(b.id, slot);
          continue;
        }
        slot.alt = head.alt;
        head.alt = slot;
      }
    }
  }
}

function sameLocation(a: BlobLocation, b: BlobLocation): boolean {
  return a.packId === b.packId && a.offset === b.offset;
}
