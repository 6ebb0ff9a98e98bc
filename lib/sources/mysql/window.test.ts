// The MySQL/MariaDB recovery window and dump choice (window.ts), from snapshot lists and binlog archive listings (pure): the
// window starts at the oldest dump whose binlog run is archived without a gap and ends at the newest archived
// file; a gap cuts off the dumps before it; dumps without a binlog position, newer than the archive, or of
// another source do not count. The restore itself runs against MariaDB in bin/cli/database-mysql-pitr.test.ts
// and e2e/database-sources.spec.ts.
import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../../repo/snapshot';
import { makeSnapshot } from '../../repo/snapshot/testing';
import { MYSQL_FORMAT } from './format';
import { MysqlPointInTimeError, newestDumpBefore, recoveryWindowOf } from './window';

const dump = (id: string, time: string, binlog: { file: string; position: number } | null, source = 'shop'): SnapshotEntry => ({
  id: id.repeat(64).slice(0, 64),
  snapshot: makeSnapshot({
    time,
    source: { kind: 'mysql', name: source },
    meta: {
      mysql: {
        format: MYSQL_FORMAT, server: 'MariaDB 10.11', dumpTool: 'mariadb-dump', checksum: 'crc32',
        databases: [{ name: 'shop', file: 'mysql/shop.sql', bytes: 10, charset: null, collation: null, startedAt: time, manifest: 'checksum', consistency: 'locked-snapshot', binlog: binlog && { ...binlog, gtid: null }, tables: [] }],
      },
    },
  }),
});
const file = (seq: number, time: string) => ({ name: `binlog.${String(seq).padStart(6, '0')}`, size: 100, time: new Date(time) });

describe('recoveryWindowOf', () => {
  const dumps = [
    dump('a', '2024-01-15T10:00:00.000Z', { file: 'binlog.000002', position: 400 }),
    dump('b', '2024-01-15T12:00:00.000Z', { file: 'binlog.000004', position: 90 }),
    dump('c', '2024-01-15T13:00:00.000Z', null), // binary logging was off
    dump('d', '2024-01-15T09:00:00.000Z', { file: 'other.000001', position: 4 }, 'crm'),
  ];

  it('spans from the oldest dump with an unbroken archived run to the newest archived file', () => {
    const archived = [file(2, '2024-01-15T11:00:00Z'), file(3, '2024-01-15T11:30:00Z'), file(4, '2024-01-15T12:30:00Z'), file(5, '2024-01-15T14:00:00Z')];
    const w = recoveryWindowOf(dumps, 'shop', archived);
    expect(w).toMatchObject({ from: '2024-01-15T10:00:00.000Z', to: '2024-01-15T14:00:00.000Z', gapAfter: null });
    expect(w.newest?.name).toBe('binlog.000005');
    expect(w.dumps.map((d) => d.snapshotId[0])).toEqual(['a', 'b']);
  });

  it('starts after a gap: dumps before it cannot be replayed past it', () => {
    const archived = [file(2, '2024-01-15T11:00:00Z'), file(4, '2024-01-15T12:30:00Z'), file(5, '2024-01-15T14:00:00Z')];
    const w = recoveryWindowOf(dumps, 'shop', archived);
    expect(w).toMatchObject({ from: '2024-01-15T12:00:00.000Z', to: '2024-01-15T14:00:00.000Z', gapAfter: 'binlog.000002' });
    expect(w.dumps.map((d) => d.snapshotId[0])).toEqual(['b']);
  });

  it('has no window without an archived start file, or when the archive ends before the dump', () => {
    expect(recoveryWindowOf(dumps, 'shop', [])).toMatchObject({ from: null, to: null, newest: null, dumps: [] });
    expect(recoveryWindowOf(dumps, 'shop', [file(3, '2024-01-15T11:30:00Z')])).toMatchObject({ from: null, to: null });
    const early = recoveryWindowOf([dumps[1]!], 'shop', [file(4, '2024-01-15T11:59:00Z')]);
    expect(early).toMatchObject({ from: null, to: null, dumps: [] });
    expect(recoveryWindowOf(dumps, 'nobody', [file(2, '2024-01-15T11:00:00Z')])).toMatchObject({ from: null, to: null });
  });
});

describe('newestDumpBefore', () => {
  const dumps = [dump('a', '2024-01-15T10:00:00.000Z', null), dump('b', '2024-01-15T12:00:00.000Z', null), dump('c', '2024-01-15T11:00:00.000Z', null, 'crm')];
  it('picks the newest dump of the source at or before the moment, and names what is missing', () => {
    expect(newestDumpBefore(dumps, new Date('2024-01-15T11:59:59Z'), 'shop').snapshot.time).toBe('2024-01-15T10:00:00.000Z');
    expect(newestDumpBefore(dumps, new Date('2024-01-15T12:00:00Z'), 'shop').snapshot.time).toBe('2024-01-15T12:00:00.000Z');
    expect(newestDumpBefore(dumps, new Date('2024-01-15T11:30:00Z'), undefined).snapshot.source.name).toBe('crm');
    expect(() => newestDumpBefore(dumps, new Date('2024-01-15T09:00:00Z'), 'shop')).toThrow(/no MySQL\/MariaDB dump of source shop was taken before 2024-01-15T09:00:00.000Z \(the oldest: 2024-01-15T10:00:00.000Z\)/);
    expect(() => newestDumpBefore(dumps, new Date(), 'none')).toThrow(MysqlPointInTimeError);
  });
});
