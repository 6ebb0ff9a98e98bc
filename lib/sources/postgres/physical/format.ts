// How a PostgreSQL base backup is laid out in a snapshot (format "postgres-physical/1", docs §9.5).
//
// Tree: the root holds one directory `postgres-base` (mode 0700) with one file, `base.tar`: the tar stream of
// `pg_basebackup --format=tar --pgdata=- --wal-method=none` exactly as the server sent it (data directory,
// backup_label, backup_manifest). The WAL needed to make it consistent, and all WAL after it, is in the
// repository's WAL archive (wal-archive.ts) under the same system identifier. Chunked like any file, so
// unchanged relation files deduplicate against earlier base backups.
//
// snapshot.meta.postgresPhysical:
//   { format, server, pgBasebackup, systemId, timeline, startLsn, stopLsn, startWal, stopWal,
//     startTime, stopTime, file, bytes, entries, manifest, tablespaces? }
// startTime is backup_label's START TIME; stopTime is when pg_basebackup returned, after the server confirmed
// that every WAL segment the backup needs was archived: recovery to any time at or after stopTime can start
// from this backup. stopLsn is the backup manifest's end of the WAL range (null without a manifest).
import { z } from 'zod';
import type { SnapshotEntry } from '../../../repo/snapshot';

export const PHYSICAL_FORMAT = 'postgres-physical/1';
export const BASE_DIR = 'postgres-base';
export const BASE_FILE = 'base.tar';

export const physicalMetaSchema = z.object({
  format: z.literal(PHYSICAL_FORMAT),
  server: z.string(),
  pgBasebackup: z.string(),
  systemId: z.string().regex(/^\d+$/),
  timeline: z.number().int().positive(),
  startLsn: z.string(),
  stopLsn: z.string().nullable(),
  startWal: z.string(),
  stopWal: z.string().nullable(),
  startTime: z.string(),
  stopTime: z.string(),
  file: z.string(),
  bytes: z.number().int().nonnegative(),
  entries: z.number().int().nonnegative(),
  manifest: z.boolean(),
  /**
   * Tablespaces outside the data directory: their files are in base.tar under pg_tblspc/<oid>/ (not the
   * symlink pg_basebackup's base.tar has there); a restore puts each at its location or where it is mapped.
   */
  tablespaces: z.array(z.object({ oid: z.string().regex(/^\d+$/), location: z.string().min(1) })).optional(),
});

export type PhysicalMeta = z.output<typeof physicalMetaSchema>;

/** The base backup description of a snapshot, or null when it is not a PostgreSQL base backup. */
export function physicalMetaOf(snapshot: { source: { kind: string }; meta: Record<string, unknown> }): PhysicalMeta | null {
  if (snapshot.source.kind !== 'postgres' || snapshot.meta.postgresPhysical === undefined) return null;
  const parsed = physicalMetaSchema.safeParse(snapshot.meta.postgresPhysical);
  return parsed.success ? parsed.data : null;
}

export type BaseBackupEntry = SnapshotEntry & { physical: PhysicalMeta };

/** The base backups among `entries`, oldest first (by stopTime). */
export function baseBackupsIn(entries: readonly SnapshotEntry[], systemId?: string): BaseBackupEntry[] {
  const out: BaseBackupEntry[] = [];
  for (const e of entries) {
    const physical = physicalMetaOf(e.snapshot);
    if (physical && (systemId === undefined || physical.systemId === systemId)) out.push({ ...e, physical });
  }
  return out.sort((a, b) => Date.parse(a.physical.stopTime) - Date.parse(b.physical.stopTime));
}

/** Fields of a backup_label file (startTime null when the server's time zone abbreviation is not UTC/GMT) ("START WAL LOCATION: 0/3000028 (file 000000010000000000000003)"...). */
export function parseBackupLabel(text: string): { startLsn: string; startWal: string; timeline: number; startTime: string | null } {
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const loc = /^([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/.exec(field('START WAL LOCATION') ?? '');
  const timeline = Number(field('START TIMELINE') ?? NaN);
  const time = field('START TIME');
  if (!loc || !Number.isInteger(timeline) || !time) throw new Error(`backup_label is not in the expected format: ${JSON.stringify(text.slice(0, 300))}`);
  const parsedTime = Date.parse(time.replace(/ ([A-Z]{3,4})$/, (_m, tz: string) => (tz === 'UTC' || tz === 'GMT' ? 'Z' : ` ${tz}`)).replace(' ', 'T'));
  return { startLsn: loc[1]!, startWal: loc[2]!, timeline, startTime: Number.isNaN(parsedTime) ? null : new Date(parsedTime).toISOString() };
}

/** The WAL range of a backup_manifest (JSON, "WAL-Ranges": [{ "Timeline", "Start-LSN", "End-LSN" }]). */
export function parseManifestWalRange(text: string): { timeline: number; startLsn: string; endLsn: string } | null {
  try {
    const ranges = (JSON.parse(text) as { 'WAL-Ranges'?: { Timeline: number; 'Start-LSN': string; 'End-LSN': string }[] })['WAL-Ranges'];
    const last = ranges?.[ranges.length - 1];
    return last ? { timeline: last.Timeline, startLsn: last['Start-LSN'], endLsn: last['End-LSN'] } : null;
  } catch {
    return null;
  }
}
