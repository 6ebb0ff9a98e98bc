// Listings started early. Opening a repository waits for the key (scrypt, ~0.1-0.15 s) and then lists
// index/; a backup or restore then lists snapshots/. On S3 each listing is a round trip (~50 ms on radosgw,
// whose non-empty listings wait for a delayed ACK), and those waits came one after the other.
// withPrefetchedListings starts the listings of the given prefixes at once; the first plain list() of each
// prefix (no startAfter) gets those entries, every later one lists afresh. A listing from a moment earlier
// is what a caller listing then would have seen: correct wherever an object may appear at any time anyway
// (index files and snapshots of other running backups). A failed prefetch is listed again, live.
import type { BlobListEntry, BlobStore } from './types';

export function withPrefetchedListings(inner: BlobStore, prefixes: readonly string[], signal?: AbortSignal): BlobStore {
  const early = new Map<string, Promise<BlobListEntry[]>>();
  for (const prefix of prefixes) {
    const listing = (async () => {
      const entries: BlobListEntry[] = [];
      for await (const e of inner.list(prefix, { signal })) entries.push(e);
      return entries;
    })();
    listing.catch(() => {}); // a failure is the live listing's to report
    early.set(prefix, listing);
  }
  return {
    put: (key, body, o) => inner.put(key, body, o),
    get: (key, o) => inner.get(key, o),
    head: (key, o) => inner.head(key, o),
    delete: (key, o) => inner.delete(key, o),
    describe: () => inner.describe(),
    list(prefix, o) {
      const listing = o?.startAfter === undefined ? early.get(prefix) : undefined;
      if (!listing) return inner.list(prefix, o);
      early.delete(prefix);
      return (async function* () {
        let entries: BlobListEntry[];
        try {
          entries = await listing;
        } catch {
          yield* inner.list(prefix, o);
          return;
        }
        o?.signal?.throwIfAborted();
        yield* entries;
      })();
    },
  };
}
