// `lifeboat stats`: what the repository holds and how well deduplication works. Read-only (no lock):
// snapshots per source, the logical size of each source's latest restore point, what is stored (pack
// sizes from a data/ listing, split into indexed and leftover), the blobs of the master index, and
//   dedupRatio        = logical bytes of all snapshots / unique data bytes (each distinct chunk once)
//   compressionRatio  = raw bytes of all blobs / their stored (compressed + encrypted) bytes
//   spaceSavingRatio  = logical bytes of all snapshots / stored bytes (dedup and compression together)
// Ratios are null when their denominator is 0.
import type { Command } from 'commander';
import { idFromKey } from '../../../lib/repo/layout';
import type { Repository } from '../../../lib/repo/repository';
import { openRepo, type GlobalOptions } from '../context';
import { emit, table } from '../output';
import { formatBytes } from '../progress';

export type SourceStats = {
  kind: string;
  name: string;
  snapshots: number;
  latest: { id: string; time: string; files: number; bytes: number; status: string };
};

export type RepositoryStats = {
  repository: string;
  snapshots: number;
  sources: SourceStats[];
  /** Sum of the logical bytes of every source's latest snapshot: what a full restore of everything writes. */
  latestLogicalBytes: number;
  /** Sum of the logical bytes of every snapshot. */
  totalLogicalBytes: number;
  packs: number;
  storedBytes: number;
  /** Packs in storage that no index lists (interrupted backups; reused by the next backup or pruned). */
  unindexedPacks: number;
  unindexedBytes: number;
  blobs: number;
  /** Live index files (each backup adds one; `maintenance` merges them). */
  indexFiles: number;
  dataBlobs: number;
  treeBlobs: number;
  /** Plaintext bytes of the distinct data blobs. */
  uniqueDataBytes: number;
  /** Plaintext bytes of all distinct blobs (data and trees). */
  uniqueRawBytes: number;
  /** Stored (sealed) bytes of all distinct blobs. */
  blobStoredBytes: number;
  dedupRatio: number | null;
  compressionRatio: number | null;
  spaceSavingRatio: number | null;
};

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

export async function repositoryStats(repo: Repository, signal?: AbortSignal): Promise<RepositoryStats> {
  const list = await repo.listSnapshots(signal);
  const bySource = new Map<string, SourceStats>();
  let totalLogicalBytes = 0;
  for (const e of list) {
    const s = e.snapshot;
    totalLogicalBytes += s.summary.bytes;
    const key = `${s.source.kind}\0${s.source.name}`;
    const latest = { id: e.id, time: s.time, files: s.summary.files, bytes: s.summary.bytes, status: s.status };
    const cur = bySource.get(key);
    if (!cur) bySource.set(key, { kind: s.source.kind, name: s.source.name, snapshots: 1, latest });
    else {
      cur.snapshots++;
      if (Date.parse(s.time) >= Date.parse(cur.latest.time)) cur.latest = latest;
    }
  }
  const sources = [...bySource.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));

  const index = repo.content.masterIndex;
  const indexed = new Set<string>();
  for (const p of index.packs()) indexed.add(p.id);
  let packs = 0;
  let storedBytes = 0;
  let unindexedPacks = 0;
  let unindexedBytes = 0;
  for await (const e of repo.store.list('data/', { signal })) {
    const id = idFromKey('data', e.key);
    if (!id) continue;
    packs++;
    storedBytes += e.size;
    if (!indexed.has(id)) {
      unindexedPacks++;
      unindexedBytes += e.size;
    }
  }
  let dataBlobs = 0;
  let treeBlobs = 0;
  let uniqueDataBytes = 0;
  let uniqueRawBytes = 0;
  let blobStoredBytes = 0;
  for (const [, loc] of index.entries()) {
    if (loc.type === 'data') {
      dataBlobs++;
      uniqueDataBytes += loc.rawLength;
    } else treeBlobs++;
    uniqueRawBytes += loc.rawLength;
    blobStoredBytes += loc.length;
  }
  return {
    repository: repo.store.describe(),
    snapshots: list.length,
    sources,
    latestLogicalBytes: sources.reduce((n, s) => n + s.latest.bytes, 0),
    totalLogicalBytes,
    packs,
    storedBytes,
    unindexedPacks,
    unindexedBytes,
    blobs: dataBlobs + treeBlobs,
    indexFiles: index.indexIds().length,
    dataBlobs,
    treeBlobs,
    uniqueDataBytes,
    uniqueRawBytes,
    blobStoredBytes,
    dedupRatio: ratio(totalLogicalBytes, uniqueDataBytes),
    compressionRatio: ratio(uniqueRawBytes, blobStoredBytes),
    spaceSavingRatio: ratio(totalLogicalBytes, storedBytes),
  };
}

const x = (r: number | null) => (r === null ? 'n/a' : `${r.toFixed(2)}x`);

export function registerStats(program: Command, globals: () => GlobalOptions) {
  program
    .command('stats')
    .description('repository statistics: snapshots per source, logical and stored sizes, blobs, deduplication')
    .action(async () => {
      const opts = globals();
      const { repo, close } = await openRepo(opts);
      try {
        const s = await repositoryStats(repo);
        emit(opts.json, s, () => [
          `repository: ${s.repository}`,
          `snapshots:  ${s.snapshots} in ${s.sources.length} source(s)`,
          ...(s.sources.length
            ? table([
                ['SOURCE', 'SNAPSHOTS', 'LATEST', 'FILES', 'SIZE'],
                ...s.sources.map((src) => [`${src.kind}:${src.name}`, String(src.snapshots), `${src.latest.id.slice(0, 8)} ${src.latest.time.replace('T', ' ').slice(0, 19)}`, String(src.latest.files), formatBytes(src.latest.bytes)]),
              ]).map((l) => `  ${l}`)
            : []),
          `latest restore points: ${formatBytes(s.latestLogicalBytes)} (all snapshots: ${formatBytes(s.totalLogicalBytes)})`,
          `stored:     ${formatBytes(s.storedBytes)} in ${s.packs} pack(s)${s.unindexedPacks ? `, of which ${s.unindexedPacks} (${formatBytes(s.unindexedBytes)}) left by interrupted backups` : ''}`,
          `blobs:      ${s.blobs} (${s.dataBlobs} data, ${s.treeBlobs} tree), ${formatBytes(s.uniqueDataBytes)} of unique data, in ${s.indexFiles} index file(s)`,
          `dedup ratio ${x(s.dedupRatio)}, compression ratio ${x(s.compressionRatio)}, overall space saving ${x(s.spaceSavingRatio)}`,
        ]);
      } finally {
        close();
      }
    });
}
