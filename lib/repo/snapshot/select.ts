// Picking snapshots from a listing (pure functions over listSnapshots' result; no I/O).
// findSnapshot(list, selector, filter) resolves, among the snapshots passing `filter`:
//   - a full id (64 hex) or a unique id prefix (8-63 hex);
//   - 'latest': the newest snapshot;
//   - 'YYYY-MM-DD': the newest snapshot whose `time` is on or before the end of that day, i.e. strictly before
//     the next day's midnight, in UTC unless filter.timeZone (an IANA name such as "Europe/Berlin") is given.
// Filters: source kind/name equal, hostname equal, paths and tags each contained in the snapshot's.
// Errors: InvalidSnapshotSelectorError (malformed selector, date or time zone), AmbiguousSnapshotError
// (listing the candidates), SnapshotNotFoundError ("no snapshot matches <selector>" plus the filters applied).
// latestSnapshotFor picks the parent of an incremental backup: the newest snapshot of the same source with
// exactly the same set of paths, or undefined.
import type { SnapshotEntry } from './store';
import type { SourceKind } from './schema';

export interface SnapshotFilter {
  source?: { kind?: SourceKind; name?: string };
  hostname?: string;
  /** The snapshot must include every one of these paths. */
  paths?: readonly string[];
  /** The snapshot must carry every one of these tags. */
  tags?: readonly string[];
  /** Time zone for date selectors (IANA name); default UTC. */
  timeZone?: string;
}

export const MIN_PREFIX = 8;

export class InvalidSnapshotSelectorError extends Error {
  name = 'InvalidSnapshotSelectorError';
}

export class SnapshotNotFoundError extends Error {
  name = 'SnapshotNotFoundError';
  constructor(readonly selector: string, message: string) {
    super(message);
  }
}

export class AmbiguousSnapshotError extends Error {
  name = 'AmbiguousSnapshotError';
  constructor(readonly selector: string, readonly candidates: string[], message: string) {
    super(message);
  }
}

export function matchesFilter(entry: SnapshotEntry, filter: SnapshotFilter): boolean {
  const s = entry.snapshot;
  if (filter.source?.kind !== undefined && s.source.kind !== filter.source.kind) return false;
  if (filter.source?.name !== undefined && s.source.name !== filter.source.name) return false;
  if (filter.hostname !== undefined && s.hostname !== filter.hostname) return false;
  if (filter.paths && !filter.paths.every((p) => s.paths.includes(p))) return false;
  if (filter.tags && !filter.tags.every((t) => s.tags.includes(t))) return false;
  return true;
}

/** `list` in any order; returns the single matching entry or throws (see the module comment). */
export function findSnapshot(list: readonly SnapshotEntry[], selector: string, filter: SnapshotFilter = {}): SnapshotEntry {
  const sel = selector.trim();
  const pick = compileSelector(sel, filter.timeZone);
  const candidates = newestFirst(list.filter((e) => matchesFilter(e, filter)));
  const found = pick(candidates);
  if (found.length > 1) {
    const lines = found.map((e) => `  ${e.id.slice(0, 12)}  ${e.snapshot.time}  ${e.snapshot.source.kind}/${e.snapshot.source.name} on ${e.snapshot.hostname}`);
    throw new AmbiguousSnapshotError(sel, found.map((e) => e.id),
      `snapshot id prefix "${sel}" is ambiguous: it matches ${found.length} snapshots; give more characters:\n${lines.join('\n')}`);
  }
  const hit = found[0];
  if (!hit) throw new SnapshotNotFoundError(sel, `no snapshot matches "${sel}"${describeFilter(filter, list.length, candidates.length)}`);
  return hit;
}

/** The newest snapshot of `source` taken with exactly the same set of `paths` (the parent of an incremental backup). */
export function latestSnapshotFor(
  list: readonly SnapshotEntry[],
  want: { source: { kind: SourceKind; name: string }; paths: readonly string[]; hostname?: string },
): SnapshotEntry | undefined {
  const key = pathSetKey(want.paths);
  return newestFirst(list).find((e) => matchesFilter(e, { source: want.source, hostname: want.hostname }) && pathSetKey(e.snapshot.paths) === key);
}

