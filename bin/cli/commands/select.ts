// Shared snapshot selection for restore and verify: a selector (id, prefix, latest) or --backup-date,
// optionally narrowed to one source.
import { findSnapshot, type SnapshotEntry } from '../../../lib/repo/snapshot';
import type { Repository } from '../../../lib/repo/repository';
import { UsageError } from '../errors';

export type SelectOptions = { backupDate?: string; sourceName?: string; sourceKind?: string; host?: string };

export async function selectSnapshot(repo: Repository, selector: string | undefined, opts: SelectOptions): Promise<SnapshotEntry> {
  if (selector && opts.backupDate) throw new UsageError('give either a snapshot or --backup-date, not both');
  if (opts.backupDate && !/^\d{4}-\d{2}-\d{2}$/.test(opts.backupDate)) throw new UsageError(`--backup-date must be YYYY-MM-DD, got "${opts.backupDate}"`);
  const list = await repo.listSnapshots();
  const source = opts.sourceName || opts.sourceKind ? { name: opts.sourceName, kind: opts.sourceKind as never } : undefined;
  return findSnapshot(list, opts.backupDate ?? selector ?? 'latest', { source, hostname: opts.host });
}
