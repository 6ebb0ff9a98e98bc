// lib/repo/snapshot: snapshot manifests (docs/repository-format.md §9). Import from here; inner modules may change.
export {
  SNAPSHOT_VERSION, SOURCE_KINDS, SnapshotFormatError, parseSnapshot, snapshotSchema, snapshotSummarySchema,
  type Snapshot, type SnapshotError, type SnapshotSource, type SnapshotSummary, type SourceKind,
} from './schema';
export {
  compareEntries, deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot, type ListSnapshotsOptions, type SnapshotEntry,
} from './store';
export {
  AmbiguousSnapshotError, InvalidSnapshotSelectorError, MIN_PREFIX, SnapshotNotFoundError, findSnapshot, latestSnapshotFor,
  matchesFilter, type SnapshotFilter,
} from './select';