type Picker = (newestFirst: SnapshotEntry[]) => SnapshotEntry[];

function compileSelector(sel: string, timeZone: string | undefined): Picker {
  if (sel === 'latest') return (l) => l.slice(0, 1);
  if (/^[0-9a-f]{64}$/.test(sel)) return (l) => l.filter((e) => e.id === sel);
  if (/^[0-9a-f]+$/.test(sel)) {
    if (sel.length < MIN_PREFIX) throw new InvalidSnapshotSelectorError(`snapshot id prefix "${sel}" is too short: give at least ${MIN_PREFIX} hex characters`);
    return (l) => l.filter((e) => e.id.startsWith(sel));
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(sel);
  if (date) {
    const cutoff = startOfNextDay(Number(date[1]), Number(date[2]), Number(date[3]), timeZone ?? 'UTC', sel);
    return (l) => l.filter((e) => Date.parse(e.snapshot.time) < cutoff).slice(0, 1);
  }
  throw new InvalidSnapshotSelectorError(
    `invalid snapshot selector "${sel}": expected a snapshot id, an id prefix of at least ${MIN_PREFIX} hex characters, "latest" or a date YYYY-MM-DD`);
}

function newestFirst(list: readonly SnapshotEntry[]): SnapshotEntry[] {
  return [...list].sort((a, b) => Date.parse(b.snapshot.time) - Date.parse(a.snapshot.time) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function pathSetKey(paths: readonly string[]): string {
  return JSON.stringify([...new Set(paths)].sort());
}

function describeFilter(f: SnapshotFilter, total: number, kept: number): string {
  const parts: string[] = [];
  if (f.source?.kind !== undefined || f.source?.name !== undefined) parts.push(`source ${f.source.kind ?? '*'}/${f.source.name ?? '*'}`);
  if (f.hostname !== undefined) parts.push(`hostname ${f.hostname}`);
  if (f.paths?.length) parts.push(`paths ${f.paths.join(', ')}`);
  if (f.tags?.length) parts.push(`tags ${f.tags.join(', ')}`);
  if (f.timeZone !== undefined) parts.push(`time zone ${f.timeZone}`);
  const filters = parts.length ? `filtered by ${parts.join('; ')}; ` : '';
  return ` (${filters}${total} snapshot${total === 1 ? '' : 's'} in the repository, ${kept} after filtering)`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local calendar date (y*10000 + m*100 + d) of instant `ms` in `timeZone`. */
function localDate(ms: number, timeZone: string): number {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    formatters.set(timeZone, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(ms).map((p) => [p.type, p.value]));
  return Number(parts.year) * 10000 + Number(parts.month) * 100 + Number(parts.day);
}

/** The first instant (ms) whose local date in `timeZone` is after y-m-d. Binary search: correct across DST changes. */
function startOfNextDay(y: number, m: number, d: number, timeZone: string, sel: string): number {
  const utcMidnight = Date.UTC(y, m - 1, d);
  const check = new Date(utcMidnight);
  if (m < 1 || m > 12 || check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new InvalidSnapshotSelectorError(`invalid date "${sel}": no such calendar day`);
  }
  try {
    localDate(0, timeZone);
  } catch {
    throw new InvalidSnapshotSelectorError(`unknown time zone "${timeZone}": use an IANA name such as "Europe/Berlin" or "UTC"`);
  }
  const day = y * 10000 + m * 100 + d;
  let lo = utcMidnight + 86_400_000 - 15 * 3_600_000; // local date is still `day` here for every zone (UTC+14 at most)
  let hi = utcMidnight + 86_400_000 + 13 * 3_600_000; // and already after it here (UTC-12 at least)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(mid, timeZone) > day) hi = mid;
    else lo = mid;
  }
  return hi;
}
