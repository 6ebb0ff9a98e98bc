// Shared snapshot selection for restore and verify: a selector (id, prefix, latest) or --backup-date,
// optionally narrowed to one source.
import { findSnapshot, matchesFilter, SOURCE_KINDS, type SnapshotEntry, type SnapshotFilter, type SourceKind } from '../../../lib/repo/snapshot';
import type { Repository } from '../../../lib/repo/repository';
import { UsageError } from '../errors';

export type SelectOptions = { backupDate?: string; sourceName?: string; sourceKind?: string; host?: string };

/** Checks the options before anything is opened (usage errors come first and fast). */
export function checkSelectOptions(selector: string | undefined, opts: SelectOptions): void {
  if (selector && opts.backupDate) throw new UsageError('give either a snapshot or --backup-date, not both');
  if (opts.backupDate && !/^\d{4}-\d{2}-\d{2}$/.test(opts.backupDate)) throw new UsageError(`--backup-date must be YYYY-MM-DD, got "${opts.backupDate}"`);
  filterFrom(opts);
}

export async function selectSnapshot(repo: Repository, selector: string | undefined, opts: SelectOptions): Promise<SnapshotEntry> {
  checkSelectOptions(selector, opts);
  const list = await repo.listSnapshots();
  return findSnapshot(list, opts.backupDate ?? selector ?? 'latest', filterFrom(opts));
}

/** Every snapshot of the source (kind/name/host) the options name, oldest first. */
export async function selectAll(repo: Repository, opts: SelectOptions): Promise<SnapshotEntry[]> {
  const filter = filterFrom(opts);
  return (await repo.listSnapshots()).filter((e) => matchesFilter(e, filter));
}

function filterFrom(opts: SelectOptions): SnapshotFilter {
  if (opts.sourceKind && !(SOURCE_KINDS as readonly string[]).includes(opts.sourceKind)) {
    throw new UsageError(`--source-kind must be one of ${SOURCE_KINDS.join(', ')}, got "${opts.sourceKind}"`);
  }
  const source = opts.sourceName || opts.sourceKind ? { name: opts.sourceName, kind: opts.sourceKind as SourceKind | undefined } : undefined;
  return { source, hostname: opts.host };
}
