import { describe, expect, it } from 'vitest';
import type { Snapshot } from './schema';
import {
  AmbiguousSnapshotError, InvalidSnapshotSelectorError, SnapshotNotFoundError, findSnapshot, latestSnapshotFor,
} from './select';
import type { SnapshotEntry } from './store';
import { makeSnapshot } from './testing';

const id = (head: string) => head.padEnd(64, '0');
const entry = (idHead: string, time: string, over: Partial<Snapshot> = {}): SnapshotEntry => ({
  id: id(idHead), snapshot: makeSnapshot({ time, startTime: time, ...over }),
});

const endOfDay = entry('11111111aa', '2024-01-15T23:59:59.999Z');
const afterMidnight = entry('11111111bb', '2024-01-16T00:00:00.001Z', { tags: ['hourly'] });
const early = entry('22222222', '2024-01-10T08:00:00Z', { hostname: 'db2', tags: ['weekly', 'daily'] });
const pg = entry('33333333', '2024-01-12T08:00:00Z', { source: { kind: 'postgres', name: 'main' }, paths: [] });
const list = [afterMidnight, early, endOfDay, pg];

describe('findSnapshot', () => {
  it('finds by full id and by a unique prefix', () => {
    expect(findSnapshot(list, early.id)).toBe(early);
    expect(findSnapshot(list, '22222222')).toBe(early);
    expect(findSnapshot(list, '11111111a')).toBe(endOfDay);
    expect(findSnapshot(list, ` ${pg.id.slice(0, 10)} `)).toBe(pg);
  });

  it('lists the candidates of an ambiguous prefix', () => {
    const err = (() => { try { findSnapshot(list, '11111111'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(AmbiguousSnapshotError);
    expect((err as AmbiguousSnapshotError).candidates).toEqual([afterMidnight.id, endOfDay.id]);
    expect((err as Error).message).toContain('snapshot id prefix "11111111" is ambiguous: it matches 2 snapshots');
    expect((err as Error).message).toContain('11111111aa00  2024-01-15T23:59:59.999Z  filesystem/www on db1');
  });

  it('rejects short prefixes and malformed selectors', () => {
    expect(() => findSnapshot(list, '2222222')).toThrow(/too short: give at least 8 hex characters/);
    expect(() => findSnapshot(list, 'newest')).toThrow(InvalidSnapshotSelectorError);
    expect(() => findSnapshot(list, '2024-02-30')).toThrow(/invalid date "2024-02-30": no such calendar day/);
    expect(() => findSnapshot(list, '2024-13-01')).toThrow(/no such calendar day/);
    expect(() => findSnapshot(list, '2024-01-15', { timeZone: 'Mars/Olympus' })).toThrow(/unknown time zone "Mars\/Olympus"/);
  });

  it('picks the newest for latest', () => {
    expect(findSnapshot(list, 'latest')).toBe(afterMidnight);
    expect(findSnapshot(list, 'latest', { source: { kind: 'postgres' } })).toBe(pg);
  });

  it('reads a date as "on or before the end of that day", in UTC by default', () => {
    expect(findSnapshot(list, '2024-01-15')).toBe(endOfDay); // 23:59:59.999 counts, 00:00:00.001 next day does not
    expect(findSnapshot(list, '2024-01-16')).toBe(afterMidnight);
    expect(findSnapshot(list, '2024-01-14')).toBe(pg);
    expect(findSnapshot(list, '2030-01-01')).toBe(afterMidnight);
    expect(() => findSnapshot(list, '2024-01-09')).toThrow(SnapshotNotFoundError);
  });

  it('uses the given time zone for the end of the day', () => {
    // Europe/Berlin is UTC+1 in January: the 15th ends at 2024-01-15T23:00:00Z.
    const lateBerlin = entry('44444444', '2024-01-15T22:59:59.999Z');
    const nextBerlinDay = entry('55555555', '2024-01-15T23:00:00.000Z');
    const l = [lateBerlin, nextBerlinDay];
    expect(findSnapshot(l, '2024-01-15', { timeZone: 'Europe/Berlin' })).toBe(lateBerlin);
    expect(findSnapshot(l, '2024-01-15')).toBe(nextBerlinDay);
    // America/New_York on a DST day (2024-03-10 has 23 hours): the day ends at 2024-03-11T04:00:00Z.
    const ny = [entry('66666666', '2024-03-11T03:59:59.999Z'), entry('77777777', '2024-03-11T04:00:00Z')];
    expect(findSnapshot(ny, '2024-03-10', { timeZone: 'America/New_York' }).id).toBe(id('66666666'));
    // Pacific/Kiritimati is UTC+14.
    const kiri = [entry('88888888', '2024-01-15T09:59:59Z'), entry('99999999', '2024-01-15T10:00:00Z')];
    expect(findSnapshot(kiri, '2024-01-15', { timeZone: 'Pacific/Kiritimati' }).id).toBe(id('88888888'));
  });

  it('applies filters to every kind of selector', () => {
    expect(findSnapshot(list, 'latest', { hostname: 'db2' })).toBe(early);
    expect(findSnapshot(list, 'latest', { tags: ['daily', 'weekly'] })).toBe(early);
    expect(findSnapshot(list, 'latest', { paths: ['/var/www'], source: { kind: 'filesystem', name: 'www' } })).toBe(afterMidnight);
    expect(() => findSnapshot(list, '11111111', { hostname: 'db1' })).toThrow(AmbiguousSnapshotError);
    expect(findSnapshot(list, '11111111', { tags: ['daily'] })).toBe(endOfDay); // a prefix ambiguous only without the filter
    expect(findSnapshot(list, '2024-01-15', { hostname: 'db2' })).toBe(early);
    expect(() => findSnapshot(list, '11111111', { tags: ['never'] })).toThrow(/no snapshot matches "11111111" \(filtered by tags never;/);
  });

  it('says what was filtered when nothing matches', () => {
    let err: unknown;
    try {
      findSnapshot(list, 'latest', { source: { kind: 'mysql', name: 'shop' }, hostname: 'db1', paths: ['/x'], tags: ['daily'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnapshotNotFoundError);
    expect((err as Error).message).toBe(
      'no snapshot matches "latest" (filtered by source mysql/shop; hostname db1; paths /x; tags daily; 4 snapshots in the repository, 0 after filtering)');
    expect(() => findSnapshot(list, early.id, { hostname: 'db1' })).toThrow(/no snapshot matches "2{8}0+" \(filtered by hostname db1; 4 snapshots/);
    expect(() => findSnapshot([], 'latest')).toThrow('no snapshot matches "latest" (0 snapshots in the repository, 0 after filtering)');
  });
});

describe('latestSnapshotFor', () => {
  it('picks the newest snapshot of the same source with the same set of paths', () => {
    const a = entry('a0000001', '2024-01-01T00:00:00Z', { paths: ['/b', '/a'] });
    const b = entry('a0000002', '2024-01-02T00:00:00Z', { paths: ['/a'] });
    const c = entry('a0000003', '2024-01-03T00:00:00Z', { paths: ['/a', '/b'], source: { kind: 'filesystem', name: 'other' } });
    const l = [a, b, c];
    expect(latestSnapshotFor(l, { source: { kind: 'filesystem', name: 'www' }, paths: ['/a', '/b'] })).toBe(a);
    expect(latestSnapshotFor(l, { source: { kind: 'filesystem', name: 'www' }, paths: ['/a'] })).toBe(b);
    expect(latestSnapshotFor(l, { source: { kind: 'filesystem', name: 'other' }, paths: ['/b', '/a'] })).toBe(c);
    expect(latestSnapshotFor(l, { source: { kind: 'filesystem', name: 'www' }, paths: ['/c'] })).toBeUndefined();
    expect(latestSnapshotFor(l, { source: { kind: 'filesystem', name: 'www' }, paths: ['/a'], hostname: 'db9' })).toBeUndefined();
  });
});
